// ECM's per-API quota ("20 requests per second"), modelled as fixed one-second windows aligned to the
// wall clock, one per key (the account's SecretId and the action). Within a window the first `limit` calls pass; every call counts,
// so the count reported to a throttled caller keeps growing, as in the service's message.
export class Quota {
  #limit: number;
  readonly #windows = new Map<string, { second: number; count: number }>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  get limit(): number {
    return this.#limit;
  }

  set limit(limit: number) {
    this.#limit = limit;
  }

  /** Counts one call at `nowMs`: how many calls its window has seen, and whether this one is within the limit. */
  take(key: string, nowMs: number): { count: number; accepted: boolean } {
    const second = Math.floor(nowMs / 1000);
    let window = this.#windows.get(key);
    if (window?.second !== second) {
      window = { second, count: 0 };
      this.#windows.set(key, window);
    }
    window.count += 1;
    return { count: window.count, accepted: window.count <= this.#limit };
  }

  clear(): void {
    this.#windows.clear();
  }
}
