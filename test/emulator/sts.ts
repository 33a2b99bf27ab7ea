// STS AssumeRoleWithWebIdentity, the exchange TKE pod identity makes: a service-account token (the
// content of the pod's token file) for temporary credentials that ECM then accepts, until they expire,
// only with their token in X-TC-Token. Unsigned (Authorization: SKIP), as STS takes it.
import { randomBytes } from "node:crypto";
import type { Credential } from "./authenticate.ts";
import { ApiError } from "./error-codes.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "./json.ts";

export const STS_ACTION = "AssumeRoleWithWebIdentity";
export const STS_VERSION = "2018-08-13";
export const STS_HOST = "sts.tencentcloudapi.com";

/** What the emulated STS trusts: one identity provider, one role, one token. */
export interface WebIdentity {
  providerId: string;
  roleArn: string;
  /** The expected content of the pod's token file. */
  token: string;
}

/** Temporary credentials as issued, with the moment ECM stops accepting them. */
export interface IssuedCredential extends Credential {
  token: string;
  expiresAtMs: number;
}

const text = (params: JsonObject, name: string): string => {
  const value = params[name];
  if (typeof value !== "string" || value === "") {
    throw new ApiError("MissingParameter", `The request is missing a required parameter \`${name}\`.`);
  }
  return value;
};

const random = (bytes: number): string => randomBytes(bytes).toString("base64url");

/** Checks the exchange and issues credentials valid for `lifetimeSeconds`; throws ApiError as STS does. */
export function assumeRoleWithWebIdentity(
  params: JsonValue | undefined,
  identity: WebIdentity | undefined,
  lifetimeSeconds: number,
  nowMs: number,
): { issued: IssuedCredential; fields: JsonObject } {
  if (!isJsonObject(params)) throw new ApiError("InvalidParameter.ParamError", "The body must be a JSON object.");
  const providerId = text(params, "ProviderId");
  const roleArn = text(params, "RoleArn");
  const token = text(params, "WebIdentityToken");
  text(params, "RoleSessionName");
  if (identity === undefined || providerId !== identity.providerId) {
    throw new ApiError("InvalidParameter.ParamError", "The identity provider does not exist.");
  }
  if (roleArn !== identity.roleArn) throw new ApiError("ResourceNotFound.RoleNotExist", "The role does not exist.");
  // Never echoes the token: it is a secret.
  if (token !== identity.token) throw new ApiError("InvalidParameter.WebIdentityTokenError", "The token is invalid.");
  const expiresAtMs = nowMs + lifetimeSeconds * 1000;
  const issued: IssuedCredential = {
    secretId: `AKIDtmp${random(18)}`,
    secretKey: random(24),
    token: random(48),
    expiresAtMs,
  };
  return {
    issued,
    fields: {
      Credentials: { TmpSecretId: issued.secretId, TmpSecretKey: issued.secretKey, Token: issued.token },
      ExpiredTime: Math.floor(expiresAtMs / 1000),
      Expiration: new Date(expiresAtMs).toISOString().replace(/\.\d{3}Z$/, "Z"),
    },
  };
}
