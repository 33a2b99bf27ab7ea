import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { CertAndKey } from "./certs.ts";
import { httpsRequest } from "./https-request.ts";
import type { ClusterPki } from "./pki.ts";
import { spawnServer, waitForServer, type ServerProcess } from "./processes.ts";

export interface KubeControllerManagerOptions {
  binary: string;
  /** The control plane's directory: the log goes to <dir>/kube-controller-manager.log. */
  dir: string;
  server: string;
  /** Its own kubeconfig (a client certificate in system:masters, see control-plane.ts). */
  kubeconfigPath: string;
  pki: ClusterPki;
  /** Used for the readiness probe, which creates and deletes a namespace. */
  admin: CertAndKey;
  survivesParent: boolean;
  timeoutMs?: number;
}

/**
 * What it runs, as in a real cluster: namespace deletion, ownerReference garbage collection, and the
 * aggregation of ClusterRoles into view, edit and admin.
 */
export const CONTROLLERS = ["namespace", "garbagecollector", "clusterrole-aggregation"];

/**
 * Starts kube-controller-manager with those controllers and waits until a deleted namespace actually
 * goes: with no serving port there is no /healthz to ask, and a namespace that finishes deleting is the
 * very thing the tests need from it.
 */
export async function startKubeControllerManager(options: KubeControllerManagerOptions): Promise<ServerProcess> {
  const { pki } = options;
  const proc = spawnServer({
    name: "kube-controller-manager",
    binary: options.binary,
    args: [
      `--kubeconfig=${options.kubeconfigPath}`,
      `--controllers=${CONTROLLERS.join(",")}`,
      `--service-account-private-key-file=${pki.serviceAccount.privateKeyPath}`,
      `--root-ca-file=${pki.servingCa.certPath}`,
      // Every controller acts as the manager's own user instead of a service account per controller.
      "--use-service-account-credentials=false",
      "--leader-elect=false",
      "--bind-address=127.0.0.1",
      // No serving port: nothing scrapes it, and without one it needs no delegated authentication.
      "--secure-port=0",
      "--profiling=false",
    ],
    logPath: join(options.dir, "kube-controller-manager.log"),
    survivesParent: options.survivesParent,
  });
  await waitForServer(proc, namespaceDeletionProbe(options), options.timeoutMs ?? 120_000);
  return proc;
}

/** A probe that creates a namespace, deletes it, and reports true once the API server no longer has it. */
function namespaceDeletionProbe(options: KubeControllerManagerOptions): () => Promise<boolean> {
  const tls = { caCertPath: options.pki.servingCa.certPath, clientCert: options.admin };
  const name = `kube-controller-manager-probe-${randomBytes(4).toString("hex")}`;
  const path = `/api/v1/namespaces/${name}`;
  let deleted = false;
  return async () => {
    try {
      if (!deleted) {
        const body = JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
        const created = await httpsRequest("POST", `${options.server}/api/v1/namespaces`, tls, body);
        if (created.status !== 201 && created.status !== 409) return false;
        const deletion = await httpsRequest("DELETE", `${options.server}${path}`, tls);
        deleted = deletion.status === 200 || deletion.status === 202;
        return false;
      }
      return (await httpsRequest("GET", `${options.server}${path}`, tls)).status === 404;
    } catch {
      return false;
    }
  };
}
