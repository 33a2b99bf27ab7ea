import { setTimeout as sleep } from "node:timers/promises";

export interface WaitOptions {
  /** Names what is awaited, for the timeout message. */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
}

/**
 * Polls `probe` until it returns a value other than undefined. A probe that throws ends the wait with
 * that error: probes throw only for failures that waiting cannot fix (a process that exited).
 */
export async function waitFor<T>(probe: () => Promise<T | undefined>, options: WaitOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`);
    await sleep(options.intervalMs ?? 100);
  }
}
