// The operator's own credentials from a mounted Secret's files, rotated under a running operator as the
// kubelet rotates them: new files in a new directory, then the `..data` symlink swapped.
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RETRY_POLICY } from "../../src/controller/backoff.ts";
import { TEAM_CREDENTIAL } from "../emulator/server.ts";
import { REGION, eniId, useScenario } from "../support/scenario.ts";

const ROTATED = { secretId: "AKIDrotatedCREDENTIAL00000000000000", secretKey: "rotatedSecretKey0000000000000000" };

/** A directory laid out as the kubelet mounts a Secret: each key a symlink into `..data`, itself a symlink. */
async function mountedSecret(dir: string, version: number, data: Record<string, string>): Promise<void> {
  const payload = `..${version}`;
  await mkdir(join(dir, payload));
  for (const [key, value] of Object.entries(data)) await writeFile(join(dir, payload, key), value);
  await symlink(payload, join(dir, "..data_tmp"));
  await rename(join(dir, "..data_tmp"), join(dir, "..data"));
  for (const key of Object.keys(data)) await symlink(join("..data", key), join(dir, key)).catch(() => undefined);
}

const dir = await mkdtemp(join(tmpdir(), "eni-operator-credentials-"));
await mountedSecret(dir, 1, TEAM_CREDENTIAL);

describe("operator credentials from --credentials-dir, rotated live", () => {
  // The environment holds the scenario's default credential, which the emulator does not accept:
  // the files alone can make a call succeed.
  const s = useScenario("credential-files", {
    emulator: { credentials: [TEAM_CREDENTIAL, ROTATED] },
    operatorArgs: [`--credentials-dir=${dir}`],
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("uses the files' key, then the rotated one without a restart once the old key is refused", async () => {
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(1), ecmRegion: REGION },
      { networkInterfaceId: eniId(2), ecmRegion: REGION },
    ]);
    await s.create("before", { networkInterfaceId: eniId(1) });
    await s.waitFor("before", (r) => r.status?.phase === "Attached");
    expect((await s.calls("AttachNetworkInterface", eniId(1)))[0]?.secretId).toBe(TEAM_CREDENTIAL.secretId);

    // The old key is disabled before the Secret is updated: calls fail on it until the files change.
    await s.emulator.control.revokeCredential(TEAM_CREDENTIAL.secretId);
    await s.create("after", { networkInterfaceId: eniId(2) });
    const failing = await s.waitFor(
      "after",
      (r) => r.status?.observation?.errorCode === "AuthFailure.SecretIdNotFound",
    );
    expect(failing.status?.phase).toBe("Failed");

    const slowRetry = Date.now() + RETRY_POLICY.Credentials.baseMs;
    await mountedSecret(dir, 2, ROTATED);
    await s.waitFor("after", (r) => r.status?.phase === "Attached", 40_000);
    const attach = (await s.calls("AttachNetworkInterface", eniId(2))).find((c) => c.code === "Success");
    expect(attach?.secretId).toBe(ROTATED.secretId);
    // Retried because the files changed, not at the slow credentials retry of the error table.
    expect(Date.parse(attach?.time ?? "")).toBeLessThan(slowRetry);
    expect(s.operator.process.exitCode).toBeNull();
  });
});
