import { describe, expect, it } from "vitest";
import { kubectl } from "../support/cluster.ts";
import { waitFor } from "../support/operator.ts";
import { REGION, eniId, instanceId, useScenario } from "../support/scenario.ts";

const DETACH = "DetachNetworkInterface";
const COUNT = 10;

describe("kubectl delete namespace", () => {
  const s = useScenario("namespace-deletion");

  it("with EniAttachments inside: each ENI is detached once, then the resources and the namespace go", async () => {
    const names = Array.from({ length: COUNT }, (_, i) => `attachment-${i + 1}`);
    await s.emulator.control.addEnis(
      names.map((_, i) => ({ networkInterfaceId: eniId(i + 1), ecmRegion: REGION, attachedInstanceId: instanceId(1) })),
    );
    for (const [i, name] of names.entries()) await s.create(name, { networkInterfaceId: eniId(i + 1) });
    for (const name of names) await s.waitFor(name, (r) => r.status?.phase === "Attached");

    const began = performance.now();
    const deleting = kubectl(["delete", "namespace", s.namespace, "--timeout=120s"]);
    await waitFor(() => s.empty(), 120_000, 50);
    const emptiedMs = performance.now() - began;
    const deleted = await deleting;
    const tookMs = performance.now() - began;
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain(`namespace "${s.namespace}" deleted`);
    console.log(
      `kubectl delete namespace with ${COUNT} EniAttachments: the last one gone after ` +
        `${(emptiedMs / 1000).toFixed(1)} s, the namespace after ${(tookMs / 1000).toFixed(1)} s ` +
        "(the difference is the namespace controller's own re-check of the emptied namespace)",
    );

    const gone = await kubectl(["get", "namespace", s.namespace]);
    expect(gone.stderr).toContain("NotFound");
    const enis = await s.emulator.control.enis();
    for (const [i] of names.entries()) {
      const eni = enis.find((e) => e.networkInterfaceId === eniId(i + 1));
      expect(eni, eniId(i + 1)).toMatchObject({ state: "AVAILABLE", attachedInstanceId: null });
      expect((await s.calls(DETACH, eniId(i + 1))).map((c) => c.code)).toEqual(["Success"]);
    }
  });
});
