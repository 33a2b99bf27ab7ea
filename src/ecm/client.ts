import type { Agent } from "node:http";
import pRetry from "p-retry";
import { CommonClient } from "tencentcloud-sdk-nodejs-common";
import sdkException from "tencentcloud-sdk-nodejs-common/tencentcloud/common/exception/tencent_cloud_sdk_exception.js";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { ECM_ACTIONS, ECM_SIGNING_HOST, ECM_VERSION, type EcmAction } from "./actions.ts";
import { CredentialsError, type CredentialSource, type EcmCredential } from "./credentials.ts";
import { agentFor } from "./endpoint.ts";
import { EcmError, LOCAL_CODES } from "./errors.ts";
import { RateLimiter, type Ticket } from "./rate-limiter.ts";

export interface EcmClientOptions {
  readonly endpoint: URL;
  readonly qps: number;
  readonly burst: number;
  readonly timeoutMs: number;
  /** Retries in place for transport faults only; everything longer goes back to the work queue. */
  readonly transportRetries: number;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

export type EcmResponse = Record<string, unknown> & { RequestId: string };

/**
 * Signs and sends ECM calls through the official SDK, one shared limiter per action. Throws EcmError
 * for every failure, with ECM's code or a local Transport.* code.
 */
export class EcmClient {
  private readonly agent: Agent;
  private readonly limiters: ReadonlyMap<EcmAction, RateLimiter>;
  private readonly unknownCodesLogged = new Set<string>();

  private readonly options: EcmClientOptions;

  constructor(options: EcmClientOptions) {
    this.options = options;
    this.agent = agentFor(options.endpoint);
    this.limiters = new Map(
      ECM_ACTIONS.map((action) => [action, new RateLimiter({ qps: options.qps, burst: options.burst })]),
    );
  }

  /** Takes a place in the action's line, for a caller that would rather come back than wait for its turn. */
  reserve(action: EcmAction): Ticket {
    return this.limiter(action).reserve();
  }

  /** Makes the call, with the caller's ticket if it took one; retried in place only for transport faults. */
  async call(
    action: EcmAction,
    params: Record<string, unknown>,
    source: CredentialSource,
    ticket?: Ticket,
  ): Promise<EcmResponse> {
    let unused = ticket;
    const credential = await this.credentialFrom(action, source).catch((error: unknown) => {
      unused?.cancel();
      throw error;
    });
    return pRetry(
      () => {
        const attemptTicket = unused;
        unused = undefined;
        return this.attempt(action, params, credential, attemptTicket);
      },
      {
        retries: this.options.transportRetries,
        minTimeout: 200,
        maxTimeout: 2000,
        randomize: true,
        shouldRetry: ({ error }) => error instanceof EcmError && error.code.startsWith("Transport."),
      },
    );
  }

  private async credentialFrom(action: EcmAction, source: CredentialSource): Promise<EcmCredential> {
    try {
      return await source.getCredential();
    } catch (cause) {
      const detail = cause instanceof Error ? cause.message : String(cause);
      const code = cause instanceof CredentialsError ? cause.code : LOCAL_CODES.credentialsUnavailable;
      throw new EcmError(action, code, detail, "", { cause });
    }
  }

  private async attempt(
    action: EcmAction,
    params: Record<string, unknown>,
    credential: EcmCredential,
    ticket: Ticket | undefined,
  ): Promise<EcmResponse> {
    const limiter = this.limiter(action);
    await limiter.acquire(ticket);
    const client = new CommonClient(ECM_SIGNING_HOST, ECM_VERSION, {
      credential,
      profile: {
        httpProfile: {
          protocol: `${this.options.endpoint.protocol}//`,
          agent: this.agent,
          reqTimeout: Math.ceil(this.options.timeoutMs / 1000),
        },
      },
    });
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const stopTimer = this.options.metrics.ecmLatency.startTimer({ action });
    try {
      const response: unknown = await client.request(action, params, { signal: timeout });
      const body = asResponse(action, response);
      this.options.metrics.ecmRequests.inc({ action, code: "Success" });
      return body;
    } catch (cause) {
      const error = toEcmError(action, cause, timeout.aborted);
      this.options.metrics.ecmRequests.inc({ action, code: error.code });
      this.noteError(limiter, error);
      throw error;
    } finally {
      stopTimer();
      this.options.metrics.ecmLimiterAllowance.set({ action }, limiter.currentAllowance);
    }
  }

  private noteError(limiter: RateLimiter, error: EcmError): void {
    const { class: errorClass, known } = error.classification;
    if (errorClass === "Throttled") limiter.throttled();
    if (!known && !this.unknownCodesLogged.has(error.code)) {
      this.unknownCodesLogged.add(error.code);
      this.options.logger.warn(
        { action: error.action, code: error.code, requestId: error.requestId },
        "unknown ECM error code, handled as a service fault",
      );
    }
  }

  private limiter(action: EcmAction): RateLimiter {
    const limiter = this.limiters.get(action);
    if (!limiter) throw new Error(`no limiter for ECM action ${action}`);
    return limiter;
  }
}

function asResponse(action: EcmAction, response: unknown): EcmResponse {
  if (typeof response === "object" && response !== null && "RequestId" in response) {
    const body = response as Record<string, unknown>;
    if (typeof body["RequestId"] === "string") return body as EcmResponse;
  }
  throw new EcmError(action, LOCAL_CODES.malformed, "the response has no RequestId", "");
}

// The exception module is CommonJS with a default export: Node hands ESM importers its exports object.
const TencentCloudSDKHttpException = sdkException.default;

function toEcmError(action: EcmAction, cause: unknown, timedOut: boolean): EcmError {
  if (cause instanceof EcmError) return cause;
  if (cause instanceof TencentCloudSDKHttpException) {
    if (cause.code) return new EcmError(action, cause.code, cause.message, cause.requestId, { cause });
    if (cause.httpCode !== undefined) {
      return new EcmError(action, LOCAL_CODES.httpStatus, `HTTP ${cause.httpCode} ${cause.message}`, "", { cause });
    }
    const code = timedOut ? LOCAL_CODES.timeout : LOCAL_CODES.network;
    return new EcmError(action, code, cause.message, "", { cause });
  }
  // The SDK lets a 200 answer whose body is not an ECM envelope escape as a SyntaxError or TypeError.
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new EcmError(action, LOCAL_CODES.malformed, detail, "", { cause });
}
