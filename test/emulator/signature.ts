// TC3-HMAC-SHA256, the signature of Tencent Cloud API 3.0, as pure functions: the verifier uses them on
// the raw request and tests use them to check the published vectors and to craft requests by hand.
import { createHash, createHmac } from "node:crypto";

const ALGORITHM = "TC3-HMAC-SHA256";
const TERMINATOR = "tc3_request";

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function hmac(key: string | Uint8Array, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

/** The UTC date (YYYY-MM-DD) of a unix timestamp in seconds: the date of the credential scope. */
export function utcDate(timestampSeconds: number): string {
  return new Date(timestampSeconds * 1000).toISOString().slice(0, 10);
}

/** `host` as signed: without the port. */
export function hostWithoutPort(host: string): string {
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
  const colon = host.indexOf(":");
  return colon === -1 ? host : host.slice(0, colon);
}

export interface CanonicalRequestInput {
  method: string;
  path: string;
  /** The raw query string as sent, without `?`; empty for POST. */
  query: string;
  /** The signed headers, in the order they are listed in SignedHeaders. */
  headers: ReadonlyArray<readonly [name: string, value: string]>;
  /** The body exactly as sent. */
  payload: string | Uint8Array;
}

export function canonicalRequest(input: CanonicalRequestInput): string {
  const headers = input.headers.map(([name, value]) => `${name.trim().toLowerCase()}:${value.trim().toLowerCase()}\n`);
  const signedHeaders = input.headers.map(([name]) => name.trim().toLowerCase()).join(";");
  return [input.method, input.path, input.query, headers.join(""), signedHeaders, sha256Hex(input.payload)].join("\n");
}

export function credentialScope(date: string, service: string): string {
  return `${date}/${service}/${TERMINATOR}`;
}

export function stringToSign(timestampSeconds: number, scope: string, canonical: string): string {
  return [ALGORITHM, String(timestampSeconds), scope, sha256Hex(canonical)].join("\n");
}

/** kDate: the first step of the key derivation, the only one that needs the secret key. */
export function dateKey(secretKey: string, date: string): Buffer {
  return hmac(`TC3${secretKey}`, date);
}

/** kSigning, derived from kDate. */
export function signingKey(kDate: Uint8Array, service: string): Buffer {
  return hmac(hmac(kDate, service), TERMINATOR);
}

export function signature(kSigning: Uint8Array, toSign: string): string {
  return createHmac("sha256", kSigning).update(toSign).digest("hex");
}

export interface ParsedAuthorization {
  secretId: string;
  date: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

const AUTHORIZATION_PATTERN =
  /^TC3-HMAC-SHA256 Credential=([^/\s,]+)\/(\d{4}-\d{2}-\d{2})\/([a-z0-9-]+)\/tc3_request, *SignedHeaders=([a-z0-9;-]+), *Signature=([0-9a-f]{64})$/;

/** The parts of an Authorization header, or undefined when it does not have the TC3 shape. */
export function parseAuthorization(header: string): ParsedAuthorization | undefined {
  const match = AUTHORIZATION_PATTERN.exec(header.trim());
  if (!match) return undefined;
  const [, secretId = "", date = "", service = "", signedHeaders = "", sig = ""] = match;
  return { secretId, date, service, signedHeaders: signedHeaders.split(";"), signature: sig };
}

export function authorization(secretId: string, scope: string, signedHeaders: readonly string[], sig: string): string {
  return `${ALGORITHM} Credential=${secretId}/${scope}, SignedHeaders=${signedHeaders.join(";")}, Signature=${sig}`;
}

export interface SignRequestInput {
  secretId: string;
  secretKey: string;
  token?: string;
  service: string;
  /** The host the request is signed for, e.g. `ecm.tencentcloudapi.com`. */
  host: string;
  action: string;
  version: string;
  timestampSeconds: number;
  payload: string;
  contentType?: string;
  /** Also sign `x-tc-action`, as newer documentation does. */
  signAction?: boolean;
}

/** The headers of a signed API 3.0 POST, built the way the official SDKs build them. */
export function signRequest(input: SignRequestInput): Record<string, string> {
  const contentType = input.contentType ?? "application/json";
  const signed: [string, string][] = [
    ["content-type", contentType],
    ["host", hostWithoutPort(input.host)],
  ];
  if (input.signAction === true) signed.push(["x-tc-action", input.action]);
  const date = utcDate(input.timestampSeconds);
  const scope = credentialScope(date, input.service);
  const canonical = canonicalRequest({ method: "POST", path: "/", query: "", headers: signed, payload: input.payload });
  const sig = signature(
    signingKey(dateKey(input.secretKey, date), input.service),
    stringToSign(input.timestampSeconds, scope, canonical),
  );
  const headers: Record<string, string> = {
    "Content-Type": contentType,
    Host: input.host,
    "X-TC-Action": input.action,
    "X-TC-Version": input.version,
    "X-TC-Timestamp": String(input.timestampSeconds),
    Authorization: authorization(
      input.secretId,
      scope,
      signed.map(([name]) => name),
      sig,
    ),
  };
  if (input.token !== undefined) headers["X-TC-Token"] = input.token;
  return headers;
}
