import { randomUUID } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";
import type { EniAttachment } from "../api/eniattachment.ts";
import type { ChangeHandler, ChangeKind } from "../kube/informer.ts";
import type { SecretChanges } from "../kube/secret-change-poller.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { targetOf } from "./status.ts";
import { keyOf } from "./keys.ts";
import type { Next, Trigger } from "./decision.ts";
import { WorkQueue, type Priority } from "./workqueue.ts";

export const CONTROLLER_NAME = "eniattachment";

/** A cache of one kind of object, kept by list and watch, that tells of changes. */
export interface Informer<T> {
  onChange(handler: ChangeHandler<T>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly synced: boolean;
  list(): readonly T[];
  get(name: string, namespace?: string): T | undefined;
}

export interface Reconcile {
  reconcile(namespace: string, name: string, log: Logger, trigger: Trigger): Promise<Next>;
  /** Every change the informers deliver, whether or not it enqueues. */
  delivered(resource: EniAttachment, kind: ChangeKind): void;
}

export interface ControllerOptions {
  readonly resources: readonly Informer<EniAttachment>[];
  readonly secrets: readonly SecretChanges[];
  readonly reconciler: Reconcile;
  readonly workers: number;
  /** Every key is queued again this often, in case a watch missed an event. */
  readonly fullResyncMs: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * Informers feed keys (namespace/name) into the work queue; a bounded pool of workers reconciles
 * them. Only changes that matter (spec, deletion, finalizers, the operator's annotations) enqueue: the operator's own status
 * writes do not, so each reconcile's explicit next step is what schedules the next one.
 */
export class Controller {
  private readonly queue: WorkQueue;
  private readonly options: ControllerOptions;
  private readonly seen = new Map<string, string>();
  private readonly credentialsChanged = new Set<string>();
  /** Keys queued by a change of their object since their last reconcile. */
  private readonly changed = new Set<string>();
  private workers: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(options: ControllerOptions) {
    this.options = options;
    const { metrics } = options;
    const name = CONTROLLER_NAME;
    this.queue = new WorkQueue({
      onAdd: () => metrics.queueAdds.inc({ name }),
      onRetry: () => metrics.queueRetries.inc({ name }),
      onDepth: (depth) => metrics.queueDepth.set({ name }, depth),
      onWait: (seconds) => metrics.queueDuration.observe({ name }, seconds),
    });
    for (const informer of options.resources) informer.onChange((resource, kind) => this.onResource(resource, kind));
    for (const informer of options.secrets) informer.onChange((secret) => this.onSecret(secret));
  }

  /** Starts the informers; replicas that do not lead keep their caches warm too, as controller-runtime does. */
  async startInformers(): Promise<void> {
    const { resources, secrets } = this.options;
    await Promise.all([...secrets, ...resources].map((informer) => informer.start()));
  }

  /** Starts reconciling: only the leader does. */
  startWorkers(): void {
    const { resources, workers, metrics } = this.options;
    metrics.maxWorkers.set({ controller: CONTROLLER_NAME }, workers);
    this.workers = Array.from({ length: workers }, () => this.work());
    this.resyncTimer = setInterval(() => {
      for (const informer of resources) for (const resource of informer.list()) this.enqueue(resource);
    }, this.options.fullResyncMs);
    this.resyncTimer.unref();
  }

  get synced(): boolean {
    return [...this.options.resources, ...this.options.secrets].every((informer) => informer.synced);
  }

  /** Stops taking work, lets in-flight reconciles finish (bounded by `graceMs`), stops the informers. */
  async stop(graceMs: number): Promise<void> {
    clearInterval(this.resyncTimer);
    this.queue.shutDown();
    const drained = Promise.all(this.workers);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([drained, timeout]);
    clearTimeout(timer);
    await Promise.all([...this.options.resources, ...this.options.secrets].map((informer) => informer.stop()));
  }

  private onResource(resource: EniAttachment, kind: ChangeKind): void {
    this.options.reconciler.delivered(resource, kind);
    const key = keyOf(resource);
    if (kind === "delete") {
      this.seen.delete(key);
      return;
    }
    // The cache keeps only the operator's own annotations: pausing, a reconcile request or a new sync period enqueue.
    const { generation, deletionTimestamp, finalizers, annotations } = resource.metadata;
    const fingerprint = JSON.stringify([generation, deletionTimestamp, finalizers, annotations]);
    if (this.seen.get(key) === fingerprint) return;
    this.seen.set(key, fingerprint);
    this.changed.add(key);
    this.enqueue(resource);
  }

  /** A changed Secret retries at once the resources whose credentials it holds. */
  private onSecret(secret: V1Secret): void {
    const { namespace, name } = secret.metadata ?? {};
    for (const informer of this.options.resources) {
      for (const resource of informer.list()) {
        if (resource.metadata.namespace === namespace && resource.spec.credentialsSecretRef?.name === name) {
          this.credentialsChanged.add(keyOf(resource));
          this.enqueue(resource);
        }
      }
    }
  }

  private enqueue(resource: EniAttachment): void {
    this.queue.add(keyOf(resource), priorityOf(resource));
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.process(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async process(key: string): Promise<void> {
    const { reconciler, logger, metrics } = this.options;
    const [namespace = "", name = ""] = key.split("/");
    const log = logger.child({ namespace, name, reconcileId: randomUUID() });
    const credentialsChanged = this.credentialsChanged.delete(key);
    const changed = this.changed.delete(key);
    const controller = CONTROLLER_NAME;
    const stopTimer = metrics.reconcileTime.startTimer({ controller });
    const stopWork = metrics.workDuration.startTimer({ name: controller });
    metrics.activeWorkers.inc({ controller });
    const priority = this.cachedPriority(namespace, name);
    try {
      const next = await reconciler.reconcile(namespace, name, log, { changed, credentialsChanged });
      switch (next.kind) {
        case "requeueAfter":
          this.queue.forget(key);
          this.queue.addAfter(key, next.ms, priority);
          metrics.reconcileTotal.inc({ controller, result: "requeue_after" });
          break;
        case "backoff":
          this.queue.addRateLimited(key, next.errorClass, priority);
          metrics.reconcileTotal.inc({ controller, result: "requeue" });
          break;
        case "waitForChange":
          this.queue.forget(key);
          metrics.reconcileTotal.inc({ controller, result: "success" });
          break;
      }
    } catch (err) {
      const delayMs = this.queue.addRateLimited(key, "KubernetesApi", priority);
      if (credentialsChanged) this.credentialsChanged.add(key);
      log.error({ err, retryInMs: delayMs }, "reconcile failed");
      metrics.reconcileErrors.inc({ controller });
      metrics.reconcileTotal.inc({ controller, result: "error" });
    } finally {
      metrics.activeWorkers.dec({ controller });
      stopTimer();
      stopWork();
    }
  }

  private cachedPriority(namespace: string, name: string): Priority {
    for (const informer of this.options.resources) {
      const resource = informer.get(name, namespace);
      if (resource) return priorityOf(resource);
    }
    return "normal";
  }
}

/** Deletions and detaches are served before routine work such as confirmation polls of attached resources. */
function priorityOf(resource: EniAttachment): Priority {
  return targetOf(resource) === "Detached" ? "high" : "normal";
}
