import { monotonic } from "../api/clock.ts";
import { retryDelayMs, type RetryPolicyName } from "./backoff.ts";

export type Priority = "high" | "normal";

export interface WorkQueueHooks {
  readonly onAdd?: () => void;
  readonly onRetry?: () => void;
  readonly onDepth?: (depth: number) => void;
  /** Seconds a key waited between being queued and being handed to a worker. */
  readonly onWait?: (seconds: number) => void;
}

/**
 * A work queue with client-go's guarantees: a key is queued at most once however often it is added,
 * a key being processed is never handed to a second worker (an add meanwhile re-queues it when the
 * first worker is done), delayed adds keep only the earliest deadline, and per-key failures back off
 * exponentially until `forget`. High-priority keys (deletions and detaches) are served first.
 */
export class WorkQueue {
  private readonly queues: Record<Priority, string[]> = { high: [], normal: [] };
  private readonly queued = new Map<string, { priority: Priority; since: number }>();
  private readonly processing = new Set<string>();
  /** Added while processing: re-queued at this priority when done. */
  private readonly dirty = new Map<string, Priority>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly waiting: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly hooks: WorkQueueHooks;

  constructor(hooks: WorkQueueHooks = {}) {
    this.hooks = hooks;
  }

  add(key: string, priority: Priority = "normal"): void {
    if (this.shuttingDown) return;
    this.hooks.onAdd?.();
    if (this.processing.has(key)) {
      this.dirty.set(key, higher(this.dirty.get(key), priority));
      return;
    }
    const existing = this.queued.get(key);
    if (existing) {
      if (existing.priority === "normal" && priority === "high") {
        this.queues.normal.splice(this.queues.normal.indexOf(key), 1);
        this.queues.high.push(key);
        existing.priority = "high";
      }
      return;
    }
    this.enqueue(key, priority);
  }

  /** Adds the key after `ms`; an earlier pending deadline for the key wins. */
  addAfter(key: string, ms: number, priority: Priority = "normal"): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key, priority);
      return;
    }
    const at = monotonic() + ms;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key, priority);
    }, ms);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Adds the key after the key's next backoff delay under this policy. */
  addRateLimited(key: string, policy: RetryPolicyName, priority: Priority = "normal"): number {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    this.hooks.onRetry?.();
    const delay = retryDelayMs(policy, failures, Math.random());
    this.addAfter(key, delay, priority);
    return delay;
  }

  /** The key succeeded: its next failure starts the backoff from the beginning. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** The next key to process, or undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    const key = this.next();
    if (key !== undefined || this.shuttingDown) return Promise.resolve(key);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** The worker finished the key. */
  done(key: string): void {
    this.processing.delete(key);
    const priority = this.dirty.get(key);
    if (priority !== undefined) {
      this.dirty.delete(key);
      this.enqueue(key, priority);
    }
  }

  get length(): number {
    return this.queued.size;
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const resolve of this.waiting.splice(0)) resolve(undefined);
  }

  private enqueue(key: string, priority: Priority): void {
    if (this.shuttingDown) return;
    const resolve = this.waiting.shift();
    if (resolve) {
      this.processing.add(key);
      this.hooks.onWait?.(0);
      resolve(key);
      return;
    }
    this.queued.set(key, { priority, since: monotonic() });
    this.queues[priority].push(key);
    this.hooks.onDepth?.(this.queued.size);
  }

  private next(): string | undefined {
    const key = this.queues.high.shift() ?? this.queues.normal.shift();
    if (key === undefined) return undefined;
    const entry = this.queued.get(key);
    this.queued.delete(key);
    this.processing.add(key);
    this.hooks.onDepth?.(this.queued.size);
    if (entry) this.hooks.onWait?.((monotonic() - entry.since) / 1000);
    return key;
  }
}

function higher(a: Priority | undefined, b: Priority): Priority {
  return a === "high" || b === "high" ? "high" : "normal";
}
