import type { EniAttachment, EniAttachmentStatus, Phase } from "../api/eniattachment.ts";
import { FINALIZER } from "../api/eniattachment.ts";
import type { EventSpec } from "../api/event-spec.ts";
import { ATTACH, DETACH, type MutatingAction } from "../ecm/actions.ts";
import { classify, type ErrorClass } from "../ecm/errors.ts";
import type { EniObservation } from "../ecm/observation.ts";
import {
  ATTACHED_ELSEWHERE_RECHECK_MS,
  CONFIRM_TIMEOUT_MS,
  FIRST_POLL_MS,
  SETTLED_RECHECK_MS,
  confirmPollDelayMs,
  retryDelayMs,
} from "./backoff.ts";
import { buildConditions, findCondition, type ConditionInput } from "./conditions.ts";

/**
 * The operator's decisions, as pure functions of (resource, what ECM reported, the call just made,
 * now). The reconciler does the IO these decisions ask for; most of the unit tests live here.
 */

export type Target = "Attached" | "Detached";

export interface CallFailure {
  readonly code: string;
  readonly message: string;
  readonly requestId: string;
}

export type Observed =
  { readonly ok: true; readonly eni: EniObservation } | { readonly ok: false; readonly failure: CallFailure };
export type CallResult =
  { readonly ok: true; readonly requestId: string } | { readonly ok: false; readonly failure: CallFailure };

export interface DecisionInput {
  readonly resource: EniAttachment;
  readonly observed: Observed;
  /** The mutating call made in this pass, after a decision whose step was "call". */
  readonly lastCall?: CallResult;
  /** The credentials Secret changed since the last pass: a credentials failure is retried now. */
  readonly credentialsChanged?: boolean;
  readonly now: Date;
  /** In [0, 1): spreads retries. */
  readonly jitter: number;
}

export type Next =
  | { readonly kind: "requeueAfter"; readonly ms: number }
  /** The work queue's per-key exponential backoff, for failures that leave no trace in status. */
  | { readonly kind: "backoff"; readonly errorClass: Exclude<ErrorClass, "InvalidRequest"> }
  | { readonly kind: "waitForChange" };

export type Step =
  | { readonly kind: "call"; readonly action: MutatingAction }
  | { readonly kind: "removeFinalizer" }
  | { readonly kind: "none" };

export interface Decision {
  readonly step: Step;
  readonly status: EniAttachmentStatus;
  readonly events: readonly EventSpec[];
  readonly next: Next;
}

/**
 * Where the finalizer stands, decided before anything else.
 *
 * Flow: a live resource without the finalizer gets it before any cloud call ("addFinalizer"); a live
 * or deleted resource with it is reconciled; a deleted one with deletionPolicy Orphan is let go
 * without a call ("orphan"); a deleted one without it is no longer ours ("released").
 * Guarantees: the finalizer is removed only by `decide` once Describe shows the interface not attached
 * to spec.instanceId, or for Orphan. Its patches carry JSON-patch `test` operations, so a concurrent
 * change to the finalizer list makes them fail instead of being overwritten. Cleanup is safe to run
 * twice: a second detach of a detached interface is an "already done" answer, confirmed by Describe.
 * Caveat: deleting the namespace or the CRD while the operator is down leaves resources waiting for it.
 */
export type Lifecycle = "addFinalizer" | "reconcile" | "orphan" | "released";

export function lifecycle(resource: EniAttachment): Lifecycle {
  const hasFinalizer = resource.metadata.finalizers?.includes(FINALIZER) ?? false;
  if (resource.metadata.deletionTimestamp) {
    if (!hasFinalizer) return "released";
    return resource.spec.deletionPolicy === "Orphan" ? "orphan" : "reconcile";
  }
  return hasFinalizer ? "reconcile" : "addFinalizer";
}

export function targetOf(resource: EniAttachment): Target {
  return resource.metadata.deletionTimestamp || resource.spec.desiredState === "Detached" ? "Detached" : "Attached";
}

export function orphanedEvent(resource: EniAttachment): EventSpec {
  const { networkInterfaceId, instanceId } = resource.spec;
  return {
    type: "Normal",
    reason: "Orphaned",
    message: `deletionPolicy is Orphan: ${networkInterfaceId} is left as it is on ${instanceId}, no DetachNetworkInterface call was made`,
  };
}

const TRANSITION_STATES = new Set(["PENDING", "ATTACHING", "DETACHING", "DELETING"]);

/** Facts about the resource that every branch of `decide` uses. */
interface Context {
  readonly input: DecisionInput;
  readonly resource: EniAttachment;
  readonly prev: EniAttachmentStatus;
  readonly generation: number;
  readonly target: Target;
  readonly action: MutatingAction;
  readonly verb: "Detach" | "Attach";
  readonly deleting: boolean;
  /** The previous status belongs to an operation still in progress (not a settled one). */
  readonly currentOperation: boolean;
}

export function decide(input: DecisionInput): Decision {
  const { resource } = input;
  const target = targetOf(resource);
  const action = target === "Detached" ? DETACH : ATTACH;
  const prev = resource.status ?? {};
  const ctx: Context = {
    input,
    resource,
    prev,
    generation: resource.metadata.generation ?? 0,
    target,
    action,
    verb: target === "Detached" ? "Detach" : "Attach",
    deleting: Boolean(resource.metadata.deletionTimestamp),
    currentOperation: prev.action === action && prev.phase !== target,
  };
  if (input.lastCall) return afterCall(ctx, input.lastCall);
  if (!input.observed.ok) return observationFailed(ctx, input.observed.failure);
  return fromObservation(ctx, input.observed.eni);
}

function fromObservation(ctx: Context, eni: EniObservation): Decision {
  const { resource, prev, target, input } = ctx;
  const { networkInterfaceId, instanceId } = resource.spec;
  const attachedTo = eni.found ? eni.attachedInstanceId : undefined;
  const ours = attachedTo === instanceId;
  const observed = { attachedInstanceId: attachedTo ?? "" };

  // A transition is never the desired state: an ENI still ATTACHING shows no attachment yet, so a
  // resource deleted meanwhile would otherwise let go of an interface about to be attached.
  if (eni.found && TRANSITION_STATES.has(eni.state)) {
    const since = ctx.currentOperation && prev.lastAttemptTime ? elapsedMs(prev.lastAttemptTime, input.now) : 1_000;
    return waiting(ctx, observed, `ECM reports ${networkInterfaceId} as ${eni.state}`, confirmPollDelayMs(since));
  }

  // Nor is a state that an accepted call, not yet shown by Describe, is about to change.
  const pendingSince = unconfirmedCallAge(ctx, eni);
  if (pendingSince !== undefined) {
    const message = `${prev.action ?? ""} accepted (RequestId ${prev.requestId ?? ""}); waiting for ECM to show it`;
    return waiting(ctx, observed, message, confirmPollDelayMs(pendingSince));
  }

  const reached = target === "Detached" ? !ours : ours;
  if (reached) return settled(ctx, observed);

  if (target === "Attached" && attachedTo !== undefined) {
    const message = `${networkInterfaceId} is attached to ${attachedTo}, not ${instanceId}: detach it there first`;
    const alreadyReported = findCondition(prev.conditions, "Ready")?.reason === "AttachedElsewhere";
    return {
      step: { kind: "none" },
      status: status(ctx, { ...observed, phase: "Pending" }, [
        { type: "Ready", status: "False", reason: "AttachedElsewhere", message },
        synced(ctx),
      ]),
      events: alreadyReported ? [] : [{ type: "Warning", reason: "AttachedElsewhere", message }],
      next: { kind: "requeueAfter", ms: ATTACHED_ELSEWHERE_RECHECK_MS },
    };
  }

  const failure = lastFailureClass(ctx);
  if (failure === "InvalidRequest" && prev.observedGeneration === ctx.generation) return blocked(ctx, observed);

  const retryAt = ctx.currentOperation && prev.nextAttemptTime ? Date.parse(prev.nextAttemptTime) : NaN;
  const retryNow = failure === "Credentials" && input.credentialsChanged === true;
  if (retryAt > input.now.getTime() && !retryNow) {
    return {
      step: { kind: "none" },
      status: status(ctx, { ...observed }, [
        readyInProgress(ctx, `retrying at ${prev.nextAttemptTime ?? ""}`),
        synced(ctx),
      ]),
      events: [],
      next: { kind: "requeueAfter", ms: retryAt - input.now.getTime() },
    };
  }

  return {
    step: { kind: "call", action: ctx.action },
    status: status(ctx, observed, []),
    events: [],
    next: { kind: "waitForChange" },
  };
}

/** The desired state is reached. */
function settled(ctx: Context, observed: { attachedInstanceId: string }): Decision {
  const { prev, target, resource } = ctx;
  const { networkInterfaceId, instanceId } = resource.spec;
  const byOurCall = prev.action === ctx.action && lastCallSucceeded(ctx);
  const alreadyDone = lastFailureClass(ctx) === "AlreadyDone";
  const reason = target === "Attached" ? "Attached" : byOurCall ? "Detached" : "AlreadyDetached";
  const message =
    target === "Attached"
      ? `${networkInterfaceId} is attached to ${instanceId}`
      : `${networkInterfaceId} is not attached to ${instanceId}`;
  const keepError = prev.action === ctx.action && alreadyDone;
  const requestNote = prev.action === ctx.action && prev.requestId ? ` (RequestId ${prev.requestId})` : "";
  const events: EventSpec[] =
    prev.phase === target ? [] : [{ type: "Normal", reason: target, message: `${message}${requestNote}` }];
  return {
    step: ctx.deleting ? { kind: "removeFinalizer" } : { kind: "none" },
    status: status(
      ctx,
      {
        ...observed,
        phase: target,
        nextAttemptTime: undefined,
        ...(keepError ? {} : { errorCode: "", errorMessage: "" }),
      },
      [
        { type: "Ready", status: "True", reason, message },
        { type: "Synced", status: "True", reason: "Success", message: "ECM reports the desired state" },
      ],
    ),
    events,
    next: ctx.deleting ? { kind: "waitForChange" } : { kind: "requeueAfter", ms: SETTLED_RECHECK_MS },
  };
}

function waiting(ctx: Context, observed: { attachedInstanceId: string }, message: string, pollMs: number): Decision {
  return {
    step: { kind: "none" },
    status: status(ctx, { ...observed, phase: inProgressPhase(ctx) }, [readyInProgress(ctx, message), synced(ctx)]),
    events: [],
    next: { kind: "requeueAfter", ms: pollMs },
  };
}

/** The last call was an invalid request for this generation of the spec: nothing is retried. */
function blocked(ctx: Context, observed: { attachedInstanceId: string }): Decision {
  return {
    step: { kind: "none" },
    status: status(ctx, { ...observed, phase: "Failed", nextAttemptTime: undefined }, [
      failedReady(ctx, ctx.prev.errorCode ?? ""),
      synced(ctx),
    ]),
    events: [],
    next: { kind: "waitForChange" },
  };
}

function afterCall(ctx: Context, call: CallResult): Decision {
  const { resource, input, prev, action } = ctx;
  const { networkInterfaceId, instanceId } = resource.spec;
  const previousAttempts = ctx.currentOperation ? (prev.attempts ?? 0) : 0;
  const now = input.now.toISOString();
  const what = `${action} ${networkInterfaceId} ${ctx.target === "Detached" ? "from" : "to"} ${instanceId}`;

  if (call.ok) {
    const message = `${what} accepted, RequestId ${call.requestId}`;
    return {
      step: { kind: "none" },
      status: status(
        ctx,
        {
          phase: inProgressPhase(ctx),
          action,
          requestId: call.requestId,
          errorCode: "",
          errorMessage: "",
          attempts: previousAttempts + 1,
          lastAttemptTime: now,
          nextAttemptTime: undefined,
        },
        [
          readyInProgress(ctx, `${message}; waiting for ECM to confirm`),
          { type: "Synced", status: "True", reason: "Success", message },
        ],
      ),
      events: [{ type: "Normal", reason: `${ctx.verb}Requested`, message }],
      next: { kind: "requeueAfter", ms: FIRST_POLL_MS },
    };
  }

  const { failure } = call;
  const errorClass = classify(failure.code, action).class;
  const attempts = previousAttempts + (errorClass === "Throttled" ? 0 : 1);
  const detail = `${what} failed with ${failure.code}: ${failure.message} (RequestId ${failure.requestId || "none"})`;
  const recorded = {
    action,
    requestId: failure.requestId,
    errorCode: failure.code,
    errorMessage: failure.message,
    attempts,
    lastAttemptTime: now,
  };
  const syncedFalse: ConditionInput = { type: "Synced", status: "False", reason: failure.code, message: detail };

  if (errorClass === "InvalidRequest") {
    return {
      step: { kind: "none" },
      status: status(ctx, { ...recorded, phase: "Failed", nextAttemptTime: undefined }, [
        failedReady(ctx, failure.code),
        syncedFalse,
      ]),
      events: [
        { type: "Warning", reason: `${ctx.verb}Failed`, message: `${detail}; not retried until the spec changes` },
      ],
      next: { kind: "waitForChange" },
    };
  }

  if (errorClass === "AlreadyDone") {
    const message = `${detail}: confirming with DescribeNetworkInterfaces`;
    return {
      step: { kind: "none" },
      status: status(ctx, { ...recorded, phase: inProgressPhase(ctx), nextAttemptTime: undefined }, [
        readyInProgress(ctx, message),
        syncedFalse,
      ]),
      events: [{ type: "Normal", reason: `${ctx.verb}Requested`, message }],
      next: { kind: "requeueAfter", ms: 0 },
    };
  }

  const delayMs = retryDelayMs(errorClass, Math.max(1, attempts), input.jitter);
  const retryAt = new Date(input.now.getTime() + delayMs).toISOString();
  const phase: Phase = errorClass === "Credentials" ? "Failed" : inProgressPhase(ctx);
  return {
    step: { kind: "none" },
    status: status(ctx, { ...recorded, phase, nextAttemptTime: retryAt }, [
      errorClass === "Credentials"
        ? failedReady(ctx, failure.code)
        : readyInProgress(ctx, `${detail}; retrying at ${retryAt}`),
      syncedFalse,
    ]),
    // Throttling is the operator's own pacing problem, not news about the resource.
    events:
      errorClass === "Throttled"
        ? []
        : [{ type: "Warning", reason: `${ctx.verb}Failed`, message: `${detail}; retrying at ${retryAt}` }],
    next: { kind: "requeueAfter", ms: delayMs },
  };
}

function observationFailed(ctx: Context, failure: CallFailure): Decision {
  const errorClass = classify(failure.code, "DescribeNetworkInterfaces").class;
  const detail = `DescribeNetworkInterfaces failed with ${failure.code}: ${failure.message} (RequestId ${failure.requestId || "none"})`;
  const needsUser = errorClass === "InvalidRequest" || errorClass === "Credentials";
  const previousReady = findCondition(ctx.prev.conditions, "Ready");
  // While an accepted call awaits confirmation, its empty errorCode is what says it succeeded: a
  // failed Describe then shows in Synced only, so that it cannot make the call look failed and repeat it.
  const confirming = ctx.currentOperation && lastCallSucceeded(ctx);
  return {
    step: { kind: "none" },
    status: status(
      ctx,
      {
        ...(confirming ? {} : { errorCode: failure.code, errorMessage: failure.message }),
        ...(needsUser ? { phase: "Failed" as const } : {}),
      },
      [
        needsUser
          ? failedReady(ctx, failure.code)
          : previousReady
            ? { ...previousReady, type: "Ready" }
            : { type: "Ready", status: "Unknown", reason: "Observing", message: detail },
        { type: "Synced", status: "False", reason: failure.code, message: detail },
      ],
    ),
    events: errorClass === "Throttled" ? [] : [{ type: "Warning", reason: `${ctx.verb}Failed`, message: detail }],
    next: errorClass === "InvalidRequest" ? { kind: "waitForChange" } : { kind: "backoff", errorClass },
  };
}

function lastCallSucceeded(ctx: Context): boolean {
  return Boolean(ctx.prev.requestId) && !ctx.prev.errorCode;
}

/**
 * How long ago the last mutating call was accepted, if it is within the confirmation window, was never
 * seen settled, and Describe does not show its effect yet (a detach: not attached to spec.instanceId;
 * an attach: attached to some instance, or the interface gone). Undefined otherwise.
 */
function unconfirmedCallAge(ctx: Context, eni: EniObservation): number | undefined {
  const { prev, resource, input } = ctx;
  if (!prev.action || !prev.lastAttemptTime || !lastCallSucceeded(ctx)) return undefined;
  if (prev.phase === (prev.action === DETACH ? "Detached" : "Attached")) return undefined;
  const since = elapsedMs(prev.lastAttemptTime, input.now);
  if (since >= CONFIRM_TIMEOUT_MS) return undefined;
  const attachedTo = eni.found ? eni.attachedInstanceId : undefined;
  const shown =
    prev.action === DETACH ? attachedTo !== resource.spec.instanceId : !eni.found || attachedTo !== undefined;
  return shown ? undefined : since;
}

function lastFailureClass(ctx: Context): ErrorClass | undefined {
  const code = ctx.prev.action === ctx.action ? ctx.prev.errorCode : undefined;
  return code ? classify(code, ctx.action).class : undefined;
}

function inProgressPhase(ctx: Context): Phase {
  return ctx.target === "Detached" ? "Detaching" : "Attaching";
}

function readyInProgress(ctx: Context, message: string): ConditionInput {
  return { type: "Ready", status: "False", reason: inProgressPhase(ctx), message };
}

function failedReady(ctx: Context, code: string): ConditionInput {
  const hint = ctx.deleting
    ? "fix the cause, or set deletionPolicy: Orphan to delete without detaching"
    : "fix the cause; an invalid request is retried only after the spec changes";
  return {
    type: "Ready",
    status: "False",
    reason: `${ctx.verb}Failed`,
    message: `${ctx.action} cannot proceed (${code}): ${hint}`,
  };
}

/** Synced follows the last call of the current operation: False with its code until a call succeeds. */
function synced(ctx: Context): ConditionInput {
  const { prev } = ctx;
  if (ctx.currentOperation && prev.errorCode) {
    const previous = findCondition(prev.conditions, "Synced");
    const message =
      previous?.reason === prev.errorCode ? previous.message : `${ctx.action} failed with ${prev.errorCode}`;
    return { type: "Synced", status: "False", reason: prev.errorCode, message };
  }
  return { type: "Synced", status: "True", reason: "Success", message: "ECM answered the last call" };
}

type StatusChanges = Partial<EniAttachmentStatus>;

/** The whole status for this pass: carried fields from the last one, then the changes, then conditions. */
function status(ctx: Context, changes: StatusChanges, conditions: readonly ConditionInput[]): EniAttachmentStatus {
  const { prev } = ctx;
  const merged: StatusChanges = {
    ...prev,
    ...changes,
    observedGeneration: ctx.generation,
    phase: changes.phase ?? prev.phase ?? "Pending",
    conditions:
      conditions.length > 0
        ? buildConditions(prev.conditions, conditions, ctx.generation, ctx.input.now)
        : prev.conditions,
  };
  // Fields set to undefined are dropped, so that the status compares equal to what the API server returns.
  return JSON.parse(JSON.stringify(merged)) as EniAttachmentStatus;
}

function elapsedMs(isoTime: string, now: Date): number {
  return Math.max(0, now.getTime() - Date.parse(isoTime));
}
