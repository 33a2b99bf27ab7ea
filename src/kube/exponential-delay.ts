/**
 * The one backoff formula of the operator: `baseMs` doubled per consecutive failure after the first,
 * capped at `capMs`, spread by ±20% with `jitter` in [0, 1) (0.5: none) so that many waiters do not
 * come back in the same instant.
 */
export function exponentialDelayMs(baseMs: number, capMs: number, failures: number, jitter: number): number {
  const exponent = Math.max(0, Math.min(failures - 1, 30));
  return Math.round(Math.min(capMs, baseMs * 2 ** exponent) * (0.8 + 0.4 * jitter));
}
