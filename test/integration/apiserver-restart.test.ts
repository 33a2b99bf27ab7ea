// kube-apiserver stops and starts again under a running operator, on a control plane of this file's own.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlane } from "../controlplane/control-plane.ts";
import { waitFor } from "../support/operator.ts";
import { startOwnControlPlane } from "../support/own-control-plane.ts";
import { REGION, eniId, instanceId, startScenario, type Scenario } from "../support/scenario.ts";

const DETACH = "DetachNetworkInterface";
/** Long enough that the operator's watches have failed a few times and are in back-off. */
const OUTAGE_MS = 8_000;

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

describe("a kube-apiserver restart", () => {
  let controlPlane: ControlPlane;
  let s: Scenario;

  beforeAll(async () => {
    controlPlane = await startOwnControlPlane();
    s = await startScenario("apiserver-restart", { kubeconfig: controlPlane.adminKubeconfigPath });
  });

  afterAll(async () => {
    await s.close();
    await controlPlane.stop();
  });

  it("is survived by the operator process, which is not ready meanwhile and then processes what changed", async () => {
    const names = ["deleted-after", "detached-after", "untouched"];
    await s.emulator.control.addEnis(
      names.map((_, i) => ({ networkInterfaceId: eniId(i + 1), ecmRegion: REGION, attachedInstanceId: instanceId(1) })),
    );
    for (const [i, name] of names.entries()) await s.create(name, { networkInterfaceId: eniId(i + 1) });
    for (const name of names) await s.waitFor(name, (r) => r.status?.phase === "Attached");
    const pid = s.operator.process.pid;
    const ready = async (): Promise<number> => (await fetch(`${s.operator.probesUrl}/readyz`)).status;
    expect(await ready()).toBe(200);

    const stopping = performance.now();
    await controlPlane.stopKubeApiserver();
    const stopped = performance.now();
    await waitFor(async () => (await ready()) === 503, 10_000);
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    expect(await ready()).toBe(503);
    await controlPlane.startKubeApiserver();
    const serving = performance.now();

    // Changed the moment the API server serves again, most likely before the operator's watches return.
    await s.delete("deleted-after");
    await s.patchSpec("detached-after", { desiredState: "Detached" });
    const changed = performance.now();
    await s.waitForGone("deleted-after", 90_000);
    await s.waitFor("detached-after", (r) => r.status?.phase === "Detached", 90_000);
    const processed = performance.now();
    await waitFor(async () => (await ready()) === 200, 60_000);
    const readyAgain = performance.now();

    console.log(
      `kube-apiserver restart: stopped in ${seconds(stopped - stopping)}, down ${seconds(serving - stopped)} ` +
        `(restart gap ${seconds(serving - stopping)} from SIGTERM to serving); a deletion and a spec change made ` +
        `after it were processed ${seconds(processed - changed)} later; /readyz 200 again ` +
        `${seconds(readyAgain - serving)} after the API server served`,
    );
    expect(s.operator.process.pid).toBe(pid);
    expect(s.operator.process.exitCode).toBeNull();
    for (const n of [1, 2]) expect((await s.calls(DETACH, eniId(n))).map((c) => c.code)).toEqual(["Success"]);
    expect(await s.calls(DETACH, eniId(3))).toEqual([]);
    expect((await s.get("untouched"))?.status?.phase).toBe("Attached");
  });
});
