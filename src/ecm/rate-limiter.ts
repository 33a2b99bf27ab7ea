import { monotonic, type Clock } from "../api/clock.ts";

/**
 * A per-action limiter shared by every worker: at most `burst` calls start in any window of
 * `burst / qps` seconds (plus a small margin for jitter between our clock and the server's). A sliding
 * window, unlike a token bucket that refills while it is drained, never puts more than the quota into
 * one second of the server's clock, so a burst of work runs at the quota and never provokes
 * RequestLimitExceeded by itself.
 *
 * Callers take tickets in order, like golang.org/x/time/rate's Reserve: a ticket says when its call
 * should start, so a caller that would wait long can give its worker back and return then. A ticket's
 * time is worked out whenever it is read, from its place in line and the allowance then: tickets taken
 * while the allowance was low move forward as it recovers. The window is enforced on the calls
 * actually started, when they start, so a ticket used late never lets two windows' worth of calls
 * bunch together. When ECM throttles anyway (another client shares the
 * account's quota), `throttled()` halves the allowance and pauses for one window; each window without
 * throttling wins back a tenth of the burst.
 */
export interface RateLimiterOptions {
  readonly qps: number;
  readonly burst: number;
  /** Added to the window to absorb jitter between our clock and the server's. */
  readonly marginMs?: number;
  /** Monotonic by default: a stepped wall clock must neither stall nor release a line of calls. */
  readonly now?: Clock;
}

export interface LimiterState {
  /** Start times, ascending: of calls in the current window, and (for estimates) of tickets. */
  readonly starts: readonly number[];
  readonly allowance: number;
  readonly pausedUntil: number;
}

/**
 * The earliest start, not before `now`, for one more call: not before the last start, not during a
 * pause, and never the (allowance + 1)-th start within one window. Pure, tested without timers.
 */
export function nextSlot(state: LimiterState, windowMs: number, now: number): number {
  const { starts, allowance, pausedUntil } = state;
  const last = starts.at(-1) ?? now;
  const windowFull = starts.length >= allowance ? (starts[starts.length - allowance] ?? now) + windowMs : now;
  return Math.max(now, pausedUntil, last, windowFull);
}

export interface Ticket {
  /** When the call is expected to be allowed to start (ms on the limiter's clock), as things stand now. */
  readonly at: number;
  /** Whether the line's allowance is below its burst, winning it back: `at` then moves forward. */
  readonly recovering: boolean;
  /** Gives the place back, when the call will not be made after all. */
  cancel(): void;
}

/** Tickets neither read, used nor cancelled for this long stop counting: their holder is gone. */
export const TICKET_HORIZON_MS = 60_000;

/** A place in line; `seenAt` is when its holder last read its time. */
interface Place {
  seenAt: number;
}

export class RateLimiter {
  readonly windowMs: number;
  private readonly burst: number;
  private readonly now: Clock;
  /** Start times of the calls made in the current window, ascending. */
  private started: number[] = [];
  /** Outstanding places, in the order they were taken. */
  private places: Place[] = [];
  private allowance: number;
  private pausedUntil = 0;
  private lastRecovery: number;

  constructor(options: RateLimiterOptions) {
    if (!(options.qps > 0) || !(options.burst >= 1)) {
      throw new Error(`rate limiter needs qps > 0 and burst >= 1, got qps=${options.qps} burst=${options.burst}`);
    }
    this.burst = Math.floor(options.burst);
    this.windowMs = (this.burst / options.qps) * 1000 + (options.marginMs ?? 25);
    this.now = options.now ?? monotonic;
    this.allowance = this.burst;
    this.lastRecovery = this.now();
  }

  /** Takes a place in line: the ticket's time is after every call started or promised before it. */
  reserve(): Ticket {
    const place: Place = { seenAt: this.prune() };
    this.places.push(place);
    const slotOf = (p: Place) => this.slotOf(p);
    const recovering = () => this.currentAllowance < this.burst;
    return {
      get at() {
        return slotOf(place);
      },
      get recovering() {
        return recovering();
      },
      cancel: () => {
        this.places = this.places.filter((p) => p !== place);
      },
    };
  }

  /** The slot of a place: after the calls started and the places ahead of it, at the allowance now. */
  private slotOf(place: Place): number {
    const now = this.prune();
    place.seenAt = now;
    const starts = [...this.started];
    const state = { starts, allowance: this.allowance, pausedUntil: this.pausedUntil };
    for (const ahead of this.places) {
      const slot = nextSlot(state, this.windowMs, now);
      if (ahead === place) return slot;
      starts.push(slot);
    }
    return nextSlot(state, this.windowMs, now);
  }

  /** Resolves when the call may start: not before its ticket, and only while the window has room. */
  async acquire(ticket: Ticket = this.reserve()): Promise<void> {
    for (;;) {
      const allowed = nextSlot(
        { starts: this.started, allowance: this.allowance, pausedUntil: this.pausedUntil },
        this.windowMs,
        this.prune(),
      );
      const due = Math.max(ticket.at, allowed);
      // Read after the ticket: a ticket due "now" is due at its own reading, which this one is not before.
      const now = this.now();
      const wait = due - now;
      if (wait <= 0) {
        this.started.push(now);
        ticket.cancel();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** ECM answered RequestLimitExceeded: back off multiplicatively. */
  throttled(): void {
    const now = this.now();
    this.allowance = Math.max(1, Math.floor(this.allowance / 2));
    this.pausedUntil = now + this.windowMs;
    this.lastRecovery = now;
  }

  /**
   * Whether the limiter holds nothing worth keeping: no place in line, no call in the window, its whole
   * allowance and no pause. A new limiter would behave the same, so an idle one may be dropped.
   */
  get idle(): boolean {
    const now = this.prune();
    return (
      this.places.length === 0 && this.started.length === 0 && this.allowance >= this.burst && this.pausedUntil <= now
    );
  }

  /** The current allowance per window, for metrics and tests. */
  get currentAllowance(): number {
    this.recover(this.now());
    return this.allowance;
  }

  /** Drops what no longer matters and returns the time. */
  private prune(): number {
    const now = this.now();
    this.recover(now);
    this.started = this.started.filter((t) => t > now - this.windowMs);
    if (this.places.some((p) => p.seenAt < now - TICKET_HORIZON_MS)) {
      this.places = this.places.filter((p) => p.seenAt >= now - TICKET_HORIZON_MS);
    }
    return now;
  }

  private recover(now: number): void {
    const windows = Math.floor((now - this.lastRecovery) / this.windowMs);
    if (windows <= 0 || this.allowance >= this.burst) return;
    this.allowance = Math.min(this.burst, this.allowance + windows * Math.max(1, Math.ceil(this.burst / 10)));
    this.lastRecovery += windows * this.windowMs;
  }
}
