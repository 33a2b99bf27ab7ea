import { isDeepStrictEqual } from "node:util";
import type { EniAttachment, EniAttachmentStatus, Operation } from "../api/eniattachment.ts";
import type { EventSpec } from "../api/event-spec.ts";
import type { MutatingAction } from "../ecm/actions.ts";
import type { MutatingCalls } from "../ecm/call-turns.ts";
import type { CredentialSource } from "../ecm/credentials.ts";
import type { EniObserver, Urgency } from "../ecm/describe-batcher.ts";
import { EcmError } from "../ecm/errors.ts";
import type { StatusWrite } from "../kube/eniattachment-client.ts";
import type { ChangeKind } from "../kube/informer.ts";
import type { Logger } from "../observability/logger.ts";
import { decide, lifecycle, orphanedEvent } from "./decide.ts";
import type { CallResult, Decision, Next, Observed, Trigger } from "./decision.ts";
import { duplicateClaim } from "./duplicate-claim.ts";
import { keyFor, keyOf } from "./keys.ts";
import { StaleReadGuard } from "./stale-read-guard.ts";
import { SETTLED_RECHECK_MS } from "./backoff.ts";
import { deletingWhilePaused, isPaused, pausedDecision, pendingReconcileRequest } from "./pause.ts";
import { syncPeriodOf } from "./sync-period.ts";

/** EniAttachment reads and writes on the API server. */
export interface ResourceStore {
  get(namespace: string, name: string): Promise<EniAttachment | undefined>;
  /** Fails with "conflict" when the object changed since `resource` was read. */
  replaceStatus(resource: EniAttachment, status: EniAttachmentStatus): Promise<StatusWrite>;
  addFinalizer(resource: EniAttachment): Promise<EniAttachment>;
  /** Undefined when the removal let the object be deleted. */
  removeFinalizer(resource: EniAttachment): Promise<EniAttachment | undefined>;
}

export interface EventSink {
  record(resource: EniAttachment, event: EventSpec): Promise<void>;
}

export interface ReconcilerDeps {
  readonly resources: ResourceStore;
  readonly events: EventSink;
  readonly calls: MutatingCalls;
  readonly observer: EniObserver;
  readonly credentialsFor: (resource: EniAttachment) => CredentialSource;
  /** The informer's copy of a resource. */
  readonly cached: (namespace: string, name: string) => EniAttachment | undefined;
  /** What to say of the resource's credentials Secret when it is held while being deleted. */
  readonly heldSecret?: (resource: EniAttachment) => string | undefined;
  /** The owner of the resource's ENI among all resources naming it (the index of the informer's cache). */
  readonly ownerOf?: (resource: EniAttachment) => EniAttachment | undefined;
  /**
   * Removes a resource's finalizer through `letGo`, in the turn of the credentials Secret it names;
   * when no other resource needs that Secret, `persist` and the Secret's release come first (see
   * CredentialsFinalizer). Whether `letGo` ran. Without it, `letGo` runs alone.
   */
  readonly lastUse?: (
    resource: EniAttachment,
    persist: () => Promise<boolean>,
    letGo: () => Promise<void>,
  ) => Promise<boolean>;
  /** The operator's --sync-period; a resource's annotation may override it. */
  readonly syncPeriodMs?: number;
  readonly now?: () => Date;
  /** In [0, 1): spreads retries. */
  readonly jitter?: () => number;
}

const WAIT: Next = { kind: "waitForChange" };
/** A resource let go without an ECM call needs no credentials to be let go again after a restart. */
const NOTHING_TO_PERSIST = () => Promise.resolve(true);
/** A status write that keeps losing to other writers is left to the next pass. */
const STATUS_WRITE_ATTEMPTS = 3;
const AGAIN: Next = { kind: "requeueAfter", ms: 0 };
/** Accepted calls whose record could not be written yet, at most this many (the oldest go first). */
const UNWRITTEN_CALLS_MAX = 10_000;

/**
 * One reconcile of one key: the finalizer first, then observe, decide, call, decide again, and write
 * the outcome once. All choices are made by `decide`; this class only reads, calls and writes.
 */
export class Reconciler {
  private readonly deps: ReconcilerDeps;
  private readonly guard: StaleReadGuard;
  private readonly now: () => Date;
  private readonly jitter: () => number;
  /**
   * Per key, the record of an accepted call whose status write failed: the next pass decides as if
   * status held it, so it writes the RequestId and makes no second call for it.
   */
  private readonly unwritten = new Map<string, Operation>();
  /** Per key, the resourceVersion of this operator's finalizer add, until the informer delivers a version. */
  private readonly finalizerAdded = new Map<string, string>();

  constructor(deps: ReconcilerDeps) {
    this.deps = deps;
    this.guard = new StaleReadGuard({
      cached: deps.cached,
      fetch: (namespace, name) => deps.resources.get(namespace, name),
    });
    this.now = deps.now ?? (() => new Date());
    this.jitter = deps.jitter ?? Math.random;
  }

  /**
   * What the informer's cache now holds, so that reads after the operator's own writes can trust it.
   * Whether it is the version this operator's finalizer add produced: the pass that added it went on
   * from that version, so it needs no pass of its own.
   */
  delivered(resource: EniAttachment, kind: ChangeKind): boolean {
    this.guard.delivered(resource, kind);
    const key = keyOf(resource);
    const added = this.finalizerAdded.get(key);
    // A watch delivers versions in order: after any version of the key, the added one is shown or passed.
    if (added !== undefined) this.finalizerAdded.delete(key);
    return kind !== "delete" && added !== undefined && added === resource.metadata.resourceVersion;
  }

  async reconcile(namespace: string, name: string, log: Logger, trigger: Trigger): Promise<Next> {
    const { resources, events } = this.deps;
    const key = keyFor(namespace, name);
    const resource = await this.guard.read(namespace, name);
    if (!resource) {
      this.forget(key);
      return WAIT;
    }
    const owner = this.otherOwner(resource);
    if (owner !== undefined && lifecycle(resource) !== "released") return this.standAside(key, resource, owner, log);
    switch (lifecycle(resource)) {
      case "released":
        this.forget(key);
        return WAIT;
      case "orphan": {
        this.forget(key);
        const event = orphanedEvent(resource);
        await events.record(resource, isPaused(resource) ? deletingWhilePaused(event) : event);
        await this.removeFinalizer(resource, NOTHING_TO_PERSIST);
        log.info("released without detaching (deletionPolicy Orphan or managementPolicy Observe)");
        return WAIT;
      }
      case "addFinalizer": {
        const added = this.guard.wrote(await resources.addFinalizer(resource));
        const { resourceVersion } = added.metadata;
        if (resourceVersion !== undefined) this.finalizerAdded.set(key, resourceVersion);
        return this.apply(key, added, log, trigger);
      }
      case "reconcile":
        return this.apply(key, resource, log, trigger);
    }
  }

  private async apply(key: string, resource: EniAttachment, log: Logger, trigger: Trigger): Promise<Next> {
    const { events, calls } = this.deps;
    if (isPaused(resource) && !resource.metadata.deletionTimestamp) {
      calls.release(key);
      const paused = (current: EniAttachment) =>
        isPaused(current) && !current.metadata.deletionTimestamp ? pausedDecision(current, this.now()) : undefined;
      const written = await this.writeStatus(resource, pausedDecision(resource, this.now()), paused);
      if (!written) return AGAIN;
      for (const event of written.decision.events) await events.record(written.current, event);
      return written.decision.next;
    }
    const source = this.deps.credentialsFor(resource);
    const requested = pendingReconcileRequest(resource);
    const observed = await this.observe(resource, source, trigger.changed || requested ? "now" : "soon");
    const jitter = this.jitter();
    const period = syncPeriodOf(resource, this.deps.syncPeriodMs ?? SETTLED_RECHECK_MS);
    if ("invalid" in period && trigger.changed) log.warn(period.invalid);
    const decideFor = (current: EniAttachment, lastCall?: CallResult): Decision => {
      const handled = pendingReconcileRequest(current);
      const decision = decide({
        resource: this.withUnwritten(key, current),
        observed,
        credentialsChanged: trigger.credentialsChanged,
        ...this.heldSecretOf(current),
        reconcileRequested: handled !== undefined,
        syncPeriodMs: period.ms,
        now: this.now(),
        jitter,
        ...(lastCall ? { lastCall } : {}),
      });
      // The acknowledgement goes out in the same status write as what the fresh Describe showed.
      const withAck =
        handled === undefined
          ? decision
          : { ...decision, status: { ...decision.status, lastHandledReconcileAt: handled } };
      return current.metadata.deletionTimestamp && isPaused(current)
        ? { ...withAck, events: withAck.events.map(deletingWhilePaused) }
        : withAck;
    };

    let decision = decideFor(resource);
    let lastCall: CallResult | undefined;
    if (decision.step.kind === "call") {
      const turn = await this.call(key, decision.step.action, resource, source, log);
      if (turn.kind === "comeBack") return { kind: "requeueAfter", ms: turn.afterMs };
      lastCall = turn.result;
      decision = decideFor(resource, lastCall);
    } else {
      calls.release(key);
    }

    let current = resource;
    // An object about to disappear is not written to: its events and the finalizer removal come first.
    if (decision.step.kind !== "removeFinalizer") {
      const written = await this.writeOutcome(key, resource, decision, lastCall, log, (fresh) => {
        if (lifecycle(fresh) !== "reconcile") return undefined;
        const again = decideFor(fresh, lastCall);
        return again.step.kind === "call" ? undefined : again;
      });
      if (!written) return AGAIN;
      ({ current, decision } = written);
    }
    for (const event of decision.events) await events.record(current, event);
    if (decision.step.kind === "removeFinalizer") {
      const stillRemoving = (fresh: EniAttachment) => {
        const again = decideFor(fresh);
        return again.step.kind === "removeFinalizer" ? again : undefined;
      };
      // Written only by the last resource needing its credentials Secret, which is released next: a
      // restart before the finalizer goes finds no Secret to look with, and lets it go on this record.
      const persist = async () => {
        const written = await this.writeStatus(current, decision, stillRemoving);
        if (written) current = written.current;
        return written !== undefined;
      };
      const removal = await this.removeFinalizer(current, persist);
      if (!removal) return AGAIN;
      this.unwritten.delete(key);
      log.info("finalizer removed");
      // Another finalizer keeps it: show the settled status rather than one still waiting for ECM.
      if (removal.survivor) await this.writeStatus(removal.survivor, decision, stillRemoving);
    }
    return decision.next;
  }

  /**
   * Removes the finalizer (after the credentials Secret's release, when this is its last user, and
   * `persist` before that). Undefined when `persist` gave up; else what is left of the object.
   */
  private async removeFinalizer(
    resource: EniAttachment,
    persist: () => Promise<boolean>,
  ): Promise<{ survivor: EniAttachment | undefined } | undefined> {
    let removal: { survivor: EniAttachment | undefined } | undefined;
    const letGo = async () => {
      removal = { survivor: this.guard.wrote(await this.deps.resources.removeFinalizer(resource)) };
    };
    if (this.deps.lastUse) await this.deps.lastUse(resource, persist, letGo);
    else await letGo();
    return removal;
  }

  private heldSecretOf(resource: EniAttachment): { heldSecret?: string } {
    const heldSecret = this.deps.heldSecret?.(resource);
    return heldSecret === undefined ? {} : { heldSecret };
  }

  /** The owner of the resource's ENI as namespace/name, when it is another resource. */
  private otherOwner(resource: EniAttachment): string | undefined {
    // An observer makes no mutating call, so it never stands aside for an owner.
    if (resource.spec.managementPolicy === "Observe") return undefined;
    const owner = this.deps.ownerOf?.(resource);
    return owner && keyOf(owner) !== keyOf(resource) ? keyOf(owner) : undefined;
  }

  /** Another resource owns the ENI: no ECM call; status and one event say who, or a deleted one is let go. */
  private async standAside(key: string, resource: EniAttachment, owner: string, log: Logger): Promise<Next> {
    const { events } = this.deps;
    this.forget(key);
    const decision = duplicateClaim(resource, owner, this.now());
    if (decision.step.kind === "removeFinalizer") {
      await this.removeFinalizer(resource, NOTHING_TO_PERSIST);
      log.info({ owner }, "released without a call: another resource owns its ENI");
      return WAIT;
    }
    const written = await this.writeStatus(resource, decision, (fresh) => {
      const stillOwner = this.otherOwner(fresh);
      const again = stillOwner === undefined ? undefined : duplicateClaim(fresh, stillOwner, this.now());
      return again?.step.kind === "none" ? again : undefined;
    });
    if (!written) return AGAIN;
    for (const event of written.decision.events) await events.record(written.current, event);
    return written.decision.next;
  }

  private forget(key: string): void {
    this.unwritten.delete(key);
    this.deps.calls.release(key);
  }

  /** The resource as if its status held the accepted call it could not record, when it is newer. */
  private withUnwritten(key: string, resource: EniAttachment): EniAttachment {
    const operation = this.unwritten.get(key);
    const recorded = resource.status?.operation;
    if (!operation || (recorded && Date.parse(recorded.time) >= Date.parse(operation.time))) return resource;
    return { ...resource, status: { ...resource.status, operation } };
  }

  /**
   * The pass's status write. After an accepted call, a write that is given up or throws still records
   * the call: its events go out at once, and its record is kept for the next pass.
   */
  private async writeOutcome(
    key: string,
    resource: EniAttachment,
    decision: Decision,
    lastCall: CallResult | undefined,
    log: Logger,
    redecide: (fresh: EniAttachment) => Decision | undefined,
  ): Promise<{ current: EniAttachment; decision: Decision } | undefined> {
    const accepted = lastCall?.ok === true;
    let written: { current: EniAttachment; decision: Decision } | undefined;
    try {
      written = await this.writeStatus(resource, decision, redecide);
    } catch (error) {
      if (accepted) await this.keepUnwritten(key, resource, decision, log);
      throw error;
    }
    if (written) this.unwritten.delete(key);
    else if (accepted) await this.keepUnwritten(key, resource, decision, log);
    return written;
  }

  /** The status write after an accepted call failed: its events go out now, its record waits for the next pass. */
  private async keepUnwritten(key: string, resource: EniAttachment, decision: Decision, log: Logger): Promise<void> {
    const { operation } = decision.status;
    if (operation) {
      this.unwritten.delete(key);
      this.unwritten.set(key, operation);
      const oldest = this.unwritten.keys().next().value;
      if (this.unwritten.size > UNWRITTEN_CALLS_MAX && oldest !== undefined) this.unwritten.delete(oldest);
    }
    log.warn(
      { requestId: operation?.requestId },
      "status write failed after an accepted call; recorded at the next pass",
    );
    for (const event of decision.events) {
      try {
        await this.deps.events.record(resource, event);
      } catch (err) {
        log.warn({ err, reason: event.reason }, "event not recorded");
      }
    }
  }

  /**
   * Writes a decision's status unless the object holds it already. When someone wrote in between, it
   * decides again from the newer object (`redecide`; undefined gives up) and never writes what the old
   * one gave. Undefined when the write was given up.
   */
  private async writeStatus(
    resource: EniAttachment,
    decision: Decision,
    redecide: (fresh: EniAttachment) => Decision | undefined,
  ): Promise<{ current: EniAttachment; decision: Decision } | undefined> {
    let current = resource;
    let pending = decision;
    for (let attempt = 1; !isDeepStrictEqual(current.status, pending.status); attempt += 1) {
      const write = await this.deps.resources.replaceStatus(current, pending.status);
      if (write.kind === "written") return { current: this.guard.wrote(write.resource), decision: pending };
      const fresh = attempt < STATUS_WRITE_ATTEMPTS ? await this.guard.fetch(...namespacedName(current)) : undefined;
      const again = fresh && redecide(fresh);
      if (!fresh || !again) return undefined;
      current = fresh;
      pending = again;
    }
    return { current, decision: pending };
  }

  private async observe(resource: EniAttachment, source: CredentialSource, urgency: Urgency): Promise<Observed> {
    const { ecmRegion, networkInterfaceId } = resource.spec;
    try {
      return { ok: true, eni: await this.deps.observer.observe(ecmRegion, networkInterfaceId, source, urgency) };
    } catch (error) {
      return { ok: false, failure: failureOf(error) };
    }
  }

  private async call(
    key: string,
    action: MutatingAction,
    resource: EniAttachment,
    source: CredentialSource,
    log: Logger,
  ): Promise<{ kind: "comeBack"; afterMs: number } | { kind: "done"; result: CallResult }> {
    const { networkInterfaceId, instanceId, ecmRegion } = resource.spec;
    const params = { NetworkInterfaceId: networkInterfaceId, InstanceId: instanceId, EcmRegion: ecmRegion };
    try {
      const turn = await this.deps.calls.call(key, action, params, source);
      if (turn.kind === "comeBack") return turn;
      const requestId = turn.response.RequestId;
      log.info({ action, requestId }, "ECM call accepted");
      return { kind: "done", result: { ok: true, requestId } };
    } catch (error) {
      const failure = failureOf(error);
      log.warn({ action, requestId: failure.requestId, code: failure.code, err: error }, "ECM call failed");
      return { kind: "done", result: { ok: false, failure } };
    }
  }
}

function namespacedName(resource: EniAttachment): [string, string] {
  return [resource.metadata.namespace ?? "", resource.metadata.name ?? ""];
}

/** EcmError is the only failure the ECM side throws; anything else is a bug and is rethrown. */
function failureOf(error: unknown): { code: string; message: string; requestId: string } {
  if (error instanceof EcmError) return { code: error.code, message: error.ecmMessage, requestId: error.requestId };
  throw error;
}
