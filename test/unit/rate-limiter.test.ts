import { describe, expect, it, vi } from "vitest";
import { RateLimiter, TICKET_HORIZON_MS, nextSlot } from "../../src/ecm/rate-limiter.ts";

describe("the per-action rate limiter", () => {
  it("lets a full window of calls start at once, then waits for the oldest to leave the window", () => {
    const starts = Array.from({ length: 20 }, (_, i) => 1000 + i);
    expect(nextSlot({ starts: starts.slice(0, 19), allowance: 20, pausedUntil: 0 }, 1025, 1100)).toBe(1100);
    expect(nextSlot({ starts, allowance: 20, pausedUntil: 0 }, 1025, 1100)).toBe(2025);
  });

  it("hands slots out in order, after those already reserved", () => {
    expect(nextSlot({ starts: [1000, 1500], allowance: 20, pausedUntil: 0 }, 1025, 1100)).toBe(1500);
  });

  it("waits out a pause after throttling", () => {
    expect(nextSlot({ starts: [], allowance: 10, pausedUntil: 5000 }, 1025, 4000)).toBe(5000);
  });

  it("with a reduced allowance, waits for the call that must leave the window", () => {
    expect(nextSlot({ starts: [0, 100, 200, 300], allowance: 2, pausedUntil: 0 }, 1000, 500)).toBe(1200);
  });

  it("gives a cancelled slot to the next caller", () => {
    const limiter = new RateLimiter({ qps: 1, burst: 1, marginMs: 0, now: () => 0 });
    expect(limiter.reserve().at).toBe(0);
    const second = limiter.reserve();
    expect(second.at).toBe(1000);
    second.cancel();
    expect(limiter.reserve().at).toBe(1000);
  });

  it("never lets a ticket used late bunch two windows' calls together", async () => {
    vi.useFakeTimers();
    try {
      const limiter = new RateLimiter({ qps: 2, burst: 2, marginMs: 0 });
      const t0 = performance.now();
      const tickets = Array.from({ length: 6 }, () => limiter.reserve());
      expect(tickets.map((t) => t.at - t0)).toEqual([0, 0, 1000, 1000, 2000, 2000]);
      const started: number[] = [];
      const use = (i: number, atMs: number) =>
        new Promise<void>((resolve) => setTimeout(resolve, atMs)).then(async () => {
          await limiter.acquire(tickets[i]);
          started[i] = performance.now() - t0;
        });
      // The third and fourth callers come back late, just before the fifth and sixth are due.
      const all = [use(0, 0), use(1, 0), use(2, 1900), use(3, 1900), use(4, 2000), use(5, 2000)];
      await vi.advanceTimersByTimeAsync(5000);
      await Promise.all(all);
      expect(started).toEqual([0, 0, 1900, 1900, 2900, 2900]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("after throttling, pauses for a window and then allows half as many calls", async () => {
    vi.useFakeTimers();
    try {
      const limiter = new RateLimiter({ qps: 2, burst: 2, marginMs: 0 });
      const t0 = Date.now();
      await limiter.acquire();
      await limiter.acquire();
      limiter.throttled();
      expect(limiter.currentAllowance).toBe(1);
      const started: number[] = [];
      const all = [1, 2].map(() => limiter.acquire().then(() => started.push(Date.now() - t0)));
      await vi.advanceTimersByTimeAsync(5000);
      await Promise.all(all);
      expect(started).toEqual([1000, 2000]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("never starts more than qps calls within any window", async () => {
    vi.useFakeTimers();
    try {
      const limiter = new RateLimiter({ qps: 20, burst: 20, marginMs: 25 });
      const t0 = Date.now();
      const started: number[] = [];
      const all = Array.from({ length: 60 }, () => limiter.acquire().then(() => started.push(Date.now() - t0)));
      await vi.advanceTimersByTimeAsync(5000);
      await Promise.all(all);
      expect(started).toHaveLength(60);
      for (let i = 20; i < started.length; i++) {
        expect((started[i] ?? 0) - (started[i - 20] ?? 0)).toBeGreaterThanOrEqual(limiter.windowMs);
      }
      // Full use of the quota: the 41st to 60th calls start as soon as the third window opens.
      expect(started[59]).toBe(2 * limiter.windowMs);
    } finally {
      vi.useRealTimers();
    }
  });

  it("halves its allowance when throttled and recovers over later windows", () => {
    let now = 0;
    const limiter = new RateLimiter({ qps: 20, burst: 20, now: () => now });
    limiter.throttled();
    expect(limiter.currentAllowance).toBe(10);
    limiter.throttled();
    expect(limiter.currentAllowance).toBe(5);
    now += limiter.windowMs * 3;
    expect(limiter.currentAllowance).toBe(11);
    now += limiter.windowMs * 10;
    expect(limiter.currentAllowance).toBe(20);
  });

  it("moves tickets taken while throttled forward as the allowance recovers", () => {
    let now = 0;
    const limiter = new RateLimiter({ qps: 20, burst: 20, marginMs: 0, now: () => now });
    for (let i = 0; i < 5; i += 1) limiter.throttled();
    const tickets = Array.from({ length: 40 }, () => limiter.reserve());
    const whileThrottled = tickets.at(-1)?.at ?? 0;
    expect(whileThrottled).toBeGreaterThan(30_000);
    // Their holders are told to look again soon, not at these far-off times.
    expect(tickets.every((t) => t.recovering)).toBe(true);
    now += limiter.windowMs * 12;
    expect(limiter.currentAllowance).toBe(20);
    expect(tickets.some((t) => t.recovering)).toBe(false);
    const recovered = tickets.at(-1)?.at ?? 0;
    expect(recovered - now).toBeLessThanOrEqual(2 * limiter.windowMs);
    expect(tickets.map((t) => t.at)).toEqual([...tickets.map((t) => t.at)].sort((x, y) => x - y));
  });

  it("drops the place of a holder that has not looked at its ticket for a minute", () => {
    let now = 0;
    const limiter = new RateLimiter({ qps: 1, burst: 1, marginMs: 0, now: () => now });
    limiter.reserve(); // its holder is gone
    const waiting = limiter.reserve();
    expect(waiting.at).toBe(1000);
    now += TICKET_HORIZON_MS / 2;
    expect(waiting.at).toBe(now + 1000);
    now += TICKET_HORIZON_MS / 2 + 1;
    expect(waiting.at).toBe(now);
  });

  it("refuses nonsense settings", () => {
    expect(() => new RateLimiter({ qps: 0, burst: 20 })).toThrow(/qps > 0/);
    expect(() => new RateLimiter({ qps: 20, burst: 0 })).toThrow(/burst >= 1/);
  });

  it("neither stalls nor releases a line when the wall clock is stepped", async () => {
    vi.useFakeTimers();
    try {
      const limiter = new RateLimiter({ qps: 1, burst: 1, marginMs: 0 });
      const started: string[] = [];
      await limiter.acquire();
      vi.setSystemTime(Date.now() - 3_600_000);
      const back = limiter.acquire().then(() => started.push("after a step back"));
      await vi.advanceTimersByTimeAsync(999);
      expect(started).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      await back;
      vi.setSystemTime(Date.now() + 7_200_000);
      const forward = limiter.acquire().then(() => started.push("after a step forward"));
      await vi.advanceTimersByTimeAsync(999);
      expect(started).toEqual(["after a step back"]);
      await vi.advanceTimersByTimeAsync(1);
      await forward;
      expect(started).toEqual(["after a step back", "after a step forward"]);
    } finally {
      vi.useRealTimers();
    }
  });
});
