import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { createCa, createSigningKey, issueCert, type CertAndKey, type SigningKey } from "./certs.ts";

/** The certificates and keys of one control plane, under <controlPlaneDir>/pki. */
export interface ClusterPki {
  /** Signs the apiserver's serving certificate: clients trust it. */
  servingCa: CertAndKey;
  serving: CertAndKey;
  /** Signs client certificates: the apiserver authenticates users by it. */
  clientCa: CertAndKey;
  /** Signs and verifies service-account tokens. */
  serviceAccount: SigningKey;
}

const pair = (dir: string, name: string): CertAndKey => ({
  certPath: join(dir, `${name}.crt`),
  keyPath: join(dir, `${name}.key`),
});

/** Paths of the PKI of the control plane kept in controlPlaneDir (created by createClusterPki). */
export function clusterPki(controlPlaneDir: string): ClusterPki {
  const dir = join(controlPlaneDir, "pki");
  return {
    servingCa: pair(dir, "serving-ca"),
    serving: pair(dir, "apiserver"),
    clientCa: pair(dir, "client-ca"),
    serviceAccount: {
      privateKeyPath: join(dir, "service-account.key"),
      publicKeyPath: join(dir, "service-account.pub"),
    },
  };
}

export async function createClusterPki(controlPlaneDir: string): Promise<ClusterPki> {
  const pki = clusterPki(controlPlaneDir);
  await mkdir(join(controlPlaneDir, "pki"), { recursive: true, mode: 0o700 });
  await Promise.all([
    createCa(pki.servingCa, "eni-operator-test-serving-ca").then(() =>
      issueCert(pki.servingCa, pki.serving, {
        subject: { commonName: "kube-apiserver" },
        usage: "serverAuth",
        ips: ["127.0.0.1"],
        dnsNames: ["localhost"],
      }),
    ),
    createCa(pki.clientCa, "eni-operator-test-client-ca"),
    createSigningKey(pki.serviceAccount),
  ]);
  return pki;
}

/**
 * Issues a client certificate for `user` in `groups`, signed by the control plane's client CA. Each
 * call writes new files, so concurrent calls for the same user never mix one's key with another's cert.
 */
export async function issueClientCert(
  controlPlaneDir: string,
  user: string,
  groups: readonly string[],
): Promise<CertAndKey> {
  const dir = join(controlPlaneDir, "pki", "users");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const cert = pair(dir, `${user.replace(/[^\w.-]/g, "_")}-${randomBytes(4).toString("hex")}`);
  await issueCert(clusterPki(controlPlaneDir).clientCa, cert, {
    subject: { commonName: user, organizations: groups },
    usage: "clientAuth",
  });
  return cert;
}
