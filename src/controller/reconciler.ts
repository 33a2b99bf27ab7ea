import { isDeepStrictEqual } from "node:util";
import type { EniAttachment } from "../api/eniattachment.ts";
import type { MutatingAction } from "../ecm/actions.ts";
import type { EcmClient } from "../ecm/client.ts";
import type { CredentialSource } from "../ecm/credentials.ts";
import type { DescribeBatcher } from "../ecm/describe-batcher.ts";
import { EcmError } from "../ecm/errors.ts";
import type { EniAttachmentClient } from "../kube/eniattachment-client.ts";
import type { EventRecorder } from "../kube/event-recorder.ts";
import type { Logger } from "../observability/logger.ts";
import { decide, lifecycle, orphanedEvent, type CallResult, type Next, type Observed } from "./decide.ts";

export interface ReconcilerDeps {
  readonly resources: EniAttachmentClient;
  readonly events: EventRecorder;
  readonly ecm: EcmClient;
  readonly describe: DescribeBatcher;
  readonly credentialsFor: (resource: EniAttachment) => CredentialSource;
}

const WAIT: Next = { kind: "waitForChange" };

/**
 * One reconcile of one key: the finalizer first, then observe, decide, call, decide again, and write
 * the outcome once. All choices are made by `decide`; this class only does the IO they ask for.
 */
export class Reconciler {
  private readonly deps: ReconcilerDeps;

  constructor(deps: ReconcilerDeps) {
    this.deps = deps;
  }

  async reconcile(namespace: string, name: string, log: Logger, credentialsChanged: boolean): Promise<Next> {
    const { resources, events } = this.deps;
    const resource = await resources.get(namespace, name);
    if (!resource) return WAIT;
    switch (lifecycle(resource)) {
      case "released":
        return WAIT;
      case "orphan":
        await events.record(resource, orphanedEvent(resource));
        await resources.removeFinalizer(resource);
        log.info("released without detaching (deletionPolicy Orphan)");
        return WAIT;
      case "addFinalizer":
        return this.apply(await resources.addFinalizer(resource), log, credentialsChanged);
      case "reconcile":
        return this.apply(resource, log, credentialsChanged);
    }
  }

  private async apply(resource: EniAttachment, log: Logger, credentialsChanged: boolean): Promise<Next> {
    const { resources, events } = this.deps;
    const source = this.deps.credentialsFor(resource);
    const observed = await this.observe(resource, source);
    const jitter = Math.random();
    let decision = decide({ resource, observed, credentialsChanged, now: new Date(), jitter });
    if (decision.step.kind === "call") {
      const lastCall = await this.call(decision.step.action, resource, source, log);
      decision = decide({ resource, observed, lastCall, credentialsChanged, now: new Date(), jitter });
    }
    let current = resource;
    if (!isDeepStrictEqual(resource.status, decision.status)) {
      current = (await resources.replaceStatus(resource, decision.status)) ?? resource;
    }
    for (const event of decision.events) await events.record(current, event);
    if (decision.step.kind === "removeFinalizer") {
      await resources.removeFinalizer(current);
      log.info("finalizer removed");
    }
    return decision.next;
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
    log: Logger,
  ): Promise<CallResult> {
    const { networkInterfaceId, instanceId, ecmRegion } = resource.spec;
    const params = { NetworkInterfaceId: networkInterfaceId, InstanceId: instanceId, EcmRegion: ecmRegion };
    try {
      const { RequestId: requestId } = await this.deps.ecm.call(action, params, source);
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
