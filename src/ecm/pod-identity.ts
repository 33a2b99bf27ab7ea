import { readFile } from "node:fs/promises";
import type { Agent } from "node:http";
import { Type, type Static } from "typebox";
import { decode } from "../api/decode.ts";
import type { EcmCredential } from "./credentials.ts";
import { agentFor } from "./endpoint.ts";
import { STS_SIGNING_HOST } from "./endpoint-url.ts";
import { tencentCall } from "./tencent-call.ts";

const STS_VERSION = "2018-08-13";
const EXCHANGE = "AssumeRoleWithWebIdentity";
const EXCHANGE_TIMEOUT_MS = 10_000;
/**
 * Credentials are exchanged again once less than this much of their life is left (a fifth of it, at most
 * 5 minutes): early enough that a call signed just before cannot reach ECM expired, and that a failed
 * exchange has time to be retried while the old credentials still serve.
 */
const REFRESH_FRACTION = 0.2;
const MAX_REFRESH_MARGIN_MS = 5 * 60_000;

/** The TKE_* variables TKE's pod identity webhook sets on the pod. */
export interface PodIdentityConfig {
  readonly region: string;
  readonly providerId: string;
  readonly roleArn: string;
  /** The projected service-account token, rotated by the kubelet: read again for every exchange. */
  readonly tokenFile: string;
}

interface Held {
  readonly credential: EcmCredential;
  readonly refreshAtMs: number;
  readonly expiresAtMs: number;
}

/** What STS answers an exchange with, as far as the operator uses it. */
const ExchangeResponseSchema = Type.Object({
  Credentials: Type.Object({
    TmpSecretId: Type.String({ minLength: 1 }),
    TmpSecretKey: Type.String({ minLength: 1 }),
    Token: Type.String(),
  }),
  ExpiredTime: Type.Number(),
});

/**
 * TKE pod identity: the pod's OIDC token exchanged with STS AssumeRoleWithWebIdentity for temporary
 * credentials, held until a fifth of their life is left. Concurrent callers share one exchange; a failed
 * one is never kept (the next call tries again) and, while the previous credentials are still valid,
 * they keep serving. The SDK's own OIDCRoleArnCredential refreshes only 600 ms before expiry and keeps a
 * failed exchange, hence this. The exchange is sent, unsigned as STS takes it, to `endpoint` (STS, a
 * proxy or an emulator) for host sts.tencentcloudapi.com, as ECM calls are.
 */
export class PodIdentityCredentials {
  private readonly config: PodIdentityConfig;
  private readonly endpoint: URL;
  private readonly agent: Agent;
  private readonly now: () => number;
  private held: Held | undefined;
  private exchange: Promise<Held> | undefined;

  constructor(config: PodIdentityConfig, endpoint: URL, now: () => number = Date.now) {
    this.config = config;
    this.now = now;
    this.agent = agentFor(endpoint);
    this.endpoint = endpoint;
  }

  async getCredential(): Promise<EcmCredential> {
    const now = this.now();
    const held = this.held;
    if (held !== undefined && now < held.refreshAtMs) return held.credential;
    this.exchange ??= this.assumeRole().finally(() => {
      this.exchange = undefined;
    });
    try {
      this.held = await this.exchange;
      return this.held.credential;
    } catch (error) {
      if (held !== undefined && this.now() < held.expiresAtMs) return held.credential;
      throw error;
    }
  }

  private async assumeRole(): Promise<Held> {
    let token: string;
    try {
      token = await readFile(this.config.tokenFile, "utf8");
    } catch (cause) {
      throw new Error(`TKE pod identity: cannot read the token file ${this.config.tokenFile}`, { cause });
    }
    const requestedAtMs = this.now();
    let response: unknown;
    try {
      // Unsigned: the web-identity token is the proof.
      response = await tencentCall({
        endpoint: this.endpoint,
        agent: this.agent,
        host: STS_SIGNING_HOST,
        action: EXCHANGE,
        version: STS_VERSION,
        region: this.config.region,
        params: {
          ProviderId: this.config.providerId,
          RoleArn: this.config.roleArn,
          RoleSessionName: `eni-operator-${requestedAtMs}`,
          WebIdentityToken: token,
        },
        signal: AbortSignal.timeout(EXCHANGE_TIMEOUT_MS),
      });
    } catch (cause) {
      throw new Error(`TKE pod identity: STS ${EXCHANGE} failed`, { cause });
    }
    let answer: Static<typeof ExchangeResponseSchema>;
    try {
      answer = decode(ExchangeResponseSchema, response, `TKE pod identity: STS ${EXCHANGE} response`);
    } catch (cause) {
      throw new Error(`TKE pod identity: STS ${EXCHANGE} answered without credentials and ExpiredTime`, { cause });
    }
    const { TmpSecretId: secretId, TmpSecretKey: secretKey, Token: sessionToken } = answer.Credentials;
    const expiresAtMs = answer.ExpiredTime * 1000;
    const margin = Math.min(MAX_REFRESH_MARGIN_MS, (expiresAtMs - requestedAtMs) * REFRESH_FRACTION);
    return {
      credential: { secretId, secretKey, token: sessionToken, account: this.config.roleArn },
      refreshAtMs: expiresAtMs - margin,
      expiresAtMs,
    };
  }
}
