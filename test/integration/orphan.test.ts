import { describe, expect, it } from "vitest";
import { kubectl } from "../support/cluster.ts";
import { waitFor } from "../support/operator.ts";
import { REGION, eniId, instanceId, useScenario } from "../support/scenario.ts";

const DETACH = "DetachNetworkInterface";

describe("deletionPolicy: Orphan", () => {
  const s = useScenario("orphan");

  it("set before deletion: the resource goes at once, the interface stays attached, an Orphaned event says so", async () => {
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(1), ecmRegion: REGION, attachedInstanceId: instanceId(1) },
    ]);
    await s.create("keep", { networkInterfaceId: eniId(1), deletionPolicy: "Orphan" });
    await s.waitFor("keep", (r) => r.status?.phase === "Attached");
    const deleted = await kubectl(["delete", "enia", "keep", "-n", s.namespace, "--timeout=30s"]);
    expect(deleted.code).toBe(0);
    expect(await s.get("keep")).toBeUndefined();
    expect(await s.calls(DETACH)).toEqual([]);
    const eni = (await s.emulator.control.enis()).find((e) => e.networkInterfaceId === eniId(1));
    expect(eni?.attachedInstanceId).toBe(instanceId(1));
    expect(await s.events("keep")).toMatch(/Orphaned.*no DetachNetworkInterface call was made/);
  });

  it("set during termination: a detach being retried is abandoned and the resource is released", async () => {
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(2), ecmRegion: REGION, attachedInstanceId: instanceId(1) },
    ]);
    await s.create("abandon", { networkInterfaceId: eniId(2) });
    await s.waitFor("abandon", (r) => r.status?.phase === "Attached");
    await s.emulator.control.addFault({ action: DETACH, networkInterfaceId: eniId(2), code: "InternalError" });
    await s.delete("abandon");
    await waitFor(async () => (await s.calls(DETACH, eniId(2))).length > 0);
    const terminating = await s.waitFor("abandon", (r) => r.status?.operation?.errorCode === "InternalError");
    expect(terminating.metadata.deletionTimestamp).toBeDefined();

    await s.patchSpec("abandon", { deletionPolicy: "Orphan" });
    await s.waitForGone("abandon", 10_000);
    expect((await s.calls(DETACH, eniId(2))).map((c) => c.code)).toEqual(["InternalError"]);
    expect(await s.events("abandon")).toContain("Orphaned");
  });
});
