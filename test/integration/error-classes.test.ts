import { describe, expect, it } from "vitest";
import { ecmClient, loopbackAgent } from "../emulator/clients.ts";
import { waitFor } from "../support/operator.ts";
import { REGION, condition, eniId, instanceId, useScenario, type Scenario } from "../support/scenario.ts";

const DETACH = "DetachNetworkInterface";
const DESCRIBE = "DescribeNetworkInterfaces";
/** How long each resource's Detach calls are counted, from its first call. */
const WINDOW_MS = 9_000;

/**
 * One resource per class of the behaviour table, each with every Detach of its interface failing
 * with the class's code. Over the same window, the number of calls shows whether and how fast the
 * operator retries.
 */
const CASES = [
  { name: "in-transition", code: "UnsupportedOperation.InvalidState", calls: [2, 4], phase: "Detaching" },
  { name: "in-use", code: "ResourceInUse", calls: [2, 4], phase: "Detaching" },
  { name: "service-fault", code: "InternalError", calls: [2, 2], phase: "Detaching" },
  { name: "internal-op", code: "FailedOperation.InternalOperationFailure", calls: [2, 2], phase: "Detaching" },
  { name: "unknown-code", code: "NeverHeardOf.ThisCode", calls: [2, 2], phase: "Detaching" },
  // A 503 from a gateway is retried in place twice, then backed off like any service fault.
  { name: "http-503", code: "HTTP_503", expectedCode: "Transport.HttpStatus", calls: [6, 6], phase: "Detaching" },
  { name: "credentials", code: "UnauthorizedOperation.ForbiddenOperation", calls: [1, 1], phase: "Failed" },
  { name: "auth", code: "AuthFailure.SignatureFailure", calls: [1, 1], phase: "Failed" },
  { name: "invalid", code: "InvalidParameterValue", calls: [1, 1], phase: "Failed" },
  { name: "unsupported", code: "UnsupportedOperation", calls: [1, 1], phase: "Failed" },
] as const;

describe("each class of the error table", () => {
  const s = useScenario("errors");

  it("lands the code in status.operation.errorCode and Synced.reason, and retries (or not) as the table says", async () => {
    await s.emulator.control.addEnis(
      CASES.map((_, i) => ({
        networkInterfaceId: eniId(100 + i),
        ecmRegion: REGION,
        attachedInstanceId: instanceId(1),
      })),
    );
    for (const [i, c] of CASES.entries()) {
      await s.emulator.control.addFault({ action: DETACH, networkInterfaceId: eniId(100 + i), code: c.code });
    }
    await Promise.all(
      CASES.map((c, i) => s.create(c.name, { networkInterfaceId: eniId(100 + i), desiredState: "Detached" })),
    );
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS + 1500));

    const counts: Record<string, number> = {};
    for (const [i, c] of CASES.entries()) {
      const calls = await s.calls(DETACH, eniId(100 + i));
      const first = Date.parse(calls[0]?.time ?? "");
      const inWindow = calls.filter((call) => Date.parse(call.time) - first < WINDOW_MS);
      counts[c.name] = inWindow.length;
      const resource = await s.get(c.name);
      const expectedCode = "expectedCode" in c ? c.expectedCode : c.code;
      expect(resource?.status?.operation?.errorCode, c.name).toBe(expectedCode);
      expect(resource?.status?.operation?.outcome, c.name).toBe("Failed");
      expect(condition(resource ?? ({} as never), "Synced"), c.name).toMatchObject({
        status: "False",
        reason: expectedCode,
      });
      expect(resource?.status?.phase, c.name).toBe(c.phase);
      expect(inWindow.length, `${c.name}: Detach calls in ${WINDOW_MS} ms`).toBeGreaterThanOrEqual(c.calls[0]);
      expect(inWindow.length, `${c.name}: Detach calls in ${WINDOW_MS} ms`).toBeLessThanOrEqual(c.calls[1]);
      if (c.code !== "HTTP_503") expect(resource?.status?.operation?.requestId, c.name).toBe(calls.at(-1)?.requestId);
    }
    console.log(`Detach calls per resource in ${WINDOW_MS} ms:`, counts);
  });

  it("lets a resource stuck on an invalid request go when the user sets deletionPolicy Orphan", async () => {
    await s.delete("invalid");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const stuck = await s.get("invalid");
    expect(stuck?.metadata.deletionTimestamp).toBeDefined();
    expect(condition(stuck ?? ({} as never), "Ready")?.message).toContain("deletionPolicy: Orphan");
    const before = (await s.calls(DETACH)).length;
    await s.patchSpec("invalid", { deletionPolicy: "Orphan" });
    await s.waitForGone("invalid");
    expect((await s.calls(DETACH)).length).toBe(before);
    const events = await s.events("invalid");
    expect(events).toContain("Orphaned");
  });
});

describe("throttling", () => {
  // An operator of its own: RequestLimitExceeded slows its shared Detach limiter for every resource.
  const s = useScenario("throttled");

  it("is retried about once a second, slows the shared limiter, and never counts as a failed attempt", async () => {
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(300), ecmRegion: REGION, attachedInstanceId: instanceId(1) },
    ]);
    await s.emulator.control.addFault({
      action: DETACH,
      networkInterfaceId: eniId(300),
      code: "RequestLimitExceeded",
      count: 5,
    });
    await s.create("throttled", { networkInterfaceId: eniId(300), desiredState: "Detached" });
    const throttledStatus = await s.waitFor(
      "throttled",
      (r) => r.status?.operation?.errorCode === "RequestLimitExceeded",
    );
    expect(condition(throttledStatus, "Synced")).toMatchObject({ status: "False", reason: "RequestLimitExceeded" });
    expect(throttledStatus.status?.operation?.attempts).toBe(0);
    expect(throttledStatus.status?.phase).toBe("Detaching");

    const done = await s.waitFor("throttled", (r) => r.status?.phase === "Detached", 30_000);
    const calls = await s.calls(DETACH, eniId(300));
    expect(calls.map((c) => c.code)).toEqual([...Array<string>(5).fill("RequestLimitExceeded"), "Success"]);
    const spanSeconds = (Date.parse(calls.at(-1)?.time ?? "") - Date.parse(calls[0]?.time ?? "")) / 1000;
    console.log(`5 throttled Detach calls, then success, over ${spanSeconds.toFixed(1)} s`);
    // Retried after a pause, not hot: five retries take at least four of the limiter's pauses.
    expect(spanSeconds).toBeGreaterThanOrEqual(4);
    expect(done.status?.operation).toEqual({
      action: DETACH,
      requestId: calls.at(-1)?.requestId,
      time: expect.any(String) as string,
      outcome: "Confirmed",
      attempts: 1,
    });
    const metrics = await (await fetch(s.operator.metricsUrl)).text();
    const allowance = Number(/ecm_api_limiter_allowance\{action="DetachNetworkInterface"\} (\d+)/.exec(metrics)?.[1]);
    expect(allowance).toBeLessThan(20);
    expect(metrics).toMatch(/ecm_api_requests_total\{action="DetachNetworkInterface",code="RequestLimitExceeded"\} 5/);
  });
});

/** Waits until the emulator has received no call for half a second: the operator has settled. */
async function quiet(s: Scenario): Promise<void> {
  let seen = -1;
  await waitFor(
    async () => {
      const count = (await s.emulator.control.calls()).length;
      const settled = count === seen;
      seen = count;
      return settled;
    },
    30_000,
    500,
  );
}

describe("already-detached answers", () => {
  const s = useScenario("already");

  it.each([
    ["UnsupportedOperation.AttachmentNotFound", 200],
    ["ResourceNotFound", 201],
  ])("%s from a detach that lost a race is confirmed with Describe and releases the finalizer", async (code, n) => {
    await s.emulator.control.settings({ alreadyDetachedCode: code });
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(n), ecmRegion: REGION, attachedInstanceId: instanceId(1) },
    ]);
    await s.create(`race-${n}`, { networkInterfaceId: eniId(n) });
    await s.waitFor(`race-${n}`, (r) => r.status?.phase === "Attached");
    await quiet(s);
    // The operator's next Describe sees the interface attached but answers late; meanwhile another
    // client detaches it, so the operator's Detach finds nothing to detach.
    await s.emulator.control.addFault({ action: DESCRIBE, networkInterfaceId: eniId(n), delayMs: 1500, count: 1 });
    await s.delete(`race-${n}`);
    await waitFor(async () => (await s.emulator.control.faults()).length === 0);
    const other = ecmClient(loopbackAgent(s.emulator.port));
    await other.request(DETACH, { NetworkInterfaceId: eniId(n), InstanceId: instanceId(1), EcmRegion: REGION });

    await s.waitForGone(`race-${n}`);
    const detaches = await s.calls(DETACH, eniId(n));
    expect(detaches.map((c) => c.code)).toEqual(["Success", code]);
    const events = await s.events(`race-${n}`);
    expect(events).toContain(code);
    expect(events).toContain(detaches[1]?.requestId);
  });
});
