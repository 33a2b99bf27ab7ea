import type { Agent } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ecmClient, loopbackAgent } from "./clients.ts";
import { Quota } from "./quota.ts";
import { startEmulator, type RunningEmulator } from "./server.ts";

const REGION = "ap-hangzhou-ecm";

describe("Quota", () => {
  it("passes `limit` calls per key in each wall-clock second and counts the rest", () => {
    const quota = new Quota(20);
    const results = Array.from({ length: 22 }, () => quota.take("DetachNetworkInterface", 5_000));
    expect(results.filter((result) => result.accepted)).toHaveLength(20);
    expect(results.at(-1)).toEqual({ count: 22, accepted: false });
    expect(quota.take("DescribeNetworkInterfaces", 5_999).accepted).toBe(true);
    expect(quota.take("DetachNetworkInterface", 5_999).accepted).toBe(false);
    expect(quota.take("DetachNetworkInterface", 6_000)).toEqual({ count: 1, accepted: true });
  });
});

/** Waits until `offsetMs` past the next wall-clock second; returns that second. */
async function nextSecond(offsetMs: number): Promise<number> {
  await sleep(1000 - (Date.now() % 1000) + offsetMs);
  return Math.floor(Date.now() / 1000);
}

describe("the per-action quota, through the official SDK", () => {
  let emulator: RunningEmulator;
  let agent: Agent;

  beforeAll(async () => {
    emulator = await startEmulator({ transitionMs: 0 });
    agent = loopbackAgent(emulator.port);
  });
  afterAll(async () => {
    agent.destroy();
    await emulator.close();
  });

  it("accepts about 20 calls a second out of 100 a second, and answers RequestLimitExceeded to the rest", async () => {
    await emulator.control.reset();
    const client = ecmClient(agent);
    const start = await nextSecond(50);
    const calls: Promise<{ second: number; code: string }>[] = [];
    // 10 calls every 100 ms for 3 seconds.
    for (let batch = 0; batch < 30; batch += 1) {
      await sleep(Math.max(0, start * 1000 + 50 + batch * 100 - Date.now()));
      const second = Math.floor(Date.now() / 1000) - start;
      for (let i = 0; i < 10; i += 1) {
        calls.push(
          client.describe({ EcmRegion: REGION }).then(
            () => ({ second, code: "Success" }),
            (error: unknown) => ({ second, code: (error as { code?: string }).code ?? String(error) }),
          ),
        );
      }
    }
    const outcomes = await Promise.all(calls);
    const perSecond = [0, 1, 2].map((second) => {
      const ofSecond = outcomes.filter((outcome) => outcome.second === second);
      return {
        sent: ofSecond.length,
        accepted: ofSecond.filter((outcome) => outcome.code === "Success").length,
        throttled: ofSecond.filter((outcome) => outcome.code === "RequestLimitExceeded").length,
      };
    });
    const journal = await emulator.control.calls();
    const acceptedByServerSecond = [0, 1, 2].map(
      (second) =>
        journal.filter(
          (entry) => entry.code === "Success" && Math.floor(Date.parse(entry.time) / 1000) - start === second,
        ).length,
    );
    console.log("quota: per second, as sent by the client:", perSecond);
    console.log("quota: accepted per second, by the emulator's clock:", acceptedByServerSecond);

    for (const { sent, accepted, throttled } of perSecond) {
      expect(sent).toBeGreaterThanOrEqual(90);
      expect(accepted).toBeGreaterThanOrEqual(18);
      expect(accepted).toBeLessThanOrEqual(22);
      expect(accepted + throttled).toBe(sent);
    }
    expect(journal).toHaveLength(300);
  });

  it("counts each action separately, and a throttled Detach changes nothing", async () => {
    await emulator.control.reset();
    const ids = Array.from({ length: 25 }, (_, i) => `eni-quota${String(i).padStart(3, "0")}`);
    await emulator.control.addEnis(
      ids.map((id) => ({ networkInterfaceId: id, ecmRegion: REGION, attachedInstanceId: "ein-quota001" })),
    );
    const client = ecmClient(agent);
    await nextSecond(20);
    const detaches = await Promise.all(
      ids.map((id) =>
        client
          .request("DetachNetworkInterface", { NetworkInterfaceId: id, InstanceId: "ein-quota001", EcmRegion: REGION })
          .then(
            () => "Success",
            (error: unknown) => (error as { code?: string }).code,
          ),
      ),
    );
    const describe = await client.describe({ EcmRegion: REGION, Limit: 100 });
    expect(detaches.filter((code) => code === "Success")).toHaveLength(20);
    expect(detaches.filter((code) => code === "RequestLimitExceeded")).toHaveLength(5);
    expect(describe.TotalCount).toBe(25);
    const stillAttached = (await emulator.control.enis()).filter((eni) => eni.attachedInstanceId !== null);
    expect(stillAttached.map((eni) => eni.networkInterfaceId).sort()).toEqual(
      ids.filter((_, i) => detaches[i] === "RequestLimitExceeded").sort(),
    );
  });
});

describe("the quota per account", () => {
  const A = { secretId: "AKIDaccountA000000000000000000000000", secretKey: "accountAsecretKey000000000000000" };
  const B = { secretId: "AKIDaccountB000000000000000000000000", secretKey: "accountBsecretKey000000000000000" };
  let emulator: RunningEmulator;
  let agent: Agent;

  beforeAll(async () => {
    emulator = await startEmulator({ transitionMs: 0, credentials: [A, B] });
    agent = loopbackAgent(emulator.port);
  });
  afterAll(async () => {
    agent.destroy();
    await emulator.close();
  });

  const codes = (credential: typeof A, count: number) =>
    Promise.all(
      Array.from({ length: count }, () =>
        ecmClient(agent, credential)
          .describe({ EcmRegion: REGION })
          .then(
            () => "Success",
            (error: unknown) => (error as { code?: string }).code,
          ),
      ),
    );

  it("gives each SecretId its own 20 calls per action per second", async () => {
    await nextSecond(20);
    const [a, b] = await Promise.all([codes(A, 22), codes(B, 20)]);
    expect(a.filter((code) => code === "Success")).toHaveLength(20);
    expect(a.filter((code) => code === "RequestLimitExceeded")).toHaveLength(2);
    expect(b.every((code) => code === "Success")).toBe(true);
  });

  it("injects faults for one SecretId only", async () => {
    await emulator.control.reset();
    await emulator.control.addFault({ secretId: A.secretId, code: "RequestLimitExceeded" });
    await nextSecond(20);
    const [a, b] = await Promise.all([codes(A, 3), codes(B, 3)]);
    expect(a).toEqual(["RequestLimitExceeded", "RequestLimitExceeded", "RequestLimitExceeded"]);
    expect(b).toEqual(["Success", "Success", "Success"]);
    const journal = await emulator.control.calls();
    expect(new Set(journal.filter((c) => c.code !== "Success").map((c) => c.secretId))).toEqual(new Set([A.secretId]));
  });
});
