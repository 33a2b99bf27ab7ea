import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CertAndKey } from "./certs.ts";
import { httpsGet } from "./https-request.ts";
import type { ClusterPki } from "./pki.ts";
import { spawnServer, waitForServer, type ServerProcess } from "./processes.ts";

export interface KubeApiserverOptions {
  binary: string;
  /** The control plane's directory: the log goes to <dir>/kube-apiserver.log. */
  dir: string;
  port: number;
  etcdUrl: string;
  pki: ClusterPki;
  /** Used for the readiness probes, which need a user allowed to read namespaces. */
  admin: CertAndKey;
  survivesParent: boolean;
  timeoutMs?: number;
}

/**
 * Every write to EniAttachments (and their status) and Events, with who made it and when: tests read
 * it to show which client wrote what (for example, that a deposed leader wrote nothing).
 */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    verbs: ["create", "update", "patch", "delete"]
    resources:
      - group: "ecm.eni-operator.io"
        resources: ["eniattachments", "eniattachments/status"]
      - group: ""
        resources: ["events"]
  - level: None
`;

/** The audit log (JSON lines) of the control plane in `dir`. */
export function auditLogPath(dir: string): string {
  return join(dir, "audit.log");
}

/**
 * Starts kube-apiserver on 127.0.0.1 with client-certificate authentication, RBAC and service-account
 * tokens, and waits until /readyz passes (which includes the RBAC bootstrap roles) and namespace
 * `default` exists.
 */
export async function startKubeApiserver(options: KubeApiserverOptions): Promise<ServerProcess> {
  const server = `https://127.0.0.1:${options.port}`;
  const { pki } = options;
  const auditPolicy = join(options.dir, "audit-policy.yaml");
  writeFileSync(auditPolicy, AUDIT_POLICY);
  const proc = spawnServer({
    name: "kube-apiserver",
    binary: options.binary,
    args: [
      `--etcd-servers=${options.etcdUrl}`,
      "--bind-address=127.0.0.1",
      // Without it the apiserver looks for a default route to pick an address to advertise.
      "--advertise-address=127.0.0.1",
      // The endpoint reconciler publishes the advertise address for the `kubernetes` Service and rejects
      // loopback ones; nothing here routes to Services.
      "--endpoint-reconciler-type=none",
      `--secure-port=${options.port}`,
      `--tls-cert-file=${pki.serving.certPath}`,
      `--tls-private-key-file=${pki.serving.keyPath}`,
      `--client-ca-file=${pki.clientCa.certPath}`,
      "--authorization-mode=RBAC",
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${pki.serviceAccount.publicKeyPath}`,
      `--service-account-signing-key-file=${pki.serviceAccount.privateKeyPath}`,
      // The ServiceAccount admission plugin waits for token controllers that only a controller-manager runs.
      "--disable-admission-plugins=ServiceAccount",
      "--service-cluster-ip-range=10.0.0.0/24",
      "--allow-privileged=true",
      "--profiling=false",
      `--audit-policy-file=${auditPolicy}`,
      `--audit-log-path=${auditLogPath(options.dir)}`,
      // Without a bound, open watches (kube-controller-manager's, the operator's) hold a SIGTERM'd
      // apiserver up indefinitely; a real one is killed after its pod's grace period anyway.
      "--shutdown-watch-termination-grace-period=2s",
    ],
    logPath: join(options.dir, "kube-apiserver.log"),
    survivesParent: options.survivesParent,
  });
  const tls = { caCertPath: pki.servingCa.certPath, clientCert: options.admin };
  const answers = async (path: string): Promise<boolean> => {
    try {
      return (await httpsGet(`${server}${path}`, tls)).status === 200;
    } catch {
      return false;
    }
  };
  await waitForServer(
    proc,
    async () => (await answers("/readyz")) && answers("/api/v1/namespaces/default"),
    options.timeoutMs ?? 120_000,
  );
  return proc;
}
