import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ecmClient, loopbackAgent } from "./clients.ts";
import { startEmulator, type RunningEmulator } from "./server.ts";

const REGION = "ap-shanghai-ecm";
const TRANSITION_MS = 1000;
const COUNT = 1000;

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startEmulator({ quotaPerSecond: 100_000, transitionMs: TRANSITION_MS });
});
afterAll(async () => {
  await emulator.close();
});

it("leaves a consistent state and a complete journal after 1,000 concurrent detaches of 1,000 ENIs", async () => {
  // Nine in ten ENIs are attached, to one of ten instances; the rest are already detached.
  const enis = Array.from({ length: COUNT }, (_, i) => ({
    id: `eni-${String(i).padStart(8, "0")}`,
    instanceId: `ein-${String(i % 10).padStart(8, "0")}`,
    attached: i % 10 !== 9,
  }));
  await emulator.control.addEnis(
    enis.map(({ id, instanceId, attached }) => ({
      networkInterfaceId: id,
      ecmRegion: REGION,
      ...(attached ? { attachedInstanceId: instanceId } : {}),
    })),
  );
  const agent = loopbackAgent(emulator.port);
  const client = ecmClient(agent);

  const started = performance.now();
  const results = await Promise.all(
    enis.map(({ id, instanceId }) =>
      client
        .request("DetachNetworkInterface", { NetworkInterfaceId: id, InstanceId: instanceId, EcmRegion: REGION })
        .then(
          ({ RequestId }) => ({ id, code: "Success", requestId: RequestId }),
          (error: unknown) => {
            const { code, requestId } = error as { code?: string; requestId?: string };
            return { id, code: code ?? String(error), requestId: requestId ?? "" };
          },
        ),
    ),
  );
  const elapsedMs = Math.round(performance.now() - started);
  agent.destroy();
  console.log(`concurrency: ${COUNT} concurrent Detach calls answered in ${elapsedMs} ms`);

  results.forEach((result, i) => {
    expect(result.code).toBe(enis[i]?.attached === true ? "Success" : "UnsupportedOperation.AttachmentNotFound");
  });
  expect(new Set(results.map((result) => result.requestId)).size).toBe(COUNT);

  const journal = await emulator.control.calls();
  expect(journal.map((entry) => entry.seq)).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
  const answered = new Map(results.map((result) => [result.requestId, result]));
  for (const entry of journal) {
    const result = answered.get(entry.requestId ?? "");
    expect(entry).toMatchObject({ action: "DetachNetworkInterface", code: result?.code });
    expect(entry.params).toMatchObject({ NetworkInterfaceId: result?.id });
  }

  // Each detached ENI is DETACHING and still attached, or, once its transition is over, AVAILABLE and free.
  const during = await emulator.control.enis();
  during.forEach((eni, i) => {
    const { instanceId, attached } = enis[i] ?? { instanceId: "", attached: false };
    if (!attached) expect(eni).toMatchObject({ state: "AVAILABLE", attachedInstanceId: null });
    else if (eni.state === "DETACHING") expect(eni.attachedInstanceId).toBe(instanceId);
    else expect(eni).toMatchObject({ state: "AVAILABLE", attachedInstanceId: null });
  });
  console.log(
    `concurrency: ${during.filter((eni) => eni.state === "DETACHING").length} ENIs still DETACHING after the calls`,
  );
  await sleep(TRANSITION_MS + 50);
  const after = await emulator.control.enis();
  expect(after).toHaveLength(COUNT);
  expect(after.every((eni) => eni.state === "AVAILABLE" && eni.attachedInstanceId === null)).toBe(true);
});
