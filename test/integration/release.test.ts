// What a release publishes, used as a stranger would: the npm package installed into an empty
// directory and its command run, and the packaged chart installed from its archive.
import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { helm, kubectl, testNamespace, type TestNamespace } from "../support/cluster.ts";
import { CHART, objectsOf } from "../support/chart.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Node.js 24, which the package's engines ask for, first on the PATH as a user's installation has it. */
const PATH = `${dirname(process.execPath)}${delimiter}${process.env["PATH"] ?? ""}`;

function run(command: string, args: readonly string[], cwd: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, PATH }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("the npm package", () => {
  let work = "";
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "eni-operator-package-"));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("packs (building the bundle first) and installs into an empty directory, where eni-operator and kubectl-eni run", async () => {
    const packed = await run("npm", ["pack", "--pack-destination", work, "--json"], ROOT);
    expect(packed.code).toBe(0);
    const [manifest] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    const files = (manifest?.files ?? []).map((file) => file.path);
    expect(files).toEqual(
      expect.arrayContaining(["LICENSE", "README.md", "package.json", "dist/main.js", "dist/kubectl-eni.js"]),
    );
    expect(files.some((path) => path.startsWith("crds/"))).toBe(true);
    expect(files.filter((path) => /^(src|test|deploy)\//.test(path) || path.endsWith(".ts"))).toEqual([]);

    const clean = join(work, "clean");
    const installed = await run(
      "npm",
      [
        "install",
        "--prefix",
        clean,
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        join(work, manifest?.filename ?? ""),
      ],
      work,
    );
    expect(installed.stderr).not.toMatch(/ERR!/);
    expect(installed.code).toBe(0);
    expect(await readdir(join(clean, "node_modules", ".bin"))).toContain("eni-operator");
    const bin = join(clean, "node_modules", ".bin", "eni-operator");
    const help = await run(bin, ["--help"], clean);
    expect(help.stderr).toBe("");
    expect(help.stdout).toContain("Usage: eni-operator [flags]");
    expect(help.stdout).toContain("--credentials-dir");
    const uninstallHelp = await run(bin, ["uninstall", "--help"], clean);
    expect(uninstallHelp.stdout).toContain("Usage: eni-operator uninstall --policy Detach|Orphan");
    const badFlag = await run(bin, ["--no-such-flag"], clean);
    expect(badFlag.code).not.toBe(0);
    expect(badFlag.stderr).toContain("--no-such-flag");

    // The kubectl plugin, found by kubectl on the PATH as `kubectl eni`.
    expect(await readdir(join(clean, "node_modules", ".bin"))).toContain("kubectl-eni");
    const plugin = join(clean, "node_modules", ".bin", "kubectl-eni");
    const pluginHelp = await run(plugin, ["--help"], clean);
    expect(pluginHelp.code).toBe(0);
    expect(pluginHelp.stdout).toContain("Usage: kubectl eni COMMAND");
    const noCluster = await run(plugin, ["status", "default/web", "--kubeconfig", join(clean, "missing")], clean);
    expect(noCluster.code).toBe(1);
    expect(noCluster.stderr).toContain("kubectl eni status:");
  }, 600_000);
});

describe("the packaged chart", () => {
  let work = "";
  let ns: TestNamespace | undefined;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "eni-operator-chart-package-"));
    ns = await testNamespace("chart-package");
  });
  afterAll(async () => {
    await helm(["uninstall", "packaged", "-n", ns?.name ?? ""]).catch(() => undefined);
    await ns?.cleanup().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  });

  it("packages into eni-operator-<version>.tgz with its metadata, and installs from the archive", async () => {
    const packaged = await helm(["package", CHART, "--destination", work]);
    expect(packaged.stderr).toBe("");
    const archive = join(work, "eni-operator-0.1.0.tgz");
    expect(packaged.stdout).toContain(archive);
    const shown = await helm(["show", "chart", archive]);
    expect(shown.stdout).toContain("home: https://github.com/eni-operator/eni-operator");
    expect(shown.stdout).toContain("artifacthub.io/license: Apache-2.0");
    const files = await run("tar", ["tzf", archive], work);
    expect(files.stdout).toContain("eni-operator/dashboards/eni-operator.json");
    expect(files.stdout).toContain("eni-operator/values.schema.json");
    // The test bed's CRD is already there, owned by no release: the chart's copy is left out.
    const installed = await helm([
      "install",
      "packaged",
      archive,
      "-n",
      ns?.name ?? "",
      "--set",
      "crds.enabled=false",
      "--set",
      "grafanaDashboard.enabled=true",
    ]);
    expect(installed.stderr).toBe("");
    expect(installed.stdout).toContain("STATUS: deployed");
    const deployment = await kubectl(["get", "deployment/packaged-eni-operator", "-n", ns?.name ?? "", "-o", "json"]);
    expect(objectsOf(deployment.stdout)[0]?.spec).toMatchObject({ replicas: 2 });
    const dashboard = await kubectl([
      "get",
      "configmap/packaged-eni-operator-dashboard",
      "-n",
      ns?.name ?? "",
      "-o",
      "name",
    ]);
    expect(dashboard.stdout.trim()).toBe("configmap/packaged-eni-operator-dashboard");
  }, 300_000);
});
