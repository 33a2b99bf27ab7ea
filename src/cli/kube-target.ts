import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { ToolError } from "./tool-error.ts";

const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

export interface KubeFlags {
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
  readonly namespace?: string | undefined;
}

/** A cluster to talk to and the namespace names default to, found as kubectl finds them. */
export interface KubeTarget {
  readonly kc: KubeConfig;
  readonly namespace: string;
}

/**
 * kubectl's rules: --kubeconfig, else $KUBECONFIG (a list of files, merged), else ~/.kube/config, else
 * the in-cluster ServiceAccount; --context picks a context; -n, else the context's namespace, else default.
 */
export function kubeTarget(flags: KubeFlags, env: NodeJS.ProcessEnv): KubeTarget {
  const kc = new KubeConfig();
  const home = join(homedir(), ".kube", "config");
  if (flags.kubeconfig) {
    if (!existsSync(flags.kubeconfig)) throw new ToolError(`--kubeconfig ${flags.kubeconfig}: no such file`);
    kc.loadFromFile(flags.kubeconfig);
  } else if (env["KUBECONFIG"]) {
    kc.loadFromDefault();
  } else if (existsSync(home)) {
    kc.loadFromFile(home);
  } else if (env["KUBERNETES_SERVICE_HOST"] && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    kc.loadFromCluster();
  } else {
    throw new ToolError("no Kubernetes cluster configured: pass --kubeconfig PATH or set KUBECONFIG");
  }
  if (flags.context) {
    if (!kc.getContextObject(flags.context)) {
      throw new ToolError(`--context ${flags.context}: no such context in the kubeconfig`);
    }
    kc.setCurrentContext(flags.context);
  }
  if (!kc.getCurrentCluster()?.server) {
    throw new ToolError(
      `the kubeconfig's current context (${kc.getCurrentContext() || "none"}) names no cluster server`,
    );
  }
  const namespace = flags.namespace || kc.getContextObject(kc.getCurrentContext())?.namespace || "default";
  return { kc, namespace };
}
