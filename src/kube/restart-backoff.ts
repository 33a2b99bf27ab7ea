/** First wait after a failed list or watch, doubled per consecutive failure up to the cap. */
export const RESTART_BASE_MS = 1_000;
export const RESTART_MAX_MS = 30_000;
/** ±20%: replicas that lost the API server together do not all come back in the same instant. */
const JITTER = 0.2;

/**
 * How long an informer waits before its next list or watch after `failures` consecutive failures (1 for
 * the first): 1 s, 2 s, 4 s ... capped at 30 s, jittered by `random()` in [0, 1); 0.5 means no jitter.
 */
export function restartDelayMs(failures: number, random: () => number): number {
  const exponent = Math.max(0, failures - 1);
  const capped = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** Math.min(exponent, 30));
  return Math.round(capped * (1 - JITTER + 2 * JITTER * random()));
}
