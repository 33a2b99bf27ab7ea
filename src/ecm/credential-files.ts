import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { EcmCredential } from "./credentials.ts";

/** Read again at least this often, in case a change went unnoticed (a watch cannot follow every file system). */
export const CREDENTIAL_FILES_MAX_AGE_MS = 10_000;

/**
 * The operator's own credentials from a directory: files `secretId`, `secretKey` and optional `token`,
 * as a mounted Secret lays them out. The kubelet replaces a mounted Secret's files in place (it swaps
 * the `..data` symlink), so the directory is watched, and read again every `maxAgeMs` in case the watch
 * missed it: a rotated key is used without a restart, and listeners hear of it as soon as it is seen,
 * whichever way, even while no call reads the files (every resource waiting on a slow retry, say).
 */
/** A directory caught half-written is read again this much later. */
const HALF_WRITTEN_RETRY_MS = 200;

export class CredentialFiles {
  private readonly dir: string;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Rechecks run one after another, so each compares with what the one before it read. */
  private checking: Promise<void> = Promise.resolve();
  private cached: { credential: EcmCredential; readAt: number } | undefined;
  /** The credential listeners last heard of: the first one read, then each change they were told of. */
  private known: EcmCredential | undefined;
  private readonly listeners: (() => void)[] = [];

  constructor(dir: string, maxAgeMs = CREDENTIAL_FILES_MAX_AGE_MS, now: () => number = Date.now) {
    this.dir = dir;
    this.maxAgeMs = maxAgeMs;
    this.now = now;
  }

  /** Called after the directory changes: a resource failing on the old credentials may retry. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async read(): Promise<EcmCredential> {
    this.watchOnce();
    const cached = this.cached;
    if (cached && this.now() - cached.readAt < this.maxAgeMs) return cached.credential;
    const [secretId, secretKey, token] = await Promise.all(
      ["secretId", "secretKey", "token"].map((name) => this.file(name)),
    );
    if (!secretId || !secretKey) {
      this.cached = undefined;
      throw new Error(`--credentials-dir ${this.dir} must hold non-empty files secretId and secretKey`);
    }
    const credential: EcmCredential = token ? { secretId, secretKey, token } : { secretId, secretKey };
    this.cached = { credential, readAt: this.now() };
    this.known ??= credential;
    return credential;
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads the files now; listeners are told when the credential differs from the one last read. */
  private recheck(): Promise<void> {
    this.checking = this.checking.then(() => this.compare());
    return this.checking;
  }

  private async compare(): Promise<void> {
    this.cached = undefined;
    let after: EcmCredential;
    try {
      after = await this.read();
    } catch {
      // A half-written directory (a file truncated, not yet written) is read again shortly; calls
      // meanwhile report it.
      setTimeout(() => void this.recheck(), HALF_WRITTEN_RETRY_MS).unref();
      return;
    }
    // Against what listeners last heard of, not the cache: a call may have read the new files first.
    const before = this.known;
    this.known = after;
    if (before === undefined || JSON.stringify(before) === JSON.stringify(after)) return;
    for (const listener of this.listeners) listener();
  }

  private async file(name: string): Promise<string | undefined> {
    try {
      return (await readFile(join(this.dir, name), "utf8")).trim();
    } catch (err) {
      if (err instanceof Error && "code" in err && err.code === "ENOENT") return undefined;
      throw new Error(`--credentials-dir ${this.dir}: could not read ${name}`, { cause: err });
    }
  }

  private watchOnce(): void {
    this.timer ??= setInterval(() => void this.recheck(), this.maxAgeMs).unref();
    if (this.watcher) return;
    try {
      this.watcher = watch(this.dir, { persistent: false }, () => void this.recheck());
      this.watcher.on("error", () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      // No such directory yet: read() says so, and the next call tries to watch again.
    }
  }
}
