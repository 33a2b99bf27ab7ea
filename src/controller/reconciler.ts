import { isDeepStrictEqual } from "node:util";
import type { EniAttachment } from "../api/eniattachment.ts";
import type { MutatingAction } from "../ecm/actions.ts";
import type { EcmClient } from "../ecm/client.ts";
import type { CredentialSource } from "../ecm/credentials.ts";
import type { DescribeBatcher } from "../ecm/describe-batcher.ts";
import type { Ticket } from "../ecm/rate-limiter.ts";
import { EcmError } from "../ecm/errors.ts";
import type { EniAttachmentClient } from "../kube/eniattachment-client.ts";
import type { EventRecorder } from "../kube/event-recorder.ts";
import type { Logger } from "../observability/logger.ts";
import { keyFor } from "./keys.ts";
import { decide, lifecycle, orphanedEvent, type CallResult, type Next, type Observed } from "./decide.ts";

export interface ReconcilerDeps {
  readonly resources: EniAttachmentClient;
  readonly events: EventRecorder;
  readonly ecm: EcmClient;
  readonly describe: DescribeBatcher;
  readonly credentialsFor: (resource: EniAttachment) => CredentialSource;
  /** The informer's copy of a resource. */
  readonly cached: (namespace: string, name: string) => EniAttachment | undefined;
}

const WAIT: Next = { kind: "waitForChange" };
/**
 * A worker waits this long at most for its turn at ECM; a key whose turn is later gives the worker
 * back and returns this much ahead of its turn, time enough to observe again and be there on time:
 * a call started late would push every later call back.
 */
const MAX_TURN_WAIT_MS = 500;
const RETURN_AHEAD_MS = 400;

/**
 * One reconcile of one key: the finalizer first, then observe, decide, call, decide again, and write
 * the outcome once. All choices are made by `decide`; this class only does the IO they ask for.
 */
export class Reconciler {
  private readonly deps: ReconcilerDeps;
  /**
   * The resourceVersion each of our writes produced, until the cache shows it. Until then the cache
   * may hold the object from before the write, and a decision about a cloud call needs the status
   * that write recorded: such reads go to the API server.
   */
  private readonly written = new Map<string, string>();
  /** Tickets of keys that gave their worker back while waiting for their turn. */
  private readonly held = new Map<string, { action: MutatingAction; ticket: Ticket }>();

  constructor(deps: ReconcilerDeps) {
    this.deps = deps;
  }

  async reconcile(namespace: string, name: string, log: Logger, credentialsChanged: boolean): Promise<Next> {
    const { resources, events } = this.deps;
    const key = keyFor(namespace, name);
    const resource = await this.read(key, namespace, name);
    if (!resource) {
      this.giveBackTicket(key);
      return WAIT;
    }
    switch (lifecycle(resource)) {
      case "released":
        this.giveBackTicket(key);
        return WAIT;
      case "orphan":
        this.giveBackTicket(key);
        await events.record(resource, orphanedEvent(resource));
        this.wrote(await resources.removeFinalizer(resource));
        log.info("released without detaching (deletionPolicy Orphan)");
        return WAIT;
      case "addFinalizer":
        return this.apply(key, this.wrote(await resources.addFinalizer(resource)), log, credentialsChanged);
      case "reconcile":
        return this.apply(key, resource, log, credentialsChanged);
    }
  }

  private async apply(key: string, resource: EniAttachment, log: Logger, credentialsChanged: boolean): Promise<Next> {
    const { resources, events } = this.deps;
    const source = this.deps.credentialsFor(resource);
    const observed = await this.observe(resource, source);
    const jitter = Math.random();
    let decision = decide({ resource, observed, credentialsChanged, now: new Date(), jitter });
    if (decision.step.kind === "call") {
      const ticket = this.ticketFor(key, decision.step.action);
      const waitMs = ticket.at - Date.now();
      if (waitMs > MAX_TURN_WAIT_MS) {
        // Give the worker back to other keys (confirmations, say) and come back for our turn.
        this.held.set(key, { action: decision.step.action, ticket });
        return { kind: "requeueAfter", ms: waitMs - RETURN_AHEAD_MS };
      }
      const lastCall = await this.call(decision.step.action, resource, source, ticket, log);
      decision = decide({ resource, observed, lastCall, credentialsChanged, now: new Date(), jitter });
    } else {
      this.giveBackTicket(key);
    }
    let current = resource;
    if (!isDeepStrictEqual(resource.status, decision.status)) {
      current = this.wrote(await resources.replaceStatus(resource, decision.status)) ?? resource;
    }
    for (const event of decision.events) await events.record(current, event);
    if (decision.step.kind === "removeFinalizer") {
      this.wrote(await resources.removeFinalizer(current));
      log.info("finalizer removed");
    }
    return decision.next;
  }

  /** The place in line of a call that will not be made goes to the callers behind it. */
  private giveBackTicket(key: string): void {
    this.held.get(key)?.ticket.cancel();
    this.held.delete(key);
  }

  /** The ticket this key took earlier for the action, or a new one. */
  private ticketFor(key: string, action: MutatingAction): Ticket {
    const held = this.held.get(key);
    this.held.delete(key);
    if (held?.action === action) return held.ticket;
    held?.ticket.cancel();
    return this.deps.ecm.reserve(action);
  }

  private async read(key: string, namespace: string, name: string): Promise<EniAttachment | undefined> {
    const cached = this.deps.cached(namespace, name);
    const expected = this.written.get(key);
    if (cached && (expected === undefined || cached.metadata.resourceVersion === expected)) {
      this.written.delete(key);
      return cached;
    }
    const fresh = await this.deps.resources.get(namespace, name);
    if (fresh?.metadata.resourceVersion) this.written.set(key, fresh.metadata.resourceVersion);
    else this.written.delete(key);
    return fresh;
  }

  /** Notes the version a write produced, and passes it on. An object that the write let go is forgotten. */
  private wrote<T extends EniAttachment | undefined>(result: T): T {
    const { namespace, name, resourceVersion, deletionTimestamp, finalizers } = result?.metadata ?? {};
    if (!namespace || !name || !resourceVersion) return result;
    const key = keyFor(namespace, name);
    if (deletionTimestamp && (finalizers ?? []).length === 0) this.written.delete(key);
    else this.written.set(key, resourceVersion);
    return result;
  }

  private async observe(resource: EniAttachment, source: CredentialSource): Promise<Observed> {
    const { ecmRegion, networkInterfaceId } = resource.spec;
    try {
      return { ok: true, eni: await this.deps.describe.observe(ecmRegion, networkInterfaceId, source) };
    } catch (error) {
      return { ok: false, failure: failureOf(error) };
    }
  }

  private async call(
    action: MutatingAction,
    resource: EniAttachment,
    source: CredentialSource,
    ticket: Ticket,
    log: Logger,
  ): Promise<CallResult> {
    const { networkInterfaceId, instanceId, ecmRegion } = resource.spec;
    const params = { NetworkInterfaceId: networkInterfaceId, InstanceId: instanceId, EcmRegion: ecmRegion };
    try {
      const { RequestId: requestId } = await this.deps.ecm.call(action, params, source, ticket);
      log.info({ action, requestId }, "ECM call accepted");
      return { ok: true, requestId };
    } catch (error) {
      const failure = failureOf(error);
      log.warn({ action, requestId: failure.requestId, code: failure.code, err: error }, "ECM call failed");
      return { ok: false, failure };
    }
  }
}

/** EcmError is the only failure the ECM client throws; anything else is a bug and is rethrown. */
function failureOf(error: unknown): { code: string; message: string; requestId: string } {
  if (error instanceof EcmError) return { code: error.code, message: error.ecmMessage, requestId: error.requestId };
  throw error;
}
