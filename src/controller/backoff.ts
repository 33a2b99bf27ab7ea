import type { ErrorClass } from "../ecm/errors.ts";
import { exponentialDelayMs } from "../kube/exponential-delay.ts";

/** ECM error classes that are retried, plus failures of the Kubernetes API itself. */
export type RetryPolicyName = Exclude<ErrorClass, "InvalidRequest"> | "KubernetesApi";

/** How long to wait before trying again after a failure of each class: exponential, capped, jittered. */
export const RETRY_POLICY: Readonly<Record<RetryPolicyName, { baseMs: number; capMs: number }>> = {
  AlreadyDone: { baseMs: 0, capMs: 0 },
  InTransition: { baseMs: 2_000, capMs: 30_000 },
  Throttled: { baseMs: 1_000, capMs: 10_000 },
  ServiceFault: { baseMs: 5_000, capMs: 300_000 },
  Credentials: { baseMs: 30_000, capMs: 300_000 },
  KubernetesApi: { baseMs: 200, capMs: 60_000 },
};

/**
 * Delay before attempt `failures + 1`, given `failures` consecutive failures (>= 1) of one class.
 * `jitter` in [0, 1) spreads retries by +-20% so that many resources do not retry in lockstep.
 * InvalidRequest has no delay: it is not retried until the spec changes.
 */
export function retryDelayMs(policy: RetryPolicyName, failures: number, jitter: number): number {
  const { baseMs, capMs } = RETRY_POLICY[policy];
  return exponentialDelayMs(baseMs, capMs, failures, jitter);
}

export const FIRST_POLL_MS = 300;
export const MAX_POLL_MS = 15_000;

/**
 * Confirmation polls after a call ECM accepted: quick at first, then doubling (0.3 s, 0.6 s, 1.2 s, 2.4 s ...)
 * because waiting as long again as already waited doubles the interval.
 */
export function confirmPollDelayMs(sinceCallMs: number): number {
  return Math.min(MAX_POLL_MS, Math.max(FIRST_POLL_MS, sinceCallMs));
}

/**
 * Polls of a transition the operator did not start (another actor's PENDING or DELETING, say): 1 s,
 * then as long again as it has lasted (doubling), up to the drift interval, so an interface stuck
 * there is looked at once per drift interval (5 minutes by default) rather than every second.
 * `sinceMs`: how long it has been seen.
 */
export function foreignTransitionPollMs(sinceMs: number, syncPeriodMs = SETTLED_RECHECK_MS): number {
  return Math.min(syncPeriodMs, Math.max(FOREIGN_TRANSITION_FIRST_POLL_MS, sinceMs));
}

export const FOREIGN_TRANSITION_FIRST_POLL_MS = 1_000;

/** How long a call ECM accepted is given to show in Describe before it is treated as lost and made again. */
export const CONFIRM_TIMEOUT_MS = 120_000;

/** How often a settled resource is looked at again, so that drift in ECM is corrected. */
export const SETTLED_RECHECK_MS = 300_000;

/** How often a resource attached to another instance is looked at again. */
export const ATTACHED_ELSEWHERE_RECHECK_MS = 60_000;
