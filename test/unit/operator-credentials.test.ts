import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CredentialFiles } from "../../src/ecm/credential-files.ts";
import { CredentialsError, type CredentialSource } from "../../src/ecm/credentials.ts";
import { LOCAL_CODES } from "../../src/ecm/errors.ts";
import { OperatorCredentials } from "../../src/ecm/operator-credentials.ts";
import type { SecretReader } from "../../src/kube/secret-reader.ts";
import { resourceCredentials } from "../../src/kube/secret-credentials.ts";
import { eniAttachment } from "./fixtures.ts";

const STS = new URL("https://sts.tencentcloudapi.com");

describe("the operator's credentials from --credentials-dir", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "credential-files-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads secretId, secretKey and token, trimmed, ahead of the environment", async () => {
    await writeFile(join(dir, "secretId"), "AKIDfiles\n");
    await writeFile(join(dir, "secretKey"), "keyFromFiles\n");
    await writeFile(join(dir, "token"), "tokenFromFiles");
    const env = { TENCENTCLOUD_SECRET_ID: "AKIDenv", TENCENTCLOUD_SECRET_KEY: "keyFromEnv" };
    const files = new CredentialFiles(dir);
    expect(await new OperatorCredentials(env, STS, files).getCredential()).toEqual({
      secretId: "AKIDfiles",
      secretKey: "keyFromFiles",
      token: "tokenFromFiles",
    });
    files.close();
  });

  it("names the directory when a file is missing", async () => {
    await writeFile(join(dir, "secretId"), "AKIDfiles");
    const files = new CredentialFiles(dir);
    await expect(files.read()).rejects.toThrow(
      `--credentials-dir ${dir} must hold non-empty files secretId and secretKey`,
    );
    files.close();
  });

  it("reads the files again after they change, and tells its listeners", async () => {
    await writeFile(join(dir, "secretId"), "AKIDold");
    await writeFile(join(dir, "secretKey"), "oldKey");
    // An hour's cache: only the watch can bring the new files in.
    const files = new CredentialFiles(dir, 3_600_000);
    let changes = 0;
    files.onChange(() => (changes += 1));
    expect((await files.read()).secretId).toBe("AKIDold");
    await writeFile(join(dir, "secretId"), "AKIDnew");
    await writeFile(join(dir, "secretKey"), "newKey");
    await expect.poll(async () => (await files.read()).secretId, { timeout: 5_000 }).toBe("AKIDnew");
    expect((await files.read()).secretKey).toBe("newKey");
    // Told once the watch's own re-read has run, which a call's read may have come before.
    await expect.poll(() => changes, { timeout: 5_000 }).toBeGreaterThan(0);
    files.close();
  });
});

describe("the tenancy guard (--operator-credentials-namespaces)", () => {
  const operator: CredentialSource = { getCredential: () => Promise.resolve({ secretId: "AKIDop", secretKey: "k" }) };
  const secrets = {} as SecretReader;
  const inNamespace = (namespace: string) => {
    const resource = eniAttachment().build();
    resource.metadata.namespace = namespace;
    return resource;
  };

  it("lets every namespace use the operator's credentials when no namespace is listed", async () => {
    const source = resourceCredentials({ perResource: false, secrets, operator, operatorNamespaces: [] });
    expect((await source(inNamespace("anywhere")).getCredential()).secretId).toBe("AKIDop");
  });

  it("refuses them elsewhere with a credentials code and a message naming the way out, before any ECM call", async () => {
    const guarded = { secrets, operator, operatorNamespaces: ["platform"] };
    const on = resourceCredentials({ ...guarded, perResource: true });
    expect((await on(inNamespace("platform")).getCredential()).secretId).toBe("AKIDop");
    const refused = on(inNamespace("team-a")).getCredential();
    await expect(refused).rejects.toBeInstanceOf(CredentialsError);
    await expect(refused).rejects.toMatchObject({ code: LOCAL_CODES.operatorCredentialsNotAllowed });
    await expect(refused).rejects.toThrow(
      "namespace team-a may not use the operator's own credentials (only platform: --operator-credentials-namespaces",
    );
    await expect(on(inNamespace("team-a")).getCredential()).rejects.toThrow(/spec\.credentialsSecretRef/);
    const off = resourceCredentials({ ...guarded, perResource: false });
    await expect(off(inNamespace("team-a")).getCredential()).rejects.toThrow(/per-resource credentials are off too/);
  });
});
