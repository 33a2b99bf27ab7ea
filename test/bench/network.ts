// The bench's network figure: how long after the API server's open connections go silent (a load
// balancer or NAT table dropping its flows, new connections still working) a change is acted on.
import { setTimeout as sleep } from "node:timers/promises";
import { proxiedKubeconfig } from "../support/network-faults.ts";
import { startSilencingProxy } from "../support/silencing-proxy.ts";
import { createNamespace, createResources, deleteResource, runOperator, track, type Bed } from "./bed.ts";
import { percentile, type Row } from "./phases.ts";
import { eniId } from "../support/scenario.ts";

/** client-go's bound: 30 s of read idle, then a 15 s ping timeout. */
const CLIENT_GO_MS = 45_000;

/**
 * `trials` times: the operator idle a random 1 to 10 s (so the silence falls anywhere in its watch's
 * 25 s cycle), then every connection it has open to the API server goes silent and a resource is
 * deleted at once; the figure is the time until the resource is gone (its Detach made and confirmed).
 */
export async function silentConnections(bed: Bed, trials: number): Promise<Row[]> {
  const phase = `silent connections (${trials} trials)`;
  const namespace = "bench-silent";
  await createNamespace(bed, namespace);
  const tracker = await track(bed, namespace);
  const specs = Array.from({ length: trials }, (_, i) => ({ name: `silent-${i}`, eni: eniId(900_000 + i) }));
  await createResources(bed, namespace, specs);
  const server = new URL(bed.controlPlane.server);
  const proxy = await startSilencingProxy({ host: server.hostname, port: Number(server.port) });
  const run = await runOperator(bed, namespace, [], await proxiedKubeconfig(bed.kubeconfig, proxy.address));
  const actedOn: number[] = [];
  try {
    await tracker.attached(trials, 120_000);
    for (const [i, spec] of specs.entries()) {
      await sleep(1_000 + Math.random() * 9_000);
      proxy.silenceExisting();
      const silencedAt = Date.now();
      await deleteResource(bed, namespace, spec.name);
      actedOn.push((await tracker.gone(i + 1, 180_000)) - silencedAt);
    }
  } finally {
    tracker.stop();
    await run.operator.stop();
    await proxy.close();
  }
  const sorted = [...actedOn].sort((a, b) => a - b);
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const max = sorted.at(-1) ?? NaN;
  return [
    {
      phase,
      figure: "API server connections silent → change acted on, p50",
      value: seconds(percentile(sorted, 50)),
    },
    {
      phase,
      figure: "API server connections silent → change acted on, max",
      value: seconds(max),
      target: `≤ ${seconds(CLIENT_GO_MS)} (client-go) + one list`,
      met: max <= CLIENT_GO_MS + 5_000,
    },
  ];
}
