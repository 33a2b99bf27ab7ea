import type { Agent } from "node:http";
import { connect, createServer, type AddressInfo, type Server } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  ECM_HOST,
  ecmClient,
  envelopeOf,
  loopbackAgent,
  postRaw,
  sdkError,
  startCliEmulator,
  type CliEmulator,
} from "./clients.ts";
import { DEFAULT_CREDENTIAL, startEmulator, type RunningEmulator } from "./server.ts";
import { authorization, credentialScope, signRequest } from "./signature.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const REGION = "ap-xian-ecm";
const DESCRIBE = { EcmRegion: REGION };

const TEMPORARY = {
  secretId: "AKIDtemporaryEXAMPLE0000000000000000",
  secretKey: "temporarySecretKeyEXAMPLE0000000",
  token: "sessionTokenEXAMPLE",
};

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Headers of a Describe signed by hand, for requests the SDK would never send. */
function signedDescribe(overrides: Partial<Parameters<typeof signRequest>[0]> = {}) {
  const payload = overrides.payload ?? JSON.stringify(DESCRIBE);
  const headers = signRequest({
    ...DEFAULT_CREDENTIAL,
    service: "ecm",
    host: ECM_HOST,
    action: "DescribeNetworkInterfaces",
    version: "2019-07-19",
    timestampSeconds: nowSeconds(),
    ...overrides,
    payload,
  });
  return { headers, payload };
}

/** A TCP relay that rewrites bytes on their way to the emulator: a man in the middle. */
async function tamperingProxy(targetPort: number, from: string, to: string) {
  const stats = { replaced: 0 };
  const server: Server = createServer((client) => {
    const upstream = connect({ host: "127.0.0.1", port: targetPort });
    client.on("data", (chunk: Buffer) => {
      const text = chunk.toString("latin1");
      if (text.includes(from)) stats.replaced += 1;
      upstream.write(Buffer.from(text.replaceAll(from, to), "latin1"));
    });
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}

describe("signature verification, through the official SDK", () => {
  let emulator: RunningEmulator;
  let agent: Agent;

  beforeAll(async () => {
    emulator = await startEmulator({ credentials: [DEFAULT_CREDENTIAL, TEMPORARY] });
    agent = loopbackAgent(emulator.port);
  });
  afterAll(async () => {
    agent.destroy();
    await emulator.close();
  });

  it("answers a correctly signed call with a fresh RequestId", async () => {
    const first = await ecmClient(agent).describe(DESCRIBE);
    const second = await ecmClient(agent).describe(DESCRIBE);
    expect(first).toMatchObject({ TotalCount: 0, NetworkInterfaceSet: [] });
    expect(first.RequestId).toMatch(UUID);
    expect(second.RequestId).not.toBe(first.RequestId);
  });

  it("answers a wrong secret key with AuthFailure.SignatureFailure", async () => {
    const client = ecmClient(agent, { ...DEFAULT_CREDENTIAL, secretKey: "wrongSecretKey00000000000000000000" });
    const error = await sdkError(client.request("DescribeNetworkInterfaces", DESCRIBE));
    expect(error.code).toBe("AuthFailure.SignatureFailure");
    expect(error.requestId).toMatch(UUID);
  });

  it("answers an unknown SecretId with AuthFailure.SecretIdNotFound", async () => {
    const client = ecmClient(agent, { ...DEFAULT_CREDENTIAL, secretId: "AKIDunknown000000000000000000000000" });
    const error = await sdkError(client.request("DescribeNetworkInterfaces", DESCRIBE));
    expect(error.code).toBe("AuthFailure.SecretIdNotFound");
    expect(error.requestId).toMatch(UUID);
  });

  it("answers a body altered after signing with AuthFailure.SignatureFailure", async () => {
    const proxy = await tamperingProxy(emulator.port, "eni-aaaaaaaa", "eni-bbbbbbbb");
    const proxied = loopbackAgent(proxy.port, { keepAlive: false });
    try {
      const params = { EcmRegion: REGION, NetworkInterfaceIds: ["eni-aaaaaaaa"] };
      const error = await sdkError(ecmClient(proxied).request("DescribeNetworkInterfaces", params));
      expect(proxy.stats.replaced).toBe(1);
      expect(error.code).toBe("AuthFailure.SignatureFailure");
      expect(error.requestId).toMatch(UUID);
      const last = (await emulator.control.calls()).at(-1);
      expect(last).toMatchObject({ code: "AuthFailure.SignatureFailure", requestId: error.requestId });
      expect(last?.params).toEqual({ EcmRegion: REGION, NetworkInterfaceIds: ["eni-bbbbbbbb"] });
    } finally {
      proxied.destroy();
      await proxy.close();
    }
  });

  it("accepts temporary credentials with their token, and answers AuthFailure.TokenFailure without it", async () => {
    const ok = await ecmClient(agent, TEMPORARY).request("DescribeNetworkInterfaces", DESCRIBE);
    expect(ok.RequestId).toMatch(UUID);
    const wrong = await sdkError(
      ecmClient(agent, { ...TEMPORARY, token: "otherToken" }).request("DescribeNetworkInterfaces", DESCRIBE),
    );
    expect(wrong.code).toBe("AuthFailure.TokenFailure");
    const withoutToken = { secretId: TEMPORARY.secretId, secretKey: TEMPORARY.secretKey };
    const missing = await sdkError(ecmClient(agent, withoutToken).request("DescribeNetworkInterfaces", DESCRIBE));
    expect(missing.code).toBe("AuthFailure.TokenFailure");
  });

  it("answers AuthFailure.InvalidAuthorization for a missing or malformed Authorization header", async () => {
    const { headers, payload } = signedDescribe();
    const unsigned = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== "Authorization"));
    const missing = envelopeOf(await postRaw(emulator.port, unsigned, payload));
    expect(missing.Error?.Code).toBe("AuthFailure.InvalidAuthorization");
    expect(missing.RequestId).toMatch(UUID);
    const malformed = await postRaw(emulator.port, { ...headers, Authorization: "HmacSHA256 abc" }, payload);
    expect(malformed.status).toBe(200);
    expect(envelopeOf(malformed).Error?.Code).toBe("AuthFailure.InvalidAuthorization");
  });

  it("answers AuthFailure.InvalidAuthorization when host or content-type is not signed", async () => {
    const { headers, payload } = signedDescribe();
    const authorizationHeader = headers.Authorization ?? "";
    const hostless = authorizationHeader.replace("SignedHeaders=content-type;host", "SignedHeaders=content-type");
    const response = await postRaw(emulator.port, { ...headers, Authorization: hostless }, payload);
    expect(envelopeOf(response).Error?.Code).toBe("AuthFailure.InvalidAuthorization");
  });

  it("accepts any signed-header list containing content-type and host, and ignores the port in Host", async () => {
    const withAction = signedDescribe({ signAction: true });
    expect(withAction.headers.Authorization).toContain("SignedHeaders=content-type;host;x-tc-action,");
    expect(envelopeOf(await postRaw(emulator.port, withAction.headers, withAction.payload)).Error).toBeUndefined();
    const withPort = signedDescribe({ host: `${ECM_HOST}:443` });
    expect(envelopeOf(await postRaw(emulator.port, withPort.headers, withPort.payload)).Error).toBeUndefined();
  });

  it("answers AuthFailure.SignatureFailure when the credential scope is not the timestamp's UTC date and ecm", async () => {
    for (const scope of [
      credentialScope("2019-02-25", "ecm"),
      credentialScope(new Date().toISOString().slice(0, 10), "cvm"),
    ]) {
      const { headers, payload } = signedDescribe();
      const rescoped = authorization(DEFAULT_CREDENTIAL.secretId, scope, ["content-type", "host"], "0".repeat(64));
      const response = await postRaw(emulator.port, { ...headers, Authorization: rescoped }, payload);
      expect(envelopeOf(response).Error?.Code).toBe("AuthFailure.SignatureFailure");
    }
  });

  it("answers MissingParameter without X-TC-Timestamp or X-TC-Version, and InvalidPublicParam for a bad timestamp", async () => {
    const { headers, payload } = signedDescribe();
    const without = (name: string) => Object.fromEntries(Object.entries(headers).filter(([key]) => key !== name));
    expect(envelopeOf(await postRaw(emulator.port, without("X-TC-Timestamp"), payload)).Error?.Code).toBe(
      "MissingParameter",
    );
    expect(envelopeOf(await postRaw(emulator.port, without("X-TC-Version"), payload)).Error?.Code).toBe(
      "MissingParameter",
    );
    const badTimestamp = { ...headers, "X-TC-Timestamp": "yesterday" };
    expect(envelopeOf(await postRaw(emulator.port, badTimestamp, payload)).Error?.Code).toBe(
      "InvalidParameterValue.InvalidPublicParam",
    );
  });

  it("answers InvalidParameter for a correctly signed body that is not a JSON object", async () => {
    const { headers, payload } = signedDescribe({ payload: "[1, 2]" });
    const response = envelopeOf(await postRaw(emulator.port, headers, payload));
    expect(response.Error?.Code).toBe("InvalidParameter");
  });

  it("journals rejected calls too, in order, with the RequestId and SecretId", async () => {
    await emulator.control.reset();
    const stranger = { ...DEFAULT_CREDENTIAL, secretId: "AKIDunknown000000000000000000000000" };
    const rejected = await sdkError(ecmClient(agent, stranger).request("DescribeNetworkInterfaces", DESCRIBE));
    const accepted = await ecmClient(agent).request("DescribeNetworkInterfaces", DESCRIBE);
    const unknownAction = await sdkError(ecmClient(agent).request("DeleteNetworkInterface", DESCRIBE));
    expect(await emulator.control.calls()).toEqual([
      expect.objectContaining({
        seq: 1,
        action: "DescribeNetworkInterfaces",
        code: "AuthFailure.SecretIdNotFound",
        requestId: rejected.requestId,
        secretId: stranger.secretId,
      }),
      expect.objectContaining({ seq: 2, code: "Success", requestId: accepted.RequestId, params: DESCRIBE }),
      expect.objectContaining({ seq: 3, action: "DeleteNetworkInterface", code: "InvalidAction" }),
    ]);
    expect(unknownAction.code).toBe("InvalidAction");
  });
});

describe("clock skew, with the SDK's clock moved and the emulator in its own process", () => {
  let emulator: CliEmulator;
  let agent: Agent;

  beforeAll(async () => {
    emulator = await startCliEmulator(["--port", "0"]);
    agent = loopbackAgent(emulator.port);
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(async () => {
    agent.destroy();
    await emulator.stop();
  });

  /** The SDK reads the time with `new Date()` when it signs; only Date is faked, timers stay real. */
  async function callWithClockOffset(offsetMs: number) {
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + offsetMs });
    return ecmClient(agent).request("DescribeNetworkInterfaces", DESCRIBE);
  }

  it("answers a timestamp 6 minutes old with AuthFailure.SignatureExpire", async () => {
    const error = await sdkError(callWithClockOffset(-6 * 60_000));
    expect(error.code).toBe("AuthFailure.SignatureExpire");
    expect(error.requestId).toMatch(UUID);
  });

  it("answers a timestamp 6 minutes ahead with AuthFailure.SignatureExpire", async () => {
    const error = await sdkError(callWithClockOffset(6 * 60_000));
    expect(error.code).toBe("AuthFailure.SignatureExpire");
  });

  it("accepts a timestamp 4 minutes old", async () => {
    const response = await callWithClockOffset(-4 * 60_000);
    expect(response.RequestId).toMatch(UUID);
  });
});
