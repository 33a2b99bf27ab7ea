import type { KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.ts";
import { restartDelayMs } from "./restart-backoff.ts";

export type ChangeKind = "add" | "update" | "delete";
export type ChangeHandler<T> = (object: T, kind: ChangeKind) => void;

/** What the informer needs of a watch: one streaming GET, ended through `done`. */
export interface WatchStream {
  watch(
    path: string,
    params: Record<string, string | number | boolean | undefined>,
    onEvent: (type: string, object: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<{ abort(): void }>;
}

/** One page of a list as the API server sends it; its items are checked by the informer, as watched objects are. */
export interface ListPage {
  readonly items: readonly unknown[];
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
}
/** Lists one page, from the start or from a `continue` token of the page before. */
export type ListPageFn = (continueToken: string | undefined) => Promise<ListPage>;

export interface InformerOptions<T> {
  /** Jitter source for the restart back-off; Math.random by default. */
  random?: () => number;
  /**
   * What the cache keeps of each listed or watched object, as controller-runtime's cache transform:
   * decoding it and keeping only the fields the operator reads (no managedFields, no annotations)
   * is most of what the cache costs. An object it throws for is left out, with a warning.
   */
  transform?: (object: T) => T;
  /** Told of each object the transform throws for, with how it was read; a warning is logged otherwise. */
  skipped?: (error: unknown, path: "watch" | "list", namespace: string | undefined, name: string) => void;
  /** Only objects with these labels (a label selector); the list function must apply the same one. */
  labelSelector?: string;
}

/**
 * A watch with neither an event nor a bookmark for this long is taken for dead and replaced by a fresh
 * list (client-node issues #596, #364: a watch can stay open and deliver nothing). Bookmarks do not
 * prove a quiet watch alive: the API server sends one only once its cache has moved past the watch's
 * resourceVersion, at most about once a minute, so a quiet resource can be silent for hours. On such a
 * resource this bound costs one list every 5 minutes, a few hundred objects at most; on a dead watch it
 * bounds how long a change, a deletion above all, goes unseen. It is half the 10-minute resync, which only
 * replays the cache and so cannot repair it.
 */
export const STALL_MS = 5 * 60_000;
/**
 * The server ends each watch after this long (client-go's reflector asks for 5 to 10 minutes): under the
 * 28 s body deadline of a watch (request-deadlines.ts), so a healthy quiet watch is ended by the server's
 * clean close, and the client's deadline fires only on a connection that went dead.
 */
const WATCH_TIMEOUT_SECONDS = 25;
/** A watch that closes sooner than this with nothing delivered counts as a failure, so it cannot spin. */
const MIN_WATCH_MS = 1_000;

/** How a watch ended; `healthy`: it was open and delivered something or lasted MIN_WATCH_MS. */
type WatchEnd =
  | { kind: "closed"; healthy: boolean }
  | { kind: "expired" }
  | { kind: "stalled"; idleMs: number }
  | { kind: "failed"; err: unknown; healthy: boolean }
  | { kind: "stopped" };

/** An object from whichever of several informers (one per watched namespace) holds it. */
export function findCached<T extends KubernetesObject>(
  informers: readonly ResilientInformer<T>[],
  namespace: string,
  name: string,
): T | undefined {
  for (const informer of informers) {
    const object = informer.get(name, namespace);
    if (object) return object;
  }
  return undefined;
}

function isGone(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  return ("code" in value && value.code === 410) || ("statusCode" in value && value.statusCode === 410);
}

const cacheKey = (namespace: string | undefined, name: string): string => `${namespace ?? ""}/${name}`;

/**
 * A list-then-watch cache of one API path, in the manner of client-go's reflector, that survives the API
 * server: a failed list or watch is retried after an exponential back-off (1 s doubling to 30 s,
 * jittered) that only a successful list or a healthy watch resets; a watch that ends cleanly is
 * resumed from the last resourceVersion; an expired one (410) or one silent for STALL_MS is replaced by a
 * fresh list, whose difference from the cache is delivered as add, update and delete changes.
 * `synced` says whether the cache can be trusted: a list succeeded and a watch since is established.
 * Handlers run synchronously and should only enqueue.
 */
export class ResilientInformer<T extends KubernetesObject> {
  private readonly path: string;
  private readonly listFn: ListPageFn;
  private readonly transform: (object: T) => T;
  private readonly skipped: InformerOptions<T>["skipped"];
  private readonly labelSelector: string;
  private readonly stream: WatchStream;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly handlers: ChangeHandler<T>[] = [];
  private readonly cache = new Map<string, T>();
  private resourceVersion = "";
  private trusted = false;
  private failures = 0;
  private lastProgress = 0;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private abortWatch: ((end: WatchEnd) => void) | undefined;
  private wake: (() => void) | undefined;

  constructor(stream: WatchStream, path: string, list: ListPageFn, logger: Logger, options: InformerOptions<T> = {}) {
    this.path = path;
    this.listFn = list;
    this.transform = options.transform ?? ((object) => object);
    this.skipped = options.skipped;
    this.labelSelector = options.labelSelector ?? "";
    this.stream = stream;
    this.random = options.random ?? Math.random;
    this.logger = logger.child({ informer: path });
  }

  onChange(handler: ChangeHandler<T>): void {
    this.handlers.push(handler);
  }

  /** Starts listing and watching; resolves once the first list has succeeded or failed. */
  async start(): Promise<void> {
    if (this.loop) return;
    this.stopping = false;
    let firstListed: () => void = () => undefined;
    const listed = new Promise<void>((resolve) => (firstListed = resolve));
    this.loop = this.run(firstListed);
    await listed;
  }

  /** Whether the cache reflects the API server: listed, and watching since without a failure. */
  get synced(): boolean {
    return this.trusted;
  }

  list(): readonly T[] {
    return [...this.cache.values()];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.cache.get(cacheKey(namespace, name));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.trusted = false;
    this.abortWatch?.({ kind: "stopped" });
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  private async run(firstListed: () => void): Promise<void> {
    while (!this.stopping) {
      if (this.resourceVersion === "") {
        const failure = await this.relist();
        firstListed();
        if (failure !== undefined) {
          this.trusted = false;
          await this.backOff(failure.err, "list failed; listing again");
          continue;
        }
      }
      const end = await this.watchOnce();
      switch (end.kind) {
        case "stopped":
          return;
        case "closed":
          if (end.healthy) this.failures = 0;
          else await this.backOff(undefined, "watch closed at once; watching again");
          break;
        case "expired":
          this.resourceVersion = "";
          this.logger.info("watch expired (410); listing again");
          break;
        case "stalled":
          this.resourceVersion = "";
          this.logger.warn({ idleMs: end.idleMs }, "watch delivered nothing, not even a bookmark; listing again");
          break;
        case "failed":
          if (end.healthy) this.failures = 0;
          await this.backOff(end.err, "watch failed; watching again from the last resourceVersion");
          break;
      }
    }
  }

  /**
   * Lists, page by page, and applies the difference to the cache; returns the failure, if it failed.
   * Pages bound what one response holds; a continue token that expires midway fails the whole list,
   * which is then retried from the start.
   */
  private async relist(): Promise<{ err: unknown } | undefined> {
    const listed = new Map<string, T>();
    // Listed but left out: like a watch event left out, it neither replaces nor deletes the cached copy.
    const leftOut = new Set<string>();
    let resourceVersion = "";
    try {
      let continueToken: string | undefined;
      do {
        const page = await this.listFn(continueToken);
        for (const item of page.items) {
          const object = this.admit(item, "list");
          if (object) listed.set(cacheKey(object.metadata?.namespace, object.metadata?.name ?? ""), object);
          else if (this.isObject(item)) leftOut.add(cacheKey(item.metadata?.namespace, item.metadata?.name ?? ""));
        }
        resourceVersion = page.metadata?.resourceVersion ?? "";
        continueToken = page.metadata?.continue || undefined;
      } while (continueToken !== undefined);
      if (resourceVersion === "") throw new Error(`the list of ${this.path} carries no resourceVersion`);
    } catch (err) {
      return { err };
    }
    for (const object of listed.values()) this.upsert(object);
    for (const [key, object] of this.cache) {
      if (listed.has(key) || leftOut.has(key)) continue;
      this.cache.delete(key);
      this.emit(object, "delete");
    }
    this.resourceVersion = resourceVersion;
    this.failures = 0;
    this.lastProgress = Date.now();
    return undefined;
  }

  /** One watch from the current resourceVersion, until it ends one way or another. */
  private watchOnce(): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      const began = Date.now();
      let delivered = false;
      let opened = false;
      let ended = false;
      let connection: { abort(): void } | undefined;
      let watchdog: NodeJS.Timeout | undefined;
      const finish = (end: WatchEnd): void => {
        if (ended) return;
        ended = true;
        // Only a clean close leaves the cache current; anything else and it waits for a list or a watch.
        if (end.kind !== "closed") this.trusted = false;
        clearTimeout(watchdog);
        this.abortWatch = undefined;
        connection?.abort();
        resolve(end);
      };
      const armWatchdog = (): void => {
        const idleMs = Date.now() - this.lastProgress;
        if (idleMs >= STALL_MS) {
          finish({ kind: "stalled", idleMs });
          return;
        }
        watchdog = setTimeout(armWatchdog, STALL_MS - idleMs);
        watchdog.unref();
      };
      this.abortWatch = finish;
      if (this.stopping) {
        finish({ kind: "stopped" });
        return;
      }
      const onEvent = (type: string, object: unknown): void => {
        if (ended) return;
        if (type === "ERROR") {
          finish(isGone(object) ? { kind: "expired" } : { kind: "failed", err: object, healthy: healthy() });
          return;
        }
        if (!this.isObject(object)) return;
        delivered = true;
        this.lastProgress = Date.now();
        this.resourceVersion = object.metadata?.resourceVersion ?? this.resourceVersion;
        if (type === "DELETED") this.remove(object);
        if (type !== "ADDED" && type !== "MODIFIED") return;
        const admitted = this.admit(object, "watch");
        if (admitted) this.upsert(admitted);
      };
      const healthy = (): boolean => opened && (delivered || Date.now() - began >= MIN_WATCH_MS);
      const done = (err: unknown): void => {
        if (err === null || err === undefined) finish({ kind: "closed", healthy: healthy() });
        else finish(isGone(err) ? { kind: "expired" } : { kind: "failed", err, healthy: healthy() });
      };
      const params = {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: WATCH_TIMEOUT_SECONDS,
        ...(this.labelSelector ? { labelSelector: this.labelSelector } : {}),
      };
      armWatchdog();
      this.stream.watch(this.path, params, onEvent, done).then(
        (stream) => {
          connection = stream;
          if (ended) {
            stream.abort();
            return;
          }
          opened = true;
          // The stream is open on a resourceVersion the cache matches: it is current again.
          if (!this.trusted) this.logger.info("watching; cache current");
          this.trusted = true;
        },
        (err: unknown) => {
          finish({ kind: "failed", err, healthy: false });
        },
      );
    });
  }

  private async backOff(err: unknown, message: string): Promise<void> {
    this.failures += 1;
    const retryInMs = restartDelayMs(this.failures, this.random);
    this.logger.warn({ err, failures: this.failures, retryInMs }, message);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, retryInMs);
      timer.unref();
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }

  /** The API server validated the object against its schema; the cache needs its name and resourceVersion. */
  private isObject(value: unknown): value is T {
    return (
      typeof value === "object" &&
      value !== null &&
      "metadata" in value &&
      typeof value.metadata === "object" &&
      value.metadata !== null &&
      "name" in value.metadata &&
      typeof value.metadata.name === "string"
    );
  }

  /** The cache's copy of a listed or watched object, or undefined when it is not one or its transform fails. */
  private admit(value: unknown, path: "watch" | "list"): T | undefined {
    if (!this.isObject(value)) return undefined;
    try {
      return this.transform(value);
    } catch (err) {
      const { namespace, name = "" } = value.metadata ?? {};
      if (this.skipped) this.skipped(err, path, namespace, name);
      else this.logger.warn({ err, namespace, name }, "object left out of the cache");
      return undefined;
    }
  }

  private upsert(object: T): void {
    const key = cacheKey(object.metadata?.namespace, object.metadata?.name ?? "");
    const cached = this.cache.get(key);
    const version = object.metadata?.resourceVersion;
    if (cached !== undefined && version !== undefined && cached.metadata?.resourceVersion === version) return;
    this.cache.set(key, object);
    this.emit(object, cached === undefined ? "add" : "update");
  }

  private remove(object: T): void {
    const key = cacheKey(object.metadata?.namespace, object.metadata?.name ?? "");
    if (!this.cache.delete(key)) return;
    this.emit(object, "delete");
  }

  private emit(object: T, kind: ChangeKind): void {
    for (const handler of this.handlers) handler(object, kind);
  }
}
