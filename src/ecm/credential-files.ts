import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { EcmCredential } from "./credentials.ts";

/** Read again at least this often, in case a change went unnoticed (a watch cannot follow every file system). */
export const CREDENTIAL_FILES_MAX_AGE_MS = 10_000;

/**
 * The operator's own credentials from a directory: files `secretId`, `secretKey` and optional `token`,
 * as a mounted Secret lays them out. The kubelet replaces a mounted Secret's files in place (it swaps
 * the `..data` symlink), so the directory is watched: after any change in it the next call reads the
 * files again, and a rotated key is used without a restart.
 */
export class CredentialFiles {
  private readonly dir: string;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private watcher: FSWatcher | undefined;
  private cached: { credential: EcmCredential; readAt: number } | undefined;
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
    return credential;
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
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
    if (this.watcher) return;
    try {
      this.watcher = watch(this.dir, { persistent: false }, () => {
        this.cached = undefined;
        for (const listener of this.listeners) listener();
      });
      // A directory that goes away ends the watch; the age limit still brings new files in.
      this.watcher.on("error", () => this.close());
    } catch {
      // No such directory yet: read() says so, and the next call tries to watch again.
    }
  }
}
