import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Absolute paths of the control plane's tools. */
export interface Binaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubectl: string;
  helm: string;
}

const SCRIPT = fileURLToPath(new URL("build-binaries.sh", import.meta.url));
const NAMES = ["etcd", "kube-apiserver", "kube-controller-manager", "kubectl", "helm"];

export interface PinnedVersions {
  kube: string;
  etcd: string;
  helm: string;
}

/** The versions build-binaries.sh builds: its defaults, or the same variables it honours. */
export function pinnedVersions(): PinnedVersions {
  const script = readFileSync(SCRIPT, "utf8");
  const pinned = (variable: string): string => {
    const fromEnv = process.env[variable];
    if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
    const match = new RegExp(`^${variable}="\\$\\{${variable}:-([^}]+)\\}"$`, "m").exec(script);
    if (match?.[1] === undefined) throw new Error(`${SCRIPT} has no default for ${variable}`);
    return match[1];
  };
  return { kube: pinned("KUBE_VERSION"), etcd: pinned("ETCD_VERSION"), helm: pinned("HELM_VERSION") };
}

/**
 * Runs build-binaries.sh, which uses TEST_ASSET_* / KUBEBUILDER_ASSETS or builds and caches each tool.
 * Its progress goes to `progress` (a first build takes tens of minutes); a failure names the binary.
 */
export async function resolveBinaries(progress: NodeJS.WritableStream = process.stderr): Promise<Binaries> {
  const child = spawn("bash", [SCRIPT, ...NAMES], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderrTail = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    progress.write(chunk);
    stderrTail = (stderrTail + chunk).slice(-4_000);
  });
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done, fail) => {
    child.once("error", fail);
    child.once("close", (code, signal) => {
      done({ code, signal });
    });
  });
  const found = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) found.set(line.slice(0, eq), resolve(line.slice(eq + 1)));
  }
  const failure = (name: string): Error => {
    const how = exit.signal === null ? `exit code ${exit.code ?? "unknown"}` : `signal ${exit.signal}`;
    return new Error(`could not build or find ${name} (${SCRIPT}, ${how}):\n${stderrTail.trimEnd()}`);
  };
  // The script resolves the binaries in order and stops at the first failure.
  if (exit.code !== 0) throw failure(NAMES.find((name) => !found.has(name)) ?? "the test binaries");
  const pick = (name: string): string => {
    const path = found.get(name);
    if (path === undefined) throw failure(name);
    return path;
  };
  return {
    etcd: pick("etcd"),
    kubeApiserver: pick("kube-apiserver"),
    kubeControllerManager: pick("kube-controller-manager"),
    kubectl: pick("kubectl"),
    helm: pick("helm"),
  };
}
