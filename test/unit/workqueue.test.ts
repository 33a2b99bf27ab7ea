import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WorkQueue } from "../../src/controller/workqueue.ts";
import { retryDelayMs, confirmPollDelayMs, foreignTransitionPollMs } from "../../src/controller/backoff.ts";

describe("the work queue", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("merges duplicate keys", async () => {
    const queue = new WorkQueue();
    queue.add("ns/a");
    queue.add("ns/a");
    queue.add("ns/b");
    expect(queue.length).toBe(2);
    expect(await queue.get()).toBe("ns/a");
    expect(await queue.get()).toBe("ns/b");
  });

  it("never hands a key to a second worker while the first processes it", async () => {
    const queue = new WorkQueue();
    queue.add("ns/a");
    expect(await queue.get()).toBe("ns/a");
    queue.add("ns/a");
    expect(queue.length).toBe(0);
    let second: string | undefined;
    void queue.get().then((key) => (second = key));
    await Promise.resolve();
    expect(second).toBeUndefined();
    queue.done("ns/a");
    await Promise.resolve();
    expect(second).toBe("ns/a");
  });

  it("serves deletions and detaches before routine work", async () => {
    const queue = new WorkQueue();
    queue.add("ns/poll-1");
    queue.add("ns/poll-2");
    queue.add("ns/delete", "high");
    queue.add("ns/poll-2", "high");
    expect([await queue.get(), await queue.get(), await queue.get()]).toEqual(["ns/delete", "ns/poll-2", "ns/poll-1"]);
  });

  it("keeps only the earliest delayed add of a key", async () => {
    const queue = new WorkQueue();
    queue.addAfter("ns/a", 5000);
    queue.addAfter("ns/a", 1000);
    queue.addAfter("ns/a", 3000);
    vi.advanceTimersByTime(999);
    expect(queue.length).toBe(0);
    vi.advanceTimersByTime(1);
    expect(queue.length).toBe(1);
    expect(await queue.get()).toBe("ns/a");
    queue.done("ns/a");
    vi.advanceTimersByTime(10_000);
    expect(queue.length).toBe(0);
  });

  it("backs a failing key off exponentially until it is forgotten", () => {
    const queue = new WorkQueue();
    const delays = [1, 2, 3, 4].map(() => queue.addRateLimited("ns/a", "KubernetesApi"));
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThan(delays[i - 1] ?? 0);
    queue.forget("ns/a");
    expect(queue.addRateLimited("ns/a", "KubernetesApi")).toBeLessThanOrEqual(240);
  });

  it("releases waiting workers on shutdown", async () => {
    const queue = new WorkQueue();
    const waiting = queue.get();
    queue.shutDown();
    expect(await waiting).toBeUndefined();
    queue.add("ns/a");
    expect(queue.length).toBe(0);
  });
});

describe("backoff arithmetic", () => {
  it("doubles per failure from the class's base up to its cap", () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs("InTransition", n, 0.5))).toEqual([
      2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
    expect(retryDelayMs("ServiceFault", 100, 0.5)).toBe(300_000);
  });

  it("jitters by at most 20% either way", () => {
    expect(retryDelayMs("ServiceFault", 1, 0)).toBe(4000);
    expect(retryDelayMs("ServiceFault", 1, 0.999999)).toBe(6000);
  });

  it("polls for confirmation at 0.3 s, then doubling, capped at 15 s", () => {
    expect([0, 300, 600, 1200, 2400, 4800, 16000, 60000].map(confirmPollDelayMs)).toEqual([
      300, 300, 600, 1200, 2400, 4800, 15000, 15000,
    ]);
  });

  it("polls another actor's transition at 1 s, then doubling, up to the 5-minute drift interval", () => {
    // Each poll waits as long again as the transition has lasted: 0, 1, 2, 4, 8 ... s after it was seen.
    const polls: number[] = [];
    for (let since = 0; polls.length < 12; since += polls.at(-1) ?? 0) polls.push(foreignTransitionPollMs(since));
    expect(polls).toEqual([1000, 1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000, 300000]);
  });
});
