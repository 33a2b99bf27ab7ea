import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, inject, it, vi } from "vitest";
import { pinnedVersions } from "../controlplane/binaries.ts";
import { isPortFree } from "../controlplane/ports.ts";

const CLI = fileURLToPath(new URL("../controlplane/cli.ts", import.meta.url));

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Running, that is: a zombie left for a PID 1 that does not reap orphans holds nothing and counts as gone. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}

describe("npm run cluster:up / cluster:down", () => {
  it("prints an admin kubeconfig, serves the pinned version, and leaves nothing behind", async () => {
    // A runtime dir of its own, so the test never touches a developer's cluster:up.
    const runtime = await mkdtemp(join(tmpdir(), "cluster-cli-"));
    const env = { XDG_RUNTIME_DIR: runtime };
    try {
      const started = Date.now();
      const up = await run(process.execPath, [CLI, "up"], env);
      console.log(`cluster:up took ${Date.now() - started} ms`);
      expect(up.code, up.stderr).toBe(0);
      const kubeconfig = up.stdout.trim().split("\n").at(-1) ?? "";
      expect(kubeconfig).toMatch(/admin\.kubeconfig$/);
      expect(up.stdout).toContain("applied eniattachments.ecm.eni-operator.io");

      const version = await run(inject("kubectlPath"), ["--kubeconfig", kubeconfig, "version"], {});
      expect(version.code, version.stderr).toBe(0);
      expect(version.stdout).toContain(`Server Version: ${pinnedVersions().kube}`);

      const again = await run(process.execPath, [CLI, "up"], env);
      expect(again.code).toBe(0);
      expect(again.stdout.trim().split("\n").at(-1)).toBe(kubeconfig);

      const pids = [...up.stdout.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
      expect(pids).toHaveLength(3);

      // A kube-apiserver that died comes back on the same port and data: the same kubeconfig reaches it.
      const kept = await run(inject("kubectlPath"), ["--kubeconfig", kubeconfig, "create", "namespace", "kept"], {});
      expect(kept.code, kept.stderr).toBe(0);
      const apiserverPid = Number(/kube-apiserver pid (\d+)/.exec(up.stdout)?.[1]);
      process.kill(apiserverPid, "SIGKILL");
      await vi.waitFor(() => {
        expect(alive(apiserverPid)).toBe(false);
      });
      const revived = await run(process.execPath, [CLI, "up"], env);
      expect(revived.code, revived.stderr).toBe(0);
      expect(revived.stdout).toMatch(/started again kube-apiserver pid \d+ .*same port, certificates and etcd data/);
      expect(revived.stdout.trim().split("\n").at(-1)).toBe(kubeconfig);
      const namespace = await run(inject("kubectlPath"), ["--kubeconfig", kubeconfig, "get", "namespace", "kept"], {});
      expect(namespace.code, namespace.stderr).toBe(0);
      const newPid = Number(/kube-apiserver pid (\d+)/.exec(revived.stdout)?.[1]);
      pids.push(newPid);

      const down = await run(process.execPath, [CLI, "down"], env);
      expect(down.code, down.stderr).toBe(0);
      expect(pids.filter(alive)).toEqual([]);
      const ports = (/ports ([\d, ]+) released/.exec(down.stdout)?.[1] ?? "").split(", ").map(Number);
      expect(ports.length).toBeGreaterThanOrEqual(3);
      for (const port of ports) expect(await isPortFree(port), `port ${port}`).toBe(true);
    } finally {
      await run(process.execPath, [CLI, "down"], env);
      await rm(runtime, { recursive: true, force: true });
    }
  });
});
