import { describe, expect, it } from "vitest";
import { waitFor } from "../support/operator.ts";
import { REGION, eniId, instanceId, useScenario } from "../support/scenario.ts";

const ATTACH = "AttachNetworkInterface";
const DETACH = "DetachNetworkInterface";

describe("a resource deleted while its interface is still attaching", () => {
  const s = useScenario("delete-attaching");

  it("is gone only after the interface is detached, and ECM shows it unattached", async () => {
    await s.emulator.control.settings({ attachDelayMs: 3000 });
    await s.emulator.control.addEnis([{ networkInterfaceId: eniId(1), ecmRegion: REGION }]);
    await s.create("attaching", { networkInterfaceId: eniId(1) });
    const [attach] = await waitFor(
      async () => {
        const calls = (await s.calls(ATTACH, eniId(1))).filter((c) => c.code === "Success");
        return calls.length > 0 ? calls : undefined;
      },
      30_000,
      20,
    );
    await s.delete("attaching");
    const deletedAt = Date.now();

    // While the resource exists, the interface may be anything; the moment it is gone, ECM must show it free.
    await waitFor(async () => (await s.get("attaching")) === undefined, 60_000, 50);
    const enis = await s.emulator.control.enis();
    expect(enis.find((e) => e.networkInterfaceId === eniId(1))).toMatchObject({
      state: "AVAILABLE",
      attachedInstanceId: null,
    });
    const detaches = await s.calls(DETACH, eniId(1));
    expect(detaches.map((c) => c.code)).toContain("Success");
    expect(Date.parse(detaches[0]?.time ?? "")).toBeGreaterThan(Date.parse(attach?.time ?? ""));
    console.log(
      `deleted ${Date.now() - deletedAt} ms after the delete; Detach calls: ${detaches.map((c) => c.code).join(", ")}; ` +
        `instance ${instanceId(1)}`,
    );
  });
});
