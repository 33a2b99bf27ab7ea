import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import type { CertAndKey } from "./certs.ts";
import { clusterPki, issueClientCert } from "./pki.ts";

const CLUSTER = "eni-operator-test";

/** A client certificate or a bearer token (e.g. a service account's, from the TokenRequest API). */
export type Credentials = { clientCert: CertAndKey } | { token: string };

const base64 = async (path: string): Promise<string> => (await readFile(path)).toString("base64");

async function userEntry(credentials: Credentials): Promise<Record<string, string>> {
  if ("token" in credentials) return { token: credentials.token };
  return {
    "client-certificate-data": await base64(credentials.clientCert.certPath),
    "client-key-data": await base64(credentials.clientCert.keyPath),
  };
}

async function newKubeconfigPath(controlPlaneDir: string, user: string): Promise<string> {
  const dir = join(controlPlaneDir, "kubeconfigs");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return join(dir, `${user.replace(/[^\w.-]/g, "_")}-${randomBytes(4).toString("hex")}.kubeconfig`);
}

/**
 * Writes a self-contained kubeconfig (certificates embedded) for the control plane in controlPlaneDir
 * and returns its path, under <controlPlaneDir>/kubeconfigs unless `path` is given.
 */
export async function writeKubeconfig(
  controlPlaneDir: string,
  server: string,
  user: string,
  credentials: Credentials,
  path?: string,
): Promise<string> {
  const file = path ?? (await newKubeconfigPath(controlPlaneDir, user));
  const context = `${user}@${CLUSTER}`;
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: CLUSTER,
        cluster: { server, "certificate-authority-data": await base64(clusterPki(controlPlaneDir).servingCa.certPath) },
      },
    ],
    users: [{ name: user, user: await userEntry(credentials) }],
    contexts: [{ name: context, context: { cluster: CLUSTER, user } }],
    "current-context": context,
  };
  await writeFile(file, stringify(config), { mode: 0o600 });
  return file;
}

/** A kubeconfig for a client-certificate user in `groups`; its rights are whatever RBAC grants them. */
export async function userKubeconfig(
  controlPlaneDir: string,
  server: string,
  user: string,
  groups: readonly string[] = [],
): Promise<string> {
  const clientCert = await issueClientCert(controlPlaneDir, user, groups);
  return writeKubeconfig(controlPlaneDir, server, user, { clientCert });
}
