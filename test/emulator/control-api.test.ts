import { connect } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ecmClient, loopbackAgent, sdkError } from "./clients.ts";
import { DEFAULT_CREDENTIAL, startEmulator, type RunningEmulator } from "./server.ts";

const REGION = "ap-beijing-ecm";

describe("the control API", () => {
  let emulator: RunningEmulator;

  beforeAll(async () => {
    emulator = await startEmulator({ quotaPerSecond: 50, transitionMs: 250 });
  });
  afterAll(async () => {
    await emulator.close();
  });
  beforeEach(async () => {
    await emulator.control.reset();
  });

  it("adds ENIs and reports their state", async () => {
    const added = await emulator.control.addEnis([
      { networkInterfaceId: "eni-control1", ecmRegion: REGION, attachedInstanceId: "ins-control1" },
      { networkInterfaceId: "eni-control2", ecmRegion: REGION },
    ]);
    expect(added).toEqual([
      { networkInterfaceId: "eni-control1", ecmRegion: REGION, state: "AVAILABLE", attachedInstanceId: "ins-control1" },
      { networkInterfaceId: "eni-control2", ecmRegion: REGION, state: "AVAILABLE", attachedInstanceId: null },
    ]);
    expect(await emulator.control.enis()).toEqual(added);
  });

  it.each([
    ["a malformed ENI id", [{ networkInterfaceId: "eni-1", ecmRegion: REGION }]],
    ["an unknown region", [{ networkInterfaceId: "eni-control1", ecmRegion: "ap-atlantis-ecm" }]],
    [
      "a malformed instance id",
      [{ networkInterfaceId: "eni-control1", ecmRegion: REGION, attachedInstanceId: "vm-1" }],
    ],
    [
      "a duplicate id",
      [
        { networkInterfaceId: "eni-control1", ecmRegion: REGION },
        { networkInterfaceId: "eni-control1", ecmRegion: REGION },
      ],
    ],
  ])("refuses %s with HTTP 400 and adds nothing", async (_case, seeds) => {
    await expect(emulator.control.addEnis(seeds)).rejects.toThrow(/HTTP 400/);
    expect(await emulator.control.enis()).toEqual([]);
  });

  it.each([
    ["neither code nor delay", { count: 1 }],
    ["both count and probability", { code: "InternalError", count: 1, probability: 0.5 }],
    ["a code that is not one", { code: "internal error" }],
    ["an action the emulator does not serve", { code: "InternalError", action: "RunInstances" }],
    ["a probability above 1", { code: "InternalError", probability: 2 }],
    ["an unknown field", { code: "InternalError", times: 2 }],
  ])("refuses a fault rule with %s", async (_case, rule) => {
    const response = await fetch(`${emulator.url}/_emulator/faults`, { method: "POST", body: JSON.stringify(rule) });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).not.toBe("");
    expect(await emulator.control.faults()).toEqual([]);
  });

  it("changes settings, refuses bad ones, and restores the starting ones on reset", async () => {
    const initial = await emulator.control.settings();
    expect(initial).toEqual({
      attachDelayMs: 250,
      detachDelayMs: 250,
      alreadyDetachedCode: "UnsupportedOperation.AttachmentNotFound",
      quotaPerSecond: 50,
      stsCredentialSeconds: 7200,
      clockSkewMs: 0,
      describeLagMs: 0,
      describeLagShare: 1,
    });
    expect(await emulator.control.settings({ detachDelayMs: 0, alreadyDetachedCode: "ResourceNotFound" })).toEqual({
      ...initial,
      detachDelayMs: 0,
      alreadyDetachedCode: "ResourceNotFound",
    });
    await expect(emulator.control.settings({ quotaPerSecond: 0 })).rejects.toThrow(/HTTP 400/);
    await emulator.control.reset();
    expect(await emulator.control.settings()).toEqual(initial);
  });

  it("runs its clock skewed when told: its Date header shows it and signatures are judged by it", async () => {
    const agent = loopbackAgent(emulator.port);
    const client = ecmClient(agent);
    await emulator.control.settings({ clockSkewMs: 6 * 60_000 });
    const date = Date.parse((await fetch(emulator.url, { method: "POST", body: "{}" })).headers.get("date") ?? "");
    expect(date - Date.now()).toBeGreaterThan(5 * 60_000);
    expect((await sdkError(client.describe({ EcmRegion: REGION }))).code).toBe("AuthFailure.SignatureExpire");
    await emulator.control.settings({ clockSkewMs: -4 * 60_000 });
    await expect(client.describe({ EcmRegion: REGION })).resolves.toBeDefined();
    await expect(emulator.control.settings({ clockSkewMs: 1.5 })).rejects.toThrow(/HTTP 400/);
    agent.destroy();
    await emulator.control.reset();
  });

  it("returns the journal after a sequence number, and forgets everything on reset", async () => {
    await emulator.control.addEnis([{ networkInterfaceId: "eni-control1", ecmRegion: REGION }]);
    await emulator.control.addFault({ action: "AttachNetworkInterface", code: "ResourceInUse" });
    const agent = loopbackAgent(emulator.port);
    const client = ecmClient(agent);
    await client.describe({ EcmRegion: REGION });
    await sdkError(client.request("AttachNetworkInterface", { EcmRegion: REGION }));
    agent.destroy();
    const all = await emulator.control.calls();
    expect(all.map((entry) => entry.code)).toEqual(["Success", "ResourceInUse"]);
    expect(await emulator.control.calls(1)).toEqual(all.slice(1));
    await emulator.control.reset();
    expect(await emulator.control.calls()).toEqual([]);
    expect(await emulator.control.enis()).toEqual([]);
    expect(await emulator.control.faults()).toEqual([]);
  });

  it("revokes a credential, as a disabled key, until reset", async () => {
    const agent = loopbackAgent(emulator.port);
    const describe = { EcmRegion: REGION };
    await ecmClient(agent).request("DescribeNetworkInterfaces", describe);
    await emulator.control.revokeCredential(DEFAULT_CREDENTIAL.secretId);
    const refused = await sdkError(ecmClient(agent).request("DescribeNetworkInterfaces", describe));
    expect(refused.code).toBe("AuthFailure.SecretIdNotFound");
    await expect(emulator.control.revokeCredential("AKIDnobody")).rejects.toThrow(
      "no accepted credential has SecretId AKIDnobody",
    );
    await emulator.control.reset();
    await ecmClient(agent).request("DescribeNetworkInterfaces", describe);
    agent.destroy();
  });

  it("answers 404 for unknown routes and 405 for a wrong method", async () => {
    expect((await fetch(`${emulator.url}/_emulator/nothing`)).status).toBe(404);
    expect((await fetch(`${emulator.url}/_emulator/reset`)).status).toBe(405);
    expect((await fetch(`${emulator.url}/`)).status).toBe(405);
    expect((await fetch(`${emulator.url}/elsewhere`, { method: "POST" })).status).toBe(404);
  });
});

describe("close()", () => {
  it("closes idle and waiting connections and stops listening", async () => {
    const emulator = await startEmulator();
    await emulator.control.addFault({ delayMs: 60_000 });
    const agent = loopbackAgent(emulator.port);
    const waiting = ecmClient(agent)
      .describe({ EcmRegion: REGION })
      .then(
        () => "answered",
        () => "failed",
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Closing cuts the call off instead of waiting a minute for its answer.
    await emulator.close();
    expect(await waiting).toBe("failed");
    agent.destroy();
    const refused = await new Promise<string>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port: emulator.port });
      socket.once("connect", () => {
        socket.destroy();
        resolve("connected");
      });
      socket.once("error", (error: NodeJS.ErrnoException) => {
        resolve(error.code ?? "error");
      });
    });
    expect(refused).toBe("ECONNREFUSED");
  });
});
