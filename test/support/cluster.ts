// Helpers for integration tests, against the control plane started by global-setup.ts.
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { inject } from "vitest";
import { userKubeconfig as issueUserKubeconfig, writeKubeconfig } from "../controlplane/kubeconfig.ts";

export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** A client for the admin user (group system:masters): RBAC never denies it. */
export function adminKubeConfig(): KubeConfig {
  return loadKubeConfig(inject("kubeconfigPath"));
}

/** Path of a kubeconfig for a client-certificate user in `groups`, allowed only what RBAC grants. */
export function userKubeconfig(user: string, groups: readonly string[] = []): Promise<string> {
  return issueUserKubeconfig(inject("controlPlaneDir"), inject("apiServerUrl"), user, groups);
}

/** A token for the ServiceAccount from the TokenRequest API, as the kubelet projects one into a pod. */
export async function serviceAccountToken(namespace: string, name: string, expirationSeconds = 3600): Promise<string> {
  const core = adminKubeConfig().makeApiClient(CoreV1Api);
  const request = await core.createNamespacedServiceAccountToken({
    namespace,
    name,
    body: { spec: { audiences: [], expirationSeconds } },
  });
  const token = request.status?.token;
  if (token === undefined) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  return token;
}

/**
 * Path of a kubeconfig holding a token for the ServiceAccount from the TokenRequest API, e.g. to run the
 * operator with exactly the rights its shipped RBAC gives that account.
 */
export async function serviceAccountKubeconfig(
  namespace: string,
  name: string,
  expirationSeconds = 3600,
): Promise<string> {
  const token = await serviceAccountToken(namespace, name, expirationSeconds);
  return writeKubeconfig(
    inject("controlPlaneDir"),
    inject("apiServerUrl"),
    `system:serviceaccount:${namespace}:${name}`,
    {
      token,
    },
  );
}

export interface TestNamespace {
  name: string;
  /**
   * Deletes the namespace; kube-controller-manager's namespace controller then deletes what it holds
   * (an EniAttachment goes once the operator releases its finalizer) and finally the namespace.
   */
  cleanup: () => Promise<void>;
}

/**
 * Creates a namespace with a unique name starting with `prefix`, so tests never see each other's objects;
 * in the suite's control plane unless an admin kubeconfig of another is given.
 */
export async function testNamespace(prefix: string, kubeconfig?: string): Promise<TestNamespace> {
  const base = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 50);
  const name = `${base}-${randomBytes(4).toString("hex")}`;
  const core = loadKubeConfig(kubeconfig ?? inject("kubeconfigPath")).makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name } } });
  return {
    name,
    cleanup: async () => {
      await core.deleteNamespace({ name });
    },
  };
}

export interface ToolResult {
  stdout: string;
  stderr: string;
  /** The exit code; tests assert on it, so a failing command does not throw. */
  code: number;
}

export interface ToolOptions {
  /** Defaults to the admin kubeconfig. */
  kubeconfig?: string;
  /** Written to the tool's stdin, e.g. a manifest for `apply -f -`. */
  input?: string;
}

/** Runs the kubectl built for the control plane's version. */
export function kubectl(args: readonly string[], options: ToolOptions = {}): Promise<ToolResult> {
  return runTool(inject("kubectlPath"), args, options);
}

/** Runs helm, with its config, cache and data kept in the control plane's directory. */
export function helm(args: readonly string[], options: ToolOptions = {}): Promise<ToolResult> {
  return runTool(inject("helmPath"), args, options);
}

/** Runs any tool with the test bed's kubeconfig and Helm homes; a failure is its exit code, not an exception. */
export async function runTool(binary: string, args: readonly string[], options: ToolOptions = {}): Promise<ToolResult> {
  const helmHome = join(inject("controlPlaneDir"), "helm");
  const child = spawn(binary, args, {
    env: {
      ...process.env,
      KUBECONFIG: options.kubeconfig ?? inject("kubeconfigPath"),
      HELM_CONFIG_HOME: join(helmHome, "config"),
      HELM_CACHE_HOME: join(helmHome, "cache"),
      HELM_DATA_HOME: join(helmHome, "data"),
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  child.stdin.end(options.input ?? "");
  const code = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (exitCode) => {
      resolve(exitCode ?? -1);
    });
  });
  return { stdout, stderr, code };
}
