import type { CoreV1Api, V1Secret } from "@kubernetes/client-node";
import { isNotFound } from "./api-errors.ts";

/** A read Secret may be reused this long, so a rotated key is in use within this time. */
export const SECRET_CACHE_MS = 10_000;

interface Entry {
  readonly secret: V1Secret | undefined;
  readonly readAt: number;
}

/**
 * Reads Secrets one at a time with a GET of the one named, never by listing or watching: the
 * operator's RBAC grants `get` on Secrets and nothing more. Reads are cached for at most
 * SECRET_CACHE_MS; concurrent reads of one Secret share one request.
 */
export class SecretReader {
  private readonly core: Pick<CoreV1Api, "readNamespacedSecret">;
  private readonly cacheMs: number;
  private readonly cache = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<V1Secret | undefined>>();

  constructor(core: Pick<CoreV1Api, "readNamespacedSecret">, cacheMs = SECRET_CACHE_MS) {
    this.core = core;
    this.cacheMs = cacheMs;
  }

  /** The Secret, or undefined when it does not exist; `fresh` skips the cache. Other API errors reject. */
  read(namespace: string, name: string, fresh = false): Promise<V1Secret | undefined> {
    const key = `${namespace}/${name}`;
    const cached = this.cache.get(key);
    if (!fresh && cached && Date.now() - cached.readAt < this.cacheMs) return Promise.resolve(cached.secret);
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const request = this.get(namespace, name).then(
      (secret) => {
        this.cache.set(key, { secret, readAt: Date.now() });
        return secret;
      },
      (error: unknown) => {
        this.cache.delete(key);
        throw error;
      },
    );
    const tracked = request.finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, tracked);
    return tracked;
  }

  /** A Secret the operator just wrote (the answer to its patch), or undefined when the write let it go. */
  remember(namespace: string, name: string, secret: V1Secret | undefined): void {
    this.cache.set(`${namespace}/${name}`, { secret, readAt: Date.now() });
  }

  /** What the last read of the Secret saw: its resourceVersion, "absent", or undefined if never read. */
  lastSeenVersion(namespace: string, name: string): string | undefined {
    const entry = this.cache.get(`${namespace}/${name}`);
    return entry ? versionOf(entry.secret) : undefined;
  }

  private async get(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ namespace, name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}

export function versionOf(secret: V1Secret | undefined): string {
  return secret ? (secret.metadata?.resourceVersion ?? "") : "absent";
}
