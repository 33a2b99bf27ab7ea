import { randomUUID } from "node:crypto";
import type { Secret } from "../kube/secrets.ts";
import type { EniAttachment } from "../api/eniattachment.ts";
import type { ChangeHandler, ChangeKind } from "../kube/informer.ts";
import type { SecretChanges } from "../kube/secret-change-poller.ts";
import { failingOnCredentials } from "../kube/secret-credentials.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { skipUndecodable } from "../kube/undecodable.ts";
import { failurePolicy } from "./failure-policy.ts";
import { targetOf } from "./status.ts";
import { keyOf } from "./keys.ts";
import type { Next, Trigger } from "./decision.ts";
import { ResourceIndex, type SecretName } from "./resource-index.ts";
import { WorkQueue, type Priority } from "./workqueue.ts";

export const CONTROLLER_NAME = "eniattachment";
/** A reconcile refused by the fence is looked at again after this long, without back-off (a lost lease ends the process first). */
const FENCED_RETRY_MS = 2_000;

/** A cache of one kind of object, kept by list and watch, that tells of changes. */
export interface Informer<T> {
  onChange(handler: ChangeHandler<T>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly synced: boolean;
  list(): readonly T[];
  get(name: string, namespace?: string): T | undefined;
}

export interface KeyReconciler {
  reconcile(namespace: string, name: string, log: Logger, trigger: Trigger): Promise<Next>;
  /** Every change the informers deliver, whether or not it enqueues. True for an own write already acted on. */
  delivered(resource: EniAttachment, kind: ChangeKind): boolean;
}

export interface ControllerOptions {
  readonly informers: readonly Informer<EniAttachment>[];
  readonly secrets: readonly SecretChanges[];
  readonly reconciler: KeyReconciler;
  readonly workers: number;
  /** Every key is queued again this often, in case a watch missed an event. */
  readonly fullResyncMs: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The resources by ENI and by Secret, shared with whoever reads it; kept here from the informers. */
  readonly index?: ResourceIndex;
  /** A credentials Secret that no resource names any more. */
  readonly onUnnamed?: (secret: SecretName) => void;
}

/**
 * Informers feed keys (namespace/name) into the work queue; a bounded pool of workers reconciles
 * them. Only changes that matter (spec, deletion, finalizers, the operator's annotations) enqueue: the operator's own status
 * writes do not, so each reconcile's explicit next step is what schedules the next one.
 */
export class Controller {
  private readonly queue: WorkQueue;
  private readonly options: ControllerOptions;
  private readonly index: ResourceIndex;
  private readonly seen = new Map<string, string>();
  private readonly credentialsChanged = new Set<string>();
  /** Keys queued by a change of their object since their last reconcile. */
  private readonly changed = new Set<string>();
  /** Whether workers run: until then informer changes only warm the cache, nothing is queued or kept. */
  private leading = false;
  private workers: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(options: ControllerOptions) {
    this.options = options;
    this.index = options.index ?? new ResourceIndex();
    const { metrics } = options;
    const name = CONTROLLER_NAME;
    this.queue = new WorkQueue({
      onAdd: () => metrics.queueAdds.inc({ name }),
      onRetry: () => metrics.queueRetries.inc({ name }),
      onDepth: (depth) => metrics.queueDepth.set({ name }, depth),
      onWait: (seconds) => metrics.queueDuration.observe({ name }, seconds),
    });
    for (const informer of options.informers) informer.onChange((resource, kind) => this.onResource(resource, kind));
    for (const informer of options.secrets) informer.onChange((secret) => this.onSecret(secret));
  }

  /** Starts the informers; replicas that do not lead keep their caches warm too, as controller-runtime does. */
  async startInformers(): Promise<void> {
    await Promise.all(this.options.informers.map((informer) => informer.start()));
  }

  /**
   * Starts reconciling: only the leader does. Changes seen before were not queued (a follower holds
   * nothing for the queue), so every object the caches hold now is queued once, as controller-runtime's
   * controllers start on the caches' initial list.
   */
  startWorkers(): void {
    const { informers, workers, metrics } = this.options;
    this.leading = true;
    for (const informer of informers) {
      for (const resource of informer.list()) {
        this.seen.set(keyOf(resource), fingerprintOf(resource));
        this.enqueue(resource);
      }
    }
    metrics.maxWorkers.set({ controller: CONTROLLER_NAME }, workers);
    // Secret changes only retry work, so only a leader looks for them.
    for (const changes of this.options.secrets) void changes.start();
    this.workers = Array.from({ length: workers }, () => this.work());
    this.resyncTimer = setInterval(() => {
      for (const informer of informers) for (const resource of informer.list()) this.enqueue(resource);
    }, this.options.fullResyncMs);
    this.resyncTimer.unref();
  }

  get synced(): boolean {
    return [...this.options.informers, ...this.options.secrets].every((informer) => informer.synced);
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
    await Promise.all([...this.options.informers, ...this.options.secrets].map((informer) => informer.stop()));
  }

  private onResource(resource: EniAttachment, kind: ChangeKind): void {
    const actedOn = this.options.reconciler.delivered(resource, kind);
    this.indexed(resource, kind);
    if (!this.leading) return;
    const key = keyOf(resource);
    if (kind === "delete") {
      this.seen.delete(key);
      return;
    }
    const fingerprint = fingerprintOf(resource);
    if (this.seen.get(key) === fingerprint) return;
    this.seen.set(key, fingerprint);
    // The operator's own finalizer add: the pass that made it carried on, and scheduled what comes next.
    if (actedOn) return;
    this.changed.add(key);
    this.enqueue(resource);
  }

  /** Keeps the index: a Secret nothing names is let go, and the new owner of an ENI is reconciled at once. */
  private indexed(resource: EniAttachment, kind: ChangeKind): void {
    const { unnamed, newOwners } = this.index.update(resource, kind);
    // The index follows the cache on every replica; only the leader acts on what it tells.
    if (!this.leading) return;
    for (const secret of unnamed) this.options.onUnnamed?.(secret);
    for (const claimant of newOwners) {
      this.changed.add(keyOf(claimant));
      this.enqueue(claimant);
    }
  }

  /** A changed Secret retries at once the resources whose credentials it holds. */
  private onSecret(secret: Secret): void {
    const { namespace, name } = secret.metadata ?? {};
    this.retryCredentials(
      (resource) => resource.metadata.namespace === namespace && resource.spec.credentialsSecretRef?.name === name,
    );
  }

  /** The operator's own credentials changed: the resources using them that fail on credentials retry at once. */
  operatorCredentialsChanged(): void {
    this.retryCredentials((resource) => !resource.spec.credentialsSecretRef && failingOnCredentials(resource));
  }

  /** Queues the cached resources whose credentials changed, so a credentials failure is retried now. */
  private retryCredentials(changedFor: (resource: EniAttachment) => boolean): void {
    if (!this.leading) return;
    for (const informer of this.options.informers) {
      for (const resource of informer.list()) {
        if (!changedFor(resource)) continue;
        this.credentialsChanged.add(keyOf(resource));
        this.enqueue(resource);
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
    const [namespace, name] = namespacedName(key);
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
      if (credentialsChanged) this.credentialsChanged.add(key);
      this.failed(key, err, log, priority);
    } finally {
      metrics.activeWorkers.dec({ controller });
      stopTimer();
      stopWork();
    }
  }

  /** Each kind of failure by its own policy (failure-policy.ts). */
  private failed(key: string, err: unknown, log: Logger, priority: Priority): void {
    const { metrics } = this.options;
    const controller = CONTROLLER_NAME;
    const policy = failurePolicy(err);
    switch (policy.kind) {
      case "fenced":
        this.queue.forget(key);
        this.queue.addAfter(key, FENCED_RETRY_MS, priority);
        log.debug({ err }, "reconcile stopped: this replica no longer holds the leader lease");
        metrics.reconcileTotal.inc({ controller, result: "requeue_after" });
        return;
      case "undecodable":
        this.queue.forget(key);
        this.credentialsChanged.delete(key);
        skipUndecodable(log, metrics, "get", err, ...namespacedName(key));
        metrics.reconcileTotal.inc({ controller, result: "error" });
        return;
      case "terminal":
        this.queue.forget(key);
        log.error({ err }, "reconcile failed; not retried until the object changes");
        break;
      case "retry": {
        const retryInMs = this.queue.addRateLimited(key, policy.policy, priority);
        log.error({ err, retryInMs }, "reconcile failed");
        break;
      }
    }
    metrics.reconcileErrors.inc({ controller });
    metrics.reconcileTotal.inc({ controller, result: "error" });
  }

  private cachedPriority(namespace: string, name: string): Priority {
    for (const informer of this.options.informers) {
      const resource = informer.get(name, namespace);
      if (resource) return priorityOf(resource);
    }
    return "normal";
  }
}

function namespacedName(key: string): [string, string] {
  const [namespace = "", name = ""] = key.split("/");
  return [namespace, name];
}

/** What a change must alter to be worth a reconcile: not the status, which the operator writes itself. */
/** What a change must alter to enqueue; the cache keeps only the operator's own annotations (pause, a reconcile request, a sync period). */
function fingerprintOf(resource: EniAttachment): string {
  const { generation, deletionTimestamp, finalizers, annotations } = resource.metadata;
  return JSON.stringify([generation, deletionTimestamp, finalizers, annotations]);
}

/** Deletions and detaches are served before routine work such as confirmation polls of attached resources. */
function priorityOf(resource: EniAttachment): Priority {
  return targetOf(resource) === "Detached" ? "high" : "normal";
}
