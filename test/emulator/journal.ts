// Every call received on the API endpoint, rejected ones included, in the order they were processed.
import type { JsonValue } from "./json.ts";

export interface JournalEntry {
  /** 1, 2, 3 ... since start or the last reset. */
  seq: number;
  /** When the call was processed, ISO 8601. */
  time: string;
  /** X-TC-Action as sent ("" when absent). */
  action: string;
  /** The parsed body; null when it is not JSON. */
  params: JsonValue;
  /** "Success" or the error code answered (a transport pseudo-code for an injected transport fault). */
  code: string;
  /** The RequestId answered; null when no envelope was sent. */
  requestId: string | null;
  /** The SecretId of the Authorization header, when it could be read. */
  secretId?: string;
  /** The injected fault that shaped the answer (its code, its delay or both), if any. */
  fault?: { code?: string; delayMs?: number };
  /** For a successful DescribeNetworkInterfaces: what it answered of each ENI. */
  reported?: ReportedEni[];
}

export interface ReportedEni {
  networkInterfaceId: string;
  state: string;
  /** The instance it was attached to; null when it was not. */
  instanceId: string | null;
}

export class Journal {
  readonly #entries: JournalEntry[] = [];

  record(entry: Omit<JournalEntry, "seq">): JournalEntry {
    const recorded = { seq: this.#entries.length + 1, ...entry };
    this.#entries.push(recorded);
    return recorded;
  }

  /** The entries after sequence number `afterSeq`. */
  since(afterSeq = 0): JournalEntry[] {
    return this.#entries.slice(Math.max(0, afterSeq));
  }

  clear(): void {
    this.#entries.length = 0;
  }
}
