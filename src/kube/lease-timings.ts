/** client-go's defaults: a 15 s lease, renewed within 10 s, tried every 2 s; a request gets 2.5 s. */
export const DEFAULT_TIMINGS = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  requestTimeoutMs: 2_500,
} as const;

/**
 * How long a write the fence let through may take. The fence allows a write up to the renew deadline
 * after the last renewal, and another replica can take over no earlier than the lease duration after
 * it: a write sent within the difference cannot reach the API server after a takeover. One still
 * waiting then (queued behind a connection that went silent, say) is aborted, which takes it out of the
 * pool's queue unsent.
 */
export const FENCED_SEND_MS = DEFAULT_TIMINGS.leaseDurationMs - DEFAULT_TIMINGS.renewDeadlineMs;
