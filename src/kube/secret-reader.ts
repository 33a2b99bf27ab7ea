import type { Secret, SecretsApi } from "./secrets.ts";
import { monotonic, type Clock } from "../api/clock.ts";
import { isNotFound } from "./api-errors.ts";

/** A read Secret may be reused this long, so a rotated key is in use within this time. */
export const SECRET_CACHE_MS = 10_000;
/** At most this many Secrets are cached; the least recently read goes first. */
export const SECRET_CACHE_ENTRIES = 1_000;

interface Entry {
  readonly secret: Secret | undefined;
  readonly readAt: number;
}

/** Told of every Secret read from the API server (undefined: it does not exist). */
export type SecretReadListener = (namespace: string, name: string, secret: Secret | undefined) => void;

/**
 * Reads Secrets one at a time with a GET of the one named, never by listing or watching: the
 * operator's RBAC grants `get` on Secrets and nothing more. Reads are cached for at most
 * SECRET_CACHE_MS, and expired ones are dropped, so the cache holds only the Secrets read in the last
 * few seconds (and never more than SECRET_CACHE_ENTRIES); concurrent reads of one Secret share one
 * request.
 */
export class SecretReader {
  private readonly core: Pick<SecretsApi, "readNamespacedSecret">;
  private readonly cacheMs: number;
  private readonly clock: Clock;
  /** In the order of reading: the oldest first. */
  private readonly cache = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<Secret | undefined>>();
  private readonly listeners: SecretReadListener[] = [];

  constructor(core: Pick<SecretsApi, "readNamespacedSecret">, cacheMs = SECRET_CACHE_MS, clock: Clock = monotonic) {
    this.core = core;
    this.cacheMs = cacheMs;
    this.clock = clock;
  }

  /** The Secret, or undefined when it does not exist; `fresh` skips the cache. Other API errors reject. */
  read(namespace: string, name: string, fresh = false): Promise<Secret | undefined> {
    const key = `${namespace}/${name}`;
    this.evict();
    const cached = this.cache.get(key);
    if (!fresh && cached) return Promise.resolve(cached.secret);
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const request = this.get(namespace, name).then(
      (secret) => {
        this.store(namespace, name, secret);
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
  remember(namespace: string, name: string, secret: Secret | undefined): void {
    this.store(namespace, name, secret);
  }

  /** Adds a listener told of every Secret read from the API server or written by the operator. */
  onRead(listener: SecretReadListener): void {
    this.listeners.push(listener);
  }

  /** How many Secrets the cache holds now. */
  get size(): number {
    this.evict();
    return this.cache.size;
  }

  private store(namespace: string, name: string, secret: Secret | undefined): void {
    const key = `${namespace}/${name}`;
    this.cache.delete(key);
    this.cache.set(key, { secret, readAt: this.clock() });
    if (this.cache.size > SECRET_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value ?? "");
    for (const listener of this.listeners) listener(namespace, name, secret);
  }

  /** Drops the expired reads: the oldest come first, so it stops at the first one still fresh. */
  private evict(): void {
    const now = this.clock();
    for (const [key, entry] of this.cache) {
      if (now - entry.readAt < this.cacheMs) return;
      this.cache.delete(key);
    }
  }

  private async get(namespace: string, name: string): Promise<Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ namespace, name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}

export function versionOf(secret: Secret | undefined): string {
  return secret ? (secret.metadata?.resourceVersion ?? "") : "absent";
}
