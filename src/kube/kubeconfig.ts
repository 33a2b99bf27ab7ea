import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { PooledKubeConfig } from "./pooled-kubeconfig.ts";

const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/**
 * --kubeconfig, else in-cluster, else $KUBECONFIG, else ~/.kube/config. Unlike the client's
 * loadFromDefault, never falls back silently to http://localhost:8080.
 */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new PooledKubeConfig();
  const defaultPath = join(homedir(), ".kube", "config");
  if (path) {
    if (!existsSync(path)) throw new Error(`--kubeconfig ${path}: no such file`);
    kc.loadFromFile(path);
  } else if (process.env["KUBERNETES_SERVICE_HOST"] && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    kc.loadFromCluster();
  } else if (process.env["KUBECONFIG"]) {
    kc.loadFromDefault();
  } else if (existsSync(defaultPath)) {
    kc.loadFromFile(defaultPath);
  } else {
    throw new Error(
      "no Kubernetes cluster configured: pass --kubeconfig PATH, set KUBECONFIG, or run inside a cluster",
    );
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    throw new Error(`the kubeconfig's current context (${kc.getCurrentContext() || "none"}) names no cluster server`);
  }
  return kc;
}
