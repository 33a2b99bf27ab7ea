import { exponentialDelayMs } from "./exponential-delay.ts";

/** First wait after a failed list or watch, doubled per consecutive failure up to the cap. */
export const RESTART_BASE_MS = 1_000;
export const RESTART_MAX_MS = 30_000;
/**
 * How long an informer waits before its next list or watch after `failures` consecutive failures (1 for
 * the first): 1 s, 2 s, 4 s ... capped at 30 s, jittered by `random()` in [0, 1); 0.5 means no jitter.
 */
export function restartDelayMs(failures: number, random: () => number): number {
  return exponentialDelayMs(RESTART_BASE_MS, RESTART_MAX_MS, failures, random());
}
