import { type KubeConfig, type KubernetesObject, ListWatch, type ListPromise, Watch } from "@kubernetes/client-node";
import type { Logger } from "../observability/logger.ts";

export type ChangeKind = "add" | "update" | "delete";
export type ChangeHandler<T> = (object: T, kind: ChangeKind) => void;

const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 30_000;

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

/**
 * client-node's informer, made to survive: it stops for good after a failed list, a reset connection
 * or `fetch failed`, so every error except the one a deliberate stop causes restarts it, with backoff.
 * `synced` is true once a list succeeded. Handlers run synchronously and should only enqueue.
 */
export class ResilientInformer<T extends KubernetesObject> {
  private readonly informer: ListWatch<T>;
  private readonly logger: Logger;
  private stopping = false;
  private restartDelayMs = RESTART_MIN_MS;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(kc: KubeConfig, path: string, list: ListPromise<T>, logger: Logger) {
    this.informer = new ListWatch<T>(path, new Watch(kc), list, false);
    this.logger = logger.child({ informer: path });
    this.informer.on("error", (err) => {
      this.onError(err);
    });
    this.informer.on("connect", () => {
      this.restartDelayMs = RESTART_MIN_MS;
    });
  }

  onChange(handler: ChangeHandler<T>): void {
    this.informer.on("add", (object) => {
      handler(object, "add");
    });
    this.informer.on("update", (object) => {
      handler(object, "update");
    });
    this.informer.on("delete", (object) => {
      handler(object, "delete");
    });
  }

  async start(): Promise<void> {
    this.stopping = false;
    await this.informer.start();
  }

  get synced(): boolean {
    return this.informer.latestResourceVersion() !== "";
  }

  list(): readonly T[] {
    return this.informer.list();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    await this.informer.stop();
  }

  private onError(err: unknown): void {
    if (this.stopping) return;
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(RESTART_MAX_MS, delay * 2);
    this.logger.warn({ err, retryInMs: delay }, "informer stopped; restarting");
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      this.informer.start().catch((startErr: unknown) => {
        this.onError(startErr);
      });
    }, delay);
  }
}
