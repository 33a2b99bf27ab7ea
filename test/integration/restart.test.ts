import { describe, expect, it } from "vitest";
import { waitFor } from "../support/operator.ts";
import { REGION, condition, eniId, instanceId, useScenario } from "../support/scenario.ts";

const DETACH = "DetachNetworkInterface";

describe("a crash of the operator", () => {
  const s = useScenario("restart");

  it("between a detach ECM accepted and its status write loses nothing and repeats no call", async () => {
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(1), ecmRegion: REGION, attachedInstanceId: instanceId(1) },
    ]);
    await s.create("crash-mid-call", { networkInterfaceId: eniId(1) });
    await s.waitFor("crash-mid-call", (r) => r.status?.phase === "Attached");
    // ECM carries the detach out at once but answers late: the operator dies before it hears back.
    await s.emulator.control.addFault({ action: DETACH, networkInterfaceId: eniId(1), delayMs: 5000, count: 1 });
    await s.delete("crash-mid-call");
    await waitFor(async () => (await s.calls(DETACH, eniId(1))).length === 1);
    await s.crashAndRestartOperator();

    await s.waitForGone("crash-mid-call");
    expect((await s.calls(DETACH, eniId(1))).map((c) => c.code)).toEqual(["Success"]);
  });

  it("with a detach still to make: the new process makes it, once", async () => {
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(2), ecmRegion: REGION, attachedInstanceId: instanceId(1) },
    ]);
    await s.create("crash-before-call", { networkInterfaceId: eniId(2) });
    await s.waitFor("crash-before-call", (r) => r.status?.phase === "Attached");
    // Every Describe of this interface hangs, so the operator is killed before it can decide to detach.
    await s.emulator.control.addFault({
      action: "DescribeNetworkInterfaces",
      networkInterfaceId: eniId(2),
      delayMs: 3000,
      count: 1,
    });
    await s.patchSpec("crash-before-call", { desiredState: "Detached" });
    await waitFor(async () => (await s.emulator.control.faults()).length === 0);
    await s.crashAndRestartOperator();

    const detached = await s.waitFor("crash-before-call", (r) => r.status?.phase === "Detached");
    const calls = await s.calls(DETACH, eniId(2));
    expect(calls.map((c) => c.code)).toEqual(["Success"]);
    expect(detached.status?.operation?.requestId).toBe(calls[0]?.requestId);
    expect(condition(detached, "Ready")).toMatchObject({ status: "True", reason: "Detached" });
  });
});
