import { createHash } from "node:crypto";
import type { Agent } from "node:http";
import pRetry from "p-retry";
import type { Static, TSchema } from "typebox";
import { DecodeError, decode } from "../api/decode.ts";
import { monotonic, type Clock } from "../api/clock.ts";
import { UNFENCED, checkFence, type Fence } from "../api/fence.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { ECM_SIGNING_HOST, ECM_VERSION, type EcmAction } from "./actions.ts";
import { CredentialsError, accountOf, type CredentialSource, type EcmCredential } from "./credentials.ts";
import { agentFor } from "./endpoint.ts";
import { EcmError, LOCAL_CODES } from "./errors.ts";
import { fenceConnections } from "./fenced-connections.ts";
import { RateLimiter, type Ticket } from "./rate-limiter.ts";
import { MalformedAnswerError, TencentCallError, tencentCall } from "./tencent-call.ts";
import { tupleKey } from "../api/tuple-key.ts";

/** A limiter unused this long, and idle, is dropped with its metric series: its account may be gone (a rotated key). */
export const LIMITER_IDLE_MS = 10 * 60_000;

export interface EcmClientOptions {
  readonly endpoint: URL;
  readonly qps: number;
  readonly burst: number;
  readonly timeoutMs: number;
  /** Retries in place for transport faults only; everything longer goes back to the work queue. */
  readonly transportRetries: number;
  /** The first transport retry waits this long (then doubling, at most 2 s); default 200 ms. */
  readonly transportRetryMs?: number;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Checked as the last step before a request leaves (after its credential, on an open connection); default: always allowed. */
  readonly fence?: Fence;
  /** The limiters' clock, monotonic by default; tests give one that stands still. */
  readonly now?: Clock;
}

/**
 * Signs (TC3-HMAC-SHA256) and sends ECM calls, with one limiter per (account, action): ECM's
 * quota is per account and per action, so accounts never slow each other down. The account is the
 * SecretId a credential resolves to. Every answer is decoded against its schema. Throws EcmError for
 * every failure, with ECM's code or a local Transport.* / Credentials.* code.
 */
export class EcmClient {
  private readonly agent: Agent;
  private readonly limiters = new Map<
    string,
    { limiter: RateLimiter; account: string; action: EcmAction; usedAt: number }
  >();
  private lastSweep: number;
  private readonly unknownCodesLogged = new Set<string>();
  private readonly options: EcmClientOptions;

  constructor(options: EcmClientOptions) {
    this.options = options;
    this.agent = fenceConnections(agentFor(options.endpoint), options.fence ?? UNFENCED);
    this.lastSweep = this.now();
  }

  /** The credential a source holds now; a failure to read it is its CredentialsError code, or Credentials.Unavailable. */
  async credential(action: EcmAction, source: CredentialSource): Promise<EcmCredential> {
    try {
      return await source.getCredential();
    } catch (cause) {
      const detail = cause instanceof Error ? cause.message : String(cause);
      const code = cause instanceof CredentialsError ? cause.code : LOCAL_CODES.credentialsUnavailable;
      throw new EcmError(action, code, detail, "", { cause });
    }
  }

  /** Takes a place in the line of one account's action, for a caller that would rather come back than wait. */
  reserve(action: EcmAction, account: string): Ticket {
    return this.limiter(action, account).reserve();
  }

  /** Makes the call, with the caller's ticket if it took one; retried in place only for transport faults. */
  async call<S extends TSchema>(
    action: EcmAction,
    params: Readonly<Record<string, unknown>>,
    credential: EcmCredential,
    schema: S,
    ticket?: Ticket,
  ): Promise<Static<S>> {
    let unused = ticket;
    const { transportRetryMs = 200 } = this.options;
    return pRetry(
      () => {
        const attemptTicket = unused;
        unused = undefined;
        return this.attempt(action, params, credential, schema, attemptTicket);
      },
      {
        retries: this.options.transportRetries,
        minTimeout: transportRetryMs,
        maxTimeout: 10 * transportRetryMs,
        randomize: true,
        shouldRetry: ({ error }) => error instanceof EcmError && error.code.startsWith("Transport."),
      },
    );
  }

  private async attempt<S extends TSchema>(
    action: EcmAction,
    params: Readonly<Record<string, unknown>>,
    credential: EcmCredential,
    schema: S,
    ticket: Ticket | undefined,
  ): Promise<Static<S>> {
    const { metrics } = this.options;
    const account = accountOf(credential);
    const limiter = this.limiter(action, account);
    await limiter.acquire(ticket);
    const fence = this.options.fence ?? UNFENCED;
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const stopTimer = metrics.ecmLatency.startTimer({ action });
    try {
      // The last check before the call is signed and sent, after every wait (a new connection is checked
      // again once it is open).
      checkFence(fence, action);
      const response = await tencentCall({
        endpoint: this.options.endpoint,
        agent: this.agent,
        host: ECM_SIGNING_HOST,
        action,
        version: ECM_VERSION,
        params,
        credential,
        signal: timeout,
      });
      const body = decode(schema, response, `${action} response`);
      metrics.ecmRequests.inc({ action, code: "Success" });
      return body;
    } catch (cause) {
      // Refused by the fence, at the last check or on opening the connection: nothing was sent.
      checkFence(fence, action);
      const error = toEcmError(action, cause, timeout.aborted);
      metrics.ecmRequests.inc({ action, code: error.code });
      this.noteError(limiter, error);
      throw error;
    } finally {
      stopTimer();
      this.reportAllowance(action, account, limiter);
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

  /**
   * Per action, the lowest allowance of any account (what a throttled account is down to), and per
   * (account, action) under a digest of the SecretId, so that the id itself never reaches metrics.
   */
  private reportAllowance(action: EcmAction, account: string, limiter: RateLimiter): void {
    const { metrics } = this.options;
    metrics.ecmAccountLimiterAllowance.set({ account: accountLabel(account), action }, limiter.currentAllowance);
    let lowest = limiter.currentAllowance;
    for (const other of this.limiters.values()) {
      if (other.action === action) lowest = Math.min(lowest, other.limiter.currentAllowance);
    }
    metrics.ecmLimiterAllowance.set({ action }, lowest);
  }

  private limiter(action: EcmAction, account: string): RateLimiter {
    const now = this.now();
    this.evictIdle(now);
    const key = tupleKey(account, action);
    let entry = this.limiters.get(key);
    if (!entry) {
      const limiter = new RateLimiter({
        qps: this.options.qps,
        burst: this.options.burst,
        ...(this.options.now ? { now: this.options.now } : {}),
      });
      entry = { limiter, account, action, usedAt: now };
      this.limiters.set(key, entry);
    }
    entry.usedAt = now;
    return entry.limiter;
  }

  /** Drops, at most once per LIMITER_IDLE_MS, the limiters idle that long, and their per-account series. */
  private evictIdle(now: number): void {
    if (now - this.lastSweep < LIMITER_IDLE_MS) return;
    this.lastSweep = now;
    for (const [key, { limiter, account, action, usedAt }] of this.limiters) {
      if (now - usedAt < LIMITER_IDLE_MS || !limiter.idle) continue;
      this.limiters.delete(key);
      this.options.metrics.ecmAccountLimiterAllowance.remove({ account: accountLabel(account), action });
    }
  }

  private now(): number {
    return (this.options.now ?? monotonic)();
  }
}

/** A short digest naming an account in metrics without its SecretId. */
export function accountLabel(secretId: string): string {
  return createHash("sha256").update(secretId).digest("hex").slice(0, 12);
}

function toEcmError(action: EcmAction, cause: unknown, timedOut: boolean): EcmError {
  if (cause instanceof EcmError) return cause;
  if (cause instanceof DecodeError || cause instanceof MalformedAnswerError) {
    return new EcmError(action, LOCAL_CODES.malformed, cause.message, "", { cause });
  }
  if (cause instanceof TencentCallError) {
    if (cause.code !== undefined) return new EcmError(action, cause.code, cause.message, cause.requestId, { cause });
    return new EcmError(action, LOCAL_CODES.httpStatus, cause.message, "", { cause });
  }
  // Everything else failed on the way: the connection, or the call's deadline.
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new EcmError(action, timedOut ? LOCAL_CODES.timeout : LOCAL_CODES.network, detail, "", { cause });
}
