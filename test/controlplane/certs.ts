import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

// Node's crypto makes keys but not X.509 certificates, so the openssl CLI (3.x: `req -x509 -CA`) does it.

export interface CertAndKey {
  certPath: string;
  keyPath: string;
}

export interface CertSubject {
  commonName: string;
  /** Kubernetes reads a client certificate's O values as the user's groups. */
  organizations?: readonly string[];
}

export interface LeafCertOptions {
  subject: CertSubject;
  usage: "serverAuth" | "clientAuth";
  ips?: readonly string[];
  dnsNames?: readonly string[];
}

const CONFIG = fileURLToPath(new URL("openssl.cnf", import.meta.url));
const DAYS = "3650";
const run = promisify(execFile);

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args);
  } catch (cause) {
    throw new Error(`openssl ${args[0] ?? ""} failed`, { cause });
  }
}

async function createKey(keyPath: string): Promise<void> {
  await openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", keyPath]);
}

function subjectArg(subject: CertSubject): string {
  // In -subj, '/', '+' and '=' are syntax; a backslash makes them (and itself) literal.
  const escape = (value: string): string => value.replace(/[\\/+=]/g, (c) => `\\${c}`);
  const orgs = (subject.organizations ?? []).map((o) => `/O=${escape(o)}`).join("");
  return `/CN=${escape(subject.commonName)}${orgs}`;
}

/** Writes a self-signed certificate authority to the given paths. */
export async function createCa(ca: CertAndKey, commonName: string): Promise<void> {
  await createKey(ca.keyPath);
  await openssl([
    ...["req", "-config", CONFIG, "-x509", "-new", "-key", ca.keyPath, "-days", DAYS],
    ...["-subj", subjectArg({ commonName }), "-out", ca.certPath],
    ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
  ]);
}

/** Writes a serving or client certificate signed by `ca`, and its key, to the given paths. */
export async function issueCert(ca: CertAndKey, leaf: CertAndKey, options: LeafCertOptions): Promise<void> {
  const altNames = [
    ...(options.ips ?? []).map((ip) => `IP:${ip}`),
    ...(options.dnsNames ?? []).map((dns) => `DNS:${dns}`),
  ];
  await createKey(leaf.keyPath);
  await openssl([
    ...["req", "-config", CONFIG, "-x509", "-new", "-key", leaf.keyPath, "-days", DAYS],
    ...["-CA", ca.certPath, "-CAkey", ca.keyPath, "-subj", subjectArg(options.subject), "-out", leaf.certPath],
    ...["-addext", "basicConstraints=critical,CA:FALSE", "-addext", "keyUsage=critical,digitalSignature"],
    ...["-addext", `extendedKeyUsage=${options.usage}`],
    ...(altNames.length > 0 ? ["-addext", `subjectAltName=${altNames.join(",")}`] : []),
  ]);
}

export interface SigningKey {
  privateKeyPath: string;
  publicKeyPath: string;
}

/** Writes a key pair for signing tokens (PEM private key and PEM public key). */
export async function createSigningKey(keys: SigningKey): Promise<void> {
  await createKey(keys.privateKeyPath);
  await openssl(["pkey", "-in", keys.privateKeyPath, "-pubout", "-out", keys.publicKeyPath]);
}
