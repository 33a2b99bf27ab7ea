// Verifies a raw API request the way the Tencent Cloud gateway does, answering its AuthFailure codes.
// Checks run in this order: Authorization shape, timestamp, credential scope, SecretId, token, signature.
import { timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { ApiError } from "./error-codes.ts";
import {
  canonicalRequest,
  credentialScope,
  dateKey,
  hostWithoutPort,
  parseAuthorization,
  signature,
  signingKey,
  stringToSign,
  utcDate,
} from "./signature.ts";

export interface Credential {
  secretId: string;
  secretKey: string;
  /** Set for temporary credentials: requests must then carry it in X-TC-Token. */
  token?: string;
  /** Set for temporary credentials: not accepted from this moment on. */
  expiresAtMs?: number;
}

export interface RawRequest {
  method: string;
  path: string;
  query: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Allowed clock difference, either way, between X-TC-Timestamp and the emulator's clock. */
const MAX_SKEW_SECONDS = 300;

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/** The credential that signed the request; throws ApiError with the gateway's code otherwise. */
export function authenticate(
  request: RawRequest,
  credentials: ReadonlyMap<string, Credential>,
  nowMs: number,
  service: string,
): Credential {
  const raw = headerValue(request.headers, "authorization");
  const auth = raw === undefined ? undefined : parseAuthorization(raw);
  if (auth === undefined) {
    throw new ApiError(
      "AuthFailure.InvalidAuthorization",
      "The Authorization header is missing or does not follow the TC3-HMAC-SHA256 format.",
    );
  }
  if (!auth.signedHeaders.includes("content-type") || !auth.signedHeaders.includes("host")) {
    throw new ApiError("AuthFailure.InvalidAuthorization", "SignedHeaders must include content-type and host.");
  }

  const timestampText = headerValue(request.headers, "x-tc-timestamp");
  if (timestampText === undefined) {
    throw new ApiError("MissingParameter", "The request is missing a required parameter `Timestamp`.");
  }
  if (!/^\d{1,12}$/.test(timestampText)) {
    throw new ApiError("InvalidParameterValue.InvalidPublicParam", "`X-TC-Timestamp` must be unix time in seconds.");
  }
  const timestamp = Number(timestampText);
  const now = Math.floor(nowMs / 1000);
  if (Math.abs(now - timestamp) > MAX_SKEW_SECONDS) {
    throw new ApiError(
      "AuthFailure.SignatureExpire",
      `Signature expired. Timestamp ${timestamp} and server time ${now} differ by more than ${MAX_SKEW_SECONDS} seconds.`,
    );
  }
  if (auth.date !== utcDate(timestamp) || auth.service !== service) {
    throw new ApiError(
      "AuthFailure.SignatureFailure",
      `The credential scope must be ${credentialScope(utcDate(timestamp), service)}, the UTC date of X-TC-Timestamp and the service.`,
    );
  }

  const credential = credentials.get(auth.secretId);
  if (credential === undefined) throw new ApiError("AuthFailure.SecretIdNotFound");
  const token = headerValue(request.headers, "x-tc-token");
  if ((token === "" ? undefined : token) !== credential.token) throw new ApiError("AuthFailure.TokenFailure");
  if (credential.expiresAtMs !== undefined && nowMs >= credential.expiresAtMs) {
    throw new ApiError("AuthFailure.TokenFailure", "The temporary credentials have expired.");
  }

  const signedHeaders = auth.signedHeaders.map((name): [string, string] => {
    const value = headerValue(request.headers, name) ?? "";
    return [name, name === "host" ? hostWithoutPort(value) : value];
  });
  const canonical = canonicalRequest({
    method: request.method,
    path: request.path,
    query: request.query,
    headers: signedHeaders,
    payload: request.body,
  });
  const expected = signature(
    signingKey(dateKey(credential.secretKey, auth.date), service),
    stringToSign(timestamp, credentialScope(auth.date, service), canonical),
  );
  if (!timingSafeEqual(Buffer.from(expected), Buffer.from(auth.signature))) {
    throw new ApiError("AuthFailure.SignatureFailure");
  }
  return credential;
}
