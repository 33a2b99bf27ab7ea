import { describe, expect, inject, it } from "vitest";
import { auditDetaches, eniAttachmentPrefix } from "../support/detach-audit.ts";
import { recordEtcdHistory } from "../support/etcd-history.ts";
import { waitFor } from "../support/operator.ts";
import { REGION, eniId, instanceId, useScenario } from "../support/scenario.ts";

const COUNT = 50;
const DETACH = "DetachNetworkInterface";

describe("a crash of the operator in the middle of a batch of deletions, while Describe lags", () => {
  // Describe lags as a cloud's does: for 2 s after a call, half the Describes still show the state before it.
  const s = useScenario("crash-batch", { emulator: { describeLagMs: 2_000, describeLagShare: 0.5 } });

  it("loses none: all go, each ENI detached once, no finalizer released before ECM confirmed the detach", async () => {
    const resources = Array.from({ length: COUNT }, (_, i) => ({
      name: `batch-${i + 1}`,
      networkInterfaceId: eniId(i + 1),
      instanceId: instanceId(1),
    }));
    await s.emulator.control.addEnis(
      resources.map((r) => ({
        networkInterfaceId: r.networkInterfaceId,
        ecmRegion: REGION,
        attachedInstanceId: r.instanceId,
      })),
    );
    for (const r of resources) await s.create(r.name, { networkInterfaceId: r.networkInterfaceId });
    for (const r of resources) await s.waitFor(r.name, (resource) => resource.status?.phase === "Attached");
    const history = await recordEtcdHistory(inject("etcdUrl"), eniAttachmentPrefix(s.namespace));
    try {
      // A random moment among the deletions: after the k-th Detach reached ECM, 1 <= k < COUNT.
      const killAfter = 1 + Math.floor(Math.random() * (COUNT - 1));
      const began = performance.now();
      await Promise.all(resources.map((r) => s.delete(r.name)));
      await waitFor(async () => (await s.calls(DETACH)).length >= killAfter, 60_000, 10);
      const beforeKill = (await s.calls(DETACH)).length;
      const goneBeforeKill = COUNT - (await s.list()).length;
      await s.crashAndRestartOperator();
      await waitFor(() => s.empty(), 120_000, 100);
      const tookMs = performance.now() - began;

      const journal = await s.emulator.control.calls();
      const audit = auditDetaches(s.namespace, resources, history, journal);
      const detaches = journal.filter((c) => c.action === DETACH);
      const codes = new Map<string, number>();
      for (const call of detaches) codes.set(call.code, (codes.get(call.code) ?? 0) + 1);
      console.log(
        `${COUNT} deletions, operator SIGKILLed after ${beforeKill} Detach calls (aimed at ${killAfter}; the ` +
          `operator sends them in bursts of its quota) with ${goneBeforeKill} resources gone, and ` +
          `restarted: all gone in ${(tookMs / 1000).toFixed(1)} s; Detach calls ${detaches.length} ` +
          `(${[...codes].map(([code, n]) => `${code} ${n}`).join(", ")}), Describe calls ` +
          `${journal.filter((c) => c.action === "DescribeNetworkInterfaces").length}; ` +
          `${audit.released} finalizers released, ${audit.violations.length} violations`,
      );
      // The kill came in the middle of the batch: not every resource was gone yet.
      expect(goneBeforeKill).toBeLessThan(COUNT);
      expect(audit.violations).toEqual([]);
      expect(audit.released).toBe(COUNT);
      const enis = await s.emulator.control.enis();
      expect(enis.filter((eni) => eni.state !== "AVAILABLE" || eni.attachedInstanceId !== null)).toEqual([]);
    } finally {
      history.stop();
    }
  });
});
