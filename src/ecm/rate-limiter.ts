/**
 * A per-action limiter shared by every worker: at most `burst` calls start in any window of
 * `burst / qps` seconds (plus a small margin for jitter between our clock and the server's). A sliding
 * window, unlike a token bucket that refills while it is drained, never puts more than the quota into
 * one second of the server's clock, so a burst of work runs at the quota and never provokes
 * RequestLimitExceeded by itself.
 *
 * Slots are handed out in order as reservations, like golang.org/x/time/rate's Reserve: a caller that
 * would wait long can give its worker back and return at its slot. When ECM throttles anyway (another
 * client shares the account's quota), `throttled()` halves the allowance, pauses for one window and
 * voids the reservations not yet used; each window without throttling wins back a tenth of the burst.
 */
export interface RateLimiterOptions {
  readonly qps: number;
  readonly burst: number;
  /** Added to the window to absorb jitter between our clock and the server's. */
  readonly marginMs?: number;
  readonly now?: () => number;
}

export interface LimiterState {
  /** Start times of the calls in the current window and of the reserved ones, ascending. */
  readonly starts: readonly number[];
  readonly allowance: number;
  readonly pausedUntil: number;
}

/**
 * The earliest start, not before `now`, for one more call: after every slot already handed out, after
 * any pause, and never the (allowance + 1)-th start within one window. Pure, tested without timers.
 */
export function nextSlot(state: LimiterState, windowMs: number, now: number): number {
  const { starts, allowance, pausedUntil } = state;
  const last = starts.at(-1) ?? now;
  const windowFull = starts.length >= allowance ? (starts[starts.length - allowance] ?? now) + windowMs : now;
  return Math.max(now, pausedUntil, last, windowFull);
}

export interface Reservation {
  /** When the call may start (ms since the epoch). */
  readonly at: number;
  /** Gives the slot back, when the call will not be made after all. */
  cancel(): void;
}

interface Slot extends Reservation {
  readonly epoch: number;
}

export class RateLimiter {
  readonly windowMs: number;
  private readonly burst: number;
  private readonly now: () => number;
  private starts: number[] = [];
  private allowance: number;
  private pausedUntil = 0;
  private lastRecovery: number;
  /** Bumped by throttled(): reservations of an older epoch must queue again. */
  private epoch = 0;

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

  /** Takes the next free slot. */
  reserve(): Reservation {
    const now = this.now();
    this.recover(now);
    this.starts = this.starts.filter((t) => t > now - this.windowMs);
    const at = nextSlot(
      { starts: this.starts, allowance: this.allowance, pausedUntil: this.pausedUntil },
      this.windowMs,
      now,
    );
    this.starts.push(at);
    const epoch = this.epoch;
    const slot: Slot = {
      at,
      epoch,
      cancel: () => {
        const index = this.starts.indexOf(at);
        if (epoch === this.epoch && at > this.now() && index >= 0) this.starts.splice(index, 1);
      },
    };
    return slot;
  }

  /** Resolves when the call may start: at the reserved slot, or the next free one. */
  async acquire(reservation: Reservation = this.reserve()): Promise<void> {
    let slot = reservation as Slot;
    for (;;) {
      if (slot.epoch !== this.epoch) slot = this.reserve() as Slot;
      const wait = slot.at - this.now();
      if (wait <= 0) return;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** ECM answered RequestLimitExceeded: back off multiplicatively. */
  throttled(): void {
    const now = this.now();
    this.allowance = Math.max(1, Math.floor(this.allowance / 2));
    this.pausedUntil = now + this.windowMs;
    this.lastRecovery = now;
    this.epoch += 1;
    this.starts = this.starts.filter((t) => t <= now);
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
}
