import { describe, expect, it, vi } from "vitest";
import { RateLimiter, delayBeforeNextCall } from "../../src/ecm/rate-limiter.ts";

describe("the per-action rate limiter", () => {
  it("lets a full window of calls start at once, then waits for the oldest to leave the window", () => {
    const starts = Array.from({ length: 20 }, (_, i) => 1000 + i);
    expect(delayBeforeNextCall({ starts: starts.slice(0, 19), allowance: 20, pausedUntil: 0 }, 1025, 1100)).toBe(0);
    expect(delayBeforeNextCall({ starts, allowance: 20, pausedUntil: 0 }, 1025, 1100)).toBe(925);
  });

  it("waits out a pause after throttling", () => {
    expect(delayBeforeNextCall({ starts: [], allowance: 10, pausedUntil: 5000 }, 1025, 4000)).toBe(1000);
  });

  it("with a reduced allowance, waits for the call that must expire", () => {
    const starts = [0, 100, 200, 300];
    expect(delayBeforeNextCall({ starts, allowance: 2, pausedUntil: 0 }, 1000, 500)).toBe(700);
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

  it("refuses nonsense settings", () => {
    expect(() => new RateLimiter({ qps: 0, burst: 20 })).toThrow(/qps > 0/);
    expect(() => new RateLimiter({ qps: 20, burst: 0 })).toThrow(/burst >= 1/);
  });
});
