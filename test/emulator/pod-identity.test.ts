// The operator's TKE pod identity exchange (src/ecm/pod-identity.ts) against the emulator's STS.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { accountOf } from "../../src/ecm/credentials.ts";
import { PodIdentityCredentials } from "../../src/ecm/pod-identity.ts";
import { ecmClient, loopbackAgent, sdkError } from "./clients.ts";
import { startEmulator, type RunningEmulator } from "./server.ts";
import { STS_ACTION } from "./sts.ts";

const identity = {
  providerId: "cls-test1234",
  roleArn: "qcs::cam::uin/100000000001:roleName/eni-operator",
  token: "eyJ.valid.token",
};

describe("TKE pod identity through the emulator's STS", () => {
  let emulator: RunningEmulator;
  let dir: string;
  let tokenFile: string;
  const exchanges = async () => (await emulator.control.calls()).filter((c) => c.action === STS_ACTION);
  const credentials = (now?: () => number) =>
    new PodIdentityCredentials(
      { region: "ap-guangzhou", providerId: identity.providerId, roleArn: identity.roleArn, tokenFile },
      new URL(emulator.url),
      now,
    );

  beforeAll(async () => {
    emulator = await startEmulator({ webIdentity: identity, stsCredentialSeconds: 3600 });
    dir = await mkdtemp(join(tmpdir(), "pod-identity-"));
    tokenFile = join(dir, "token");
  });
  afterAll(async () => {
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await emulator.control.reset();
    await writeFile(tokenFile, identity.token);
  });

  it("exchanges the token file's content for the temporary credentials STS issued", async () => {
    const credential = await credentials().getCredential();
    const [issued] = await emulator.control.issuedCredentials();
    expect(credential).toEqual({
      secretId: issued?.secretId,
      secretKey: issued?.secretKey,
      token: issued?.token,
      account: identity.roleArn,
    });
    expect((await exchanges()).map((c) => [c.code, c.secretId])).toEqual([["Success", undefined]]);
  });

  it("does not keep a failed exchange: a wrong token fails, the next call after the file is fixed succeeds", async () => {
    await writeFile(tokenFile, "eyJ.stale.token");
    const source = credentials();
    const failure = await source.getCredential().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect(String(failure)).toContain("STS AssumeRoleWithWebIdentity failed");
    expect(String((failure as Error).cause)).toContain("The token is invalid");
    expect(JSON.stringify(failure)).not.toContain("eyJ");

    await writeFile(tokenFile, identity.token);
    expect((await source.getCredential()).secretId).toMatch(/^AKIDtmp/);
    expect((await exchanges()).map((c) => c.code)).toEqual(["InvalidParameter.WebIdentityTokenError", "Success"]);
  });

  it("shares one exchange among concurrent callers and holds the result until 5 minutes of its life are left", async () => {
    let now = Date.now();
    const source = credentials(() => now);
    const first = await Promise.all(Array.from({ length: 5 }, () => source.getCredential()));
    expect(new Set(first.map((c) => c.secretId)).size).toBe(1);
    now += 54 * 60_000;
    expect((await source.getCredential()).secretId).toBe(first[0]?.secretId);
    expect(await exchanges()).toHaveLength(1);
    now += 2 * 60_000;
    const renewed = await source.getCredential();
    expect(renewed.secretId).not.toBe(first[0]?.secretId);
    expect(await exchanges()).toHaveLength(2);
    // A new SecretId, the same account: its calls keep counting against one quota.
    expect(accountOf(renewed)).toBe(accountOf(first[0] ?? renewed));
  });

  it("keeps serving still-valid credentials while a refresh fails, and fails once they have expired", async () => {
    let now = Date.now();
    const source = credentials(() => now);
    const held = await source.getCredential();
    await writeFile(tokenFile, "eyJ.revoked.token");
    now += 0.9 * 3600_000;
    expect((await source.getCredential()).secretId).toBe(held.secretId);
    now += 0.2 * 3600_000;
    await expect(source.getCredential()).rejects.toThrow("STS AssumeRoleWithWebIdentity failed");
  });

  it("issues credentials ECM accepts only with their token and until they expire", async () => {
    await emulator.control.addEnis([{ networkInterfaceId: "eni-00000001", ecmRegion: "ap-xian-ecm" }]);
    const describe = { EcmRegion: "ap-xian-ecm", NetworkInterfaceIds: ["eni-00000001"] };
    const agent = loopbackAgent(emulator.port);
    await emulator.control.settings({ stsCredentialSeconds: 2 });
    const credential = await credentials().getCredential();
    expect((await ecmClient(agent, credential).request("DescribeNetworkInterfaces", describe)).RequestId).toBeTruthy();
    const withoutToken = { secretId: credential.secretId, secretKey: credential.secretKey };
    const refused = await sdkError(ecmClient(agent, withoutToken).request("DescribeNetworkInterfaces", describe));
    expect(refused.code).toBe("AuthFailure.TokenFailure");
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const expired = await sdkError(ecmClient(agent, credential).request("DescribeNetworkInterfaces", describe));
    expect([expired.code, expired.message]).toEqual([
      "AuthFailure.TokenFailure",
      "The temporary credentials have expired.",
    ]);
    agent.destroy();
  });

  it("refuses an unknown role", async () => {
    const other = new PodIdentityCredentials(
      { region: "ap-guangzhou", providerId: identity.providerId, roleArn: "qcs::cam::uin/1:roleName/other", tokenFile },
      new URL(emulator.url),
    );
    await expect(other.getCredential()).rejects.toThrow("STS AssumeRoleWithWebIdentity failed");
    expect((await exchanges()).map((c) => c.code)).toEqual(["ResourceNotFound.RoleNotExist"]);
  });
});
