import { describe, expect, it } from "vitest";
import { waitFor } from "../support/operator.ts";
import { REGION, condition, eniId, instanceId, useScenario } from "../support/scenario.ts";

const DETACH = "DetachNetworkInterface";
/** Longer than a restart: the new process's first Describes still show the state before the detach. */
const DESCRIBE_LAG_MS = 4_000;
/** What ECM answers a Detach of an ENI detaching or detached: refused, no second effect. */
const REFUSED = ["UnsupportedOperation.InvalidState", "UnsupportedOperation.AttachmentNotFound"];

describe("a crash of the operator, while Describe lags behind accepted calls", () => {
  const s = useScenario("restart", { emulator: { describeLagMs: DESCRIBE_LAG_MS } });

  it("between a detach ECM accepted and its status write loses nothing and repeats no successful call", async () => {
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
    // The new process cannot know of the call, and Describe does not show it yet: it may detach
    // again, which ECM refuses; the detach that succeeded stays the only one.
    const [first, ...again] = (await s.calls(DETACH, eniId(1))).map((c) => c.code);
    console.log(`Detach calls across the crash: ${[first, ...again].join(", ")}`);
    expect(first).toBe("Success");
    for (const code of again) expect(REFUSED).toContain(code);
    // Describe came to show the interface detached (the finalizer waits for that, test/unit/decide.test.ts).
    const describes = await s.calls("DescribeNetworkInterfaces");
    const shown = describes.filter((c) =>
      c.reported?.some((e) => e.networkInterfaceId === eniId(1) && e.instanceId === null && e.state === "AVAILABLE"),
    );
    expect(shown.length).toBeGreaterThan(0);
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
    // Describe showed the interface attached for a while after the detach: the accepted call was
    // waited for, not made again.
    expect(calls.map((c) => c.code)).toEqual(["Success"]);
    expect(detached.status?.operation?.requestId).toBe(calls[0]?.requestId);
    expect(condition(detached, "Ready")).toMatchObject({ status: "True", reason: "Detached" });
  });
});
