import type { Agent } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ecmClient, loopbackAgent, sdkError, TencentCloudSDKHttpException } from "./clients.ts";
import { ATTACH_ERROR_CODES, COMMON_ERROR_CODES, DETACH_ERROR_CODES } from "./error-codes.ts";
import { DEFAULT_CREDENTIAL, startEmulator, type RunningEmulator } from "./server.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const REGION = "ap-guangzhou-ecm";
const INSTANCE = "ein-faults01";
const ENI = "eni-faults01";
const DETACH = { NetworkInterfaceId: ENI, InstanceId: INSTANCE, EcmRegion: REGION };

/** Codes the operator's behaviour table names, beyond the documented lists. */
const BEHAVIOUR_TABLE_CODES = [
  "UnsupportedOperation.AttachmentNotFound",
  "ResourceNotFound.InstanceNotExist",
  "FailedOperation.OperationConflict",
  "UnauthorizedOperation.MFAExpired",
  "FailedOperation.SomethingUnheardOf",
];

let emulator: RunningEmulator;
let agent: Agent;
let client: ReturnType<typeof ecmClient>;

beforeAll(async () => {
  emulator = await startEmulator({ transitionMs: 0, quotaPerSecond: 10_000 });
  agent = loopbackAgent(emulator.port);
  client = ecmClient(agent);
});
afterAll(async () => {
  agent.destroy();
  await emulator.close();
});
beforeEach(async () => {
  await emulator.control.reset();
  await emulator.control.addEnis([{ networkInterfaceId: ENI, ecmRegion: REGION, attachedInstanceId: INSTANCE }]);
});

async function eniState() {
  return (await emulator.control.enis())[0];
}

describe("injected error codes", () => {
  it.each(DETACH_ERROR_CODES)("%s, documented for Detach, reaches the SDK with a RequestId", async (code) => {
    await emulator.control.addFault({ action: "DetachNetworkInterface", networkInterfaceId: ENI, code, count: 1 });
    const error = await sdkError(client.request("DetachNetworkInterface", DETACH));
    expect(error).toBeInstanceOf(TencentCloudSDKHttpException);
    expect(error.code).toBe(code);
    expect(error.requestId).toMatch(UUID);
    expect(await eniState()).toMatchObject({ state: "AVAILABLE", attachedInstanceId: INSTANCE });
    expect((await emulator.control.calls()).at(-1)).toMatchObject({ code, requestId: error.requestId });
  });

  it.each([...new Set([...COMMON_ERROR_CODES, ...ATTACH_ERROR_CODES, ...BEHAVIOUR_TABLE_CODES])])(
    "%s reaches the SDK with a RequestId",
    async (code) => {
      await emulator.control.addFault({ code, message: `injected ${code}`, count: 1 });
      const error = await sdkError(client.request("DetachNetworkInterface", DETACH));
      expect(error.code).toBe(code);
      expect(error.message).toBe(`injected ${code}`);
      expect(error.requestId).toMatch(UUID);
    },
  );

  it("applies a counted rule to the next calls only, then drops it", async () => {
    await emulator.control.addFault({ action: "DetachNetworkInterface", code: "InternalError", count: 2 });
    expect((await sdkError(client.request("DetachNetworkInterface", DETACH))).code).toBe("InternalError");
    expect(await emulator.control.faults()).toMatchObject([{ code: "InternalError", count: 1 }]);
    expect((await sdkError(client.request("DetachNetworkInterface", DETACH))).code).toBe("InternalError");
    expect(await emulator.control.faults()).toEqual([]);
    await client.request("DetachNetworkInterface", DETACH);
    expect(await eniState()).toMatchObject({ attachedInstanceId: null });
  });

  it("matches by action and by ENI, the first matching rule winning", async () => {
    await emulator.control.addFault({ networkInterfaceId: "eni-other001", code: "ResourceInUse" });
    await emulator.control.addFault({ action: "DescribeNetworkInterfaces", code: "ServiceUnavailable" });
    await emulator.control.addFault({ networkInterfaceId: ENI, code: "ResourceUnavailable" });
    expect((await sdkError(client.describe({ EcmRegion: REGION }))).code).toBe("ServiceUnavailable");
    expect((await sdkError(client.request("DetachNetworkInterface", DETACH))).code).toBe("ResourceUnavailable");
  });

  it("applies a probability rule to about that share of calls", async () => {
    await emulator.control.addFault({ action: "DescribeNetworkInterfaces", code: "InternalError", probability: 0.5 });
    const codes = await Promise.all(
      Array.from({ length: 200 }, () =>
        client.describe({ EcmRegion: REGION }).then(
          () => "Success",
          (error: unknown) => (error as { code?: string }).code,
        ),
      ),
    );
    const failed = codes.filter((code) => code === "InternalError").length;
    expect(failed).toBeGreaterThan(60);
    expect(failed).toBeLessThan(140);
    expect(failed + codes.filter((code) => code === "Success").length).toBe(200);
  });

  it("applies only after authentication, so a badly signed call keeps its AuthFailure", async () => {
    await emulator.control.addFault({ code: "InternalError", count: 1 });
    const stranger = ecmClient(agent, { ...DEFAULT_CREDENTIAL, secretKey: "not-the-key" });
    expect((await sdkError(stranger.request("DetachNetworkInterface", DETACH))).code).toBe(
      "AuthFailure.SignatureFailure",
    );
    expect(await emulator.control.faults()).toHaveLength(1);
  });
});

describe("injected delays", () => {
  it("delays an error answer", async () => {
    await emulator.control.addFault({ code: "InternalError", delayMs: 300, count: 1 });
    const started = performance.now();
    expect((await sdkError(client.request("DetachNetworkInterface", DETACH))).code).toBe("InternalError");
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("delays the answer of a call that runs normally, whose effect is immediate", async () => {
    await emulator.control.addFault({ action: "DetachNetworkInterface", delayMs: 400, count: 1 });
    const started = performance.now();
    const call = client.request("DetachNetworkInterface", DETACH);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await eniState()).toMatchObject({ attachedInstanceId: null });
    expect((await call).RequestId).toMatch(UUID);
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
  });
});

describe("injected transport faults", () => {
  it("HTTP_503 answers a non-200 status, which the SDK reports with httpCode and no code", async () => {
    await emulator.control.addFault({ code: "HTTP_503", count: 1 });
    const error = await sdkError(client.request("DetachNetworkInterface", DETACH));
    expect(error.httpCode).toBe(503);
    expect(error.code).toBeUndefined();
    expect((await emulator.control.calls()).at(-1)).toMatchObject({ code: "HTTP_503", requestId: null });
    expect(await eniState()).toMatchObject({ attachedInstanceId: INSTANCE });
  });

  it("MALFORMED_BODY answers 200 with a body that is not JSON, which escapes the SDK unwrapped", async () => {
    await emulator.control.addFault({ code: "MALFORMED_BODY", count: 1 });
    const failure = await client.request("DetachNetworkInterface", DETACH).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect(failure).not.toBeInstanceOf(TencentCloudSDKHttpException);
    expect((await emulator.control.calls()).at(-1)).toMatchObject({ code: "MALFORMED_BODY", requestId: null });
  });

  it("DROP_CONNECTION closes the connection without an answer, which the SDK reports without a code", async () => {
    await emulator.control.addFault({ code: "DROP_CONNECTION", count: 1 });
    const error = await sdkError(client.request("DetachNetworkInterface", DETACH));
    expect(error.code).toBeUndefined();
    expect(error.httpCode).toBeUndefined();
    expect((await emulator.control.calls()).at(-1)).toMatchObject({ code: "DROP_CONNECTION", requestId: null });
    expect(await eniState()).toMatchObject({ attachedInstanceId: INSTANCE });
  });
});
