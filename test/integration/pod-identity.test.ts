// The operator configured with TKE pod identity alone: every ECM call signed with temporary credentials
// from the emulator's STS, renewed before they expire, and none of them ever printed.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STS_ACTION } from "../emulator/sts.ts";
import { REGION, eniId, instanceId, useScenario } from "../support/scenario.ts";

const LIFETIME_SECONDS = 6;
const identity = {
  providerId: "cls-eniop123",
  roleArn: "qcs::cam::uin/100000000001:roleName/eni-operator",
  token: "eyJ.pod.token",
};
const dir = await mkdtemp(join(tmpdir(), "pod-identity-"));
const tokenFile = join(dir, "token");

describe("TKE pod identity", () => {
  beforeAll(async () => {
    await writeFile(tokenFile, identity.token);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const s = useScenario("pod-identity", {
    emulator: { webIdentity: identity, stsCredentialSeconds: LIFETIME_SECONDS },
    podIdentity: {
      TKE_REGION: "ap-guangzhou",
      TKE_PROVIDER_ID: identity.providerId,
      TKE_ROLE_ARN: identity.roleArn,
      TKE_WEB_IDENTITY_TOKEN_FILE: tokenFile,
    },
  });

  it("signs every ECM call with temporary credentials, renewed before expiry, and never prints them", async () => {
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(1), ecmRegion: REGION, attachedInstanceId: instanceId(1) },
    ]);
    await s.create("identity", { networkInterfaceId: eniId(1) });
    await s.waitFor("identity", (r) => r.status?.phase === "Attached");
    // Detach and attach again and again for three lifetimes of the credentials.
    const until = Date.now() + 3 * LIFETIME_SECONDS * 1000;
    let flips = 0;
    while (Date.now() < until) {
      const desiredState = flips % 2 === 0 ? "Detached" : "Attached";
      await s.patchSpec("identity", { desiredState });
      await s.waitFor("identity", (r) => r.status?.phase === desiredState, 30_000);
      flips += 1;
    }

    const journal = await s.emulator.control.calls();
    const issued = await s.emulator.control.issuedCredentials();
    const ecm = journal.filter((call) => call.action !== STS_ACTION);
    const used = new Set(ecm.map((call) => call.secretId));
    console.log(
      `pod identity: ${flips} state changes, ${ecm.length} ECM calls signed with ${used.size} successive ` +
        `temporary credentials of ${LIFETIME_SECONDS} s; ${journal.length - ecm.length} STS exchanges`,
    );
    expect(ecm.filter((call) => call.code !== "Success")).toEqual([]);
    const issuedIds = new Set(issued.map((credential) => credential.secretId));
    expect([...used].filter((id) => id === undefined || !issuedIds.has(id))).toEqual([]);
    expect(used.size).toBeGreaterThanOrEqual(3);

    const printed = JSON.stringify(s.operator.logs) + s.operator.stderr();
    const secrets = issued.flatMap((credential) => [credential.secretId, credential.secretKey, credential.token]);
    expect(secrets.filter((secret) => printed.includes(secret))).toEqual([]);
    expect(printed).not.toContain(identity.token);
  });
});
