/**
 * A per-action limiter shared by every worker: at most `burst` calls in any window of `burst / qps`
 * seconds (plus a small margin for network jitter). A sliding window, unlike a token bucket whose
 * bucket refills while it is drained, can never put more than the quota into one second of the
 * server's clock, so a burst of work runs at the quota and never provokes RequestLimitExceeded itself.
 *
 * When ECM throttles anyway (another client shares the account's quota), `throttled()` halves the
 * allowance and pauses for one window; each window that passes without throttling wins back a tenth
 * of the configured burst.
 */
export interface RateLimiterOptions {
  readonly qps: number;
  readonly burst: number;
  /** Added to the window to absorb jitter between our clock and the server's. */
  readonly marginMs?: number;
  readonly now?: () => number;
}

export interface LimiterState {
  /** Start times of the calls inside the current window, oldest first. */
  readonly starts: readonly number[];
  readonly allowance: number;
  readonly pausedUntil: number;
}

/** Milliseconds to wait before the next call may start; 0 means now. Pure, tested without timers. */
export function delayBeforeNextCall(state: LimiterState, windowMs: number, now: number): number {
  const pause = Math.max(0, state.pausedUntil - now);
  const inWindow = state.starts.filter((t) => t > now - windowMs);
  if (inWindow.length < state.allowance) return pause;
  const oldestThatMustExpire = inWindow[inWindow.length - state.allowance];
  return Math.max(pause, (oldestThatMustExpire ?? now) + windowMs - now);
}

export class RateLimiter {
  readonly windowMs: number;
  private readonly burst: number;
  private readonly now: () => number;
  private starts: number[] = [];
  private allowance: number;
  private pausedUntil = 0;
  private lastRecovery: number;
  private tail: Promise<void> = Promise.resolve();

  constructor(options: RateLimiterOptions) {
    if (!(options.qps > 0) || !(options.burst >= 1)) {
      throw new Error(`rate limiter needs qps > 0 and burst >= 1, got qps=${options.qps} burst=${options.burst}`);
    }
    this.burst = Math.floor(options.burst);
    this.windowMs = (this.burst / options.qps) * 1000 + (options.marginMs ?? 25);
    this.now = options.now ?? Date.now;
    this.allowance = this.burst;
    this.lastRecovery = this.now();
  }

  /** Resolves when a call may start; callers are served in the order they asked. */
  acquire(): Promise<void> {
    const turn = this.tail.then(() => this.waitForSlot());
    this.tail = turn;
    return turn;
  }

  /** ECM answered RequestLimitExceeded: back off multiplicatively. */
  throttled(): void {
    const now = this.now();
    this.allowance = Math.max(1, Math.floor(this.allowance / 2));
    this.pausedUntil = now + this.windowMs;
    this.lastRecovery = now;
  }

  /** The current allowance per window, for metrics and tests. */
  get currentAllowance(): number {
    this.recover(this.now());
    return this.allowance;
  }

  private recover(now: number): void {
    const windows = Math.floor((now - this.lastRecovery) / this.windowMs);
    if (windows <= 0 || this.allowance >= this.burst) return;
    this.allowance = Math.min(this.burst, this.allowance + windows * Math.max(1, Math.ceil(this.burst / 10)));
    this.lastRecovery += windows * this.windowMs;
  }

  private async waitForSlot(): Promise<void> {
    for (;;) {
      const now = this.now();
      this.recover(now);
      this.starts = this.starts.filter((t) => t > now - this.windowMs);
      const delay = delayBeforeNextCall(
        { starts: this.starts, allowance: this.allowance, pausedUntil: this.pausedUntil },
        this.windowMs,
        now,
      );
      if (delay <= 0) {
        this.starts.push(now);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
