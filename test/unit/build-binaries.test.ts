import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const SCRIPT = fileURLToPath(new URL("../controlplane/build-binaries.sh", import.meta.url));

function build(args: readonly string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile("bash", [SCRIPT, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: typeof error?.code === "number" ? error.code : error ? 1 : 0, stdout, stderr });
    });
  });
}

describe("the control plane's binaries", () => {
  let cache: string;
  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), "build-binaries-"));
  });
  afterAll(async () => {
    await rm(cache, { recursive: true, force: true });
  });

  it("uses a binary named by TEST_ASSET_* without building anything", async () => {
    const result = await build(["kubectl"], { TEST_ASSET_KUBECTL: "/bin/true", ENI_OPERATOR_CACHE: cache });
    expect(result).toMatchObject({ code: 0, stdout: "kubectl=/bin/true\n" });
  });

  it("uses TEST_ASSET_KUBE_CONTROLLER_MANAGER for kube-controller-manager, as envtest's variables go", async () => {
    const result = await build(["kube-controller-manager"], {
      TEST_ASSET_KUBE_CONTROLLER_MANAGER: "/bin/true",
      ENI_OPERATOR_CACHE: cache,
    });
    expect(result).toMatchObject({ code: 0, stdout: "kube-controller-manager=/bin/true\n" });
  });

  it("uses TEST_ASSET_TOXIPROXY_SERVER for the network-fault proxy", async () => {
    const result = await build(["toxiproxy-server"], {
      TEST_ASSET_TOXIPROXY_SERVER: "/bin/true",
      ENI_OPERATOR_CACHE: cache,
    });
    expect(result).toMatchObject({ code: 0, stdout: "toxiproxy-server=/bin/true\n" });
  });

  it("fails, naming the variable, when TEST_ASSET_* names no executable", async () => {
    const result = await build(["etcd"], { TEST_ASSET_ETCD: "/nonexistent/etcd", ENI_OPERATOR_CACHE: cache });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("TEST_ASSET_ETCD=/nonexistent/etcd is not an executable file");
  });

  it("fails, naming the binary and the Go error, when a version cannot be built", async () => {
    const result = await build(["kube-apiserver"], { KUBE_VERSION: "v1.0.0-nosuchrelease", ENI_OPERATOR_CACHE: cache });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/could not build kube-apiserver/);
    expect(result.stderr).toMatch(/v1\.0\.0-nosuchrelease/);
  });
});
