import type { EniAttachment, ForeignTransition, Operation } from "../api/eniattachment.ts";
import { FINALIZER, type Phase } from "../api/eniattachment.ts";
import type { EventSpec } from "../api/event-spec.ts";
import { DESCRIBE, DETACH } from "../ecm/actions.ts";
import { classify, credentialsGone } from "../ecm/errors.ts";
import type { EniObservation } from "../ecm/observation.ts";
import {
  ATTACHED_ELSEWHERE_RECHECK_MS,
  CONFIRM_TIMEOUT_MS,
  FIRST_POLL_MS,
  SETTLED_RECHECK_MS,
  confirmPollDelayMs,
  foreignTransitionPollMs,
  retryDelayMs,
} from "./backoff.ts";
import { findCondition, type ConditionInput } from "./conditions.ts";
import type { CallFailure, CallResult, Decision, DecisionInput } from "./decision.ts";
import * as text from "./messages.ts";
import { observeOnly } from "./observe-only.ts";
import {
  contextOf,
  elapsedMs,
  failedReady,
  inProgressPhase,
  readyInProgress,
  status,
  synced,
  underWay,
  type Context,
} from "./status.ts";

/**
 * The operator's decisions, as pure functions of (resource, what ECM reported, the call just made,
 * now). The reconciler does the IO these decisions ask for; most of the unit tests live here.
 *
 * Each pass reads where the operation stands once (`contextOf`: the state of `status.operation` for
 * this target), takes one branch, and that branch builds the whole status with `status`. A failed
 * Describe is recorded in `status.observation` and never changes `status.operation`.
 */

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
    // An observed interface was never the operator's to detach.
    const letGo = resource.spec.deletionPolicy === "Orphan" || resource.spec.managementPolicy === "Observe";
    return letGo ? "orphan" : "reconcile";
  }
  return hasFinalizer ? "reconcile" : "addFinalizer";
}

export function orphanedEvent(resource: EniAttachment): EventSpec {
  if (resource.spec.managementPolicy === "Observe") {
    return { type: "Normal", reason: "Released", message: text.released(resource) };
  }
  return { type: "Normal", reason: "Orphaned", message: text.orphaned(resource) };
}

const TRANSITION_STATES = new Set(["PENDING", "ATTACHING", "DETACHING", "DELETING"]);

export function decide(input: DecisionInput): Decision {
  const ctx = contextOf(input);
  if (input.resource.spec.managementPolicy === "Observe") return observeOnly(ctx);
  if (input.lastCall) return afterCall(ctx, input.lastCall, observedOf(input));
  if (!input.observed.ok) {
    const { failure } = input.observed;
    return settledBeforeCredentialsWent(ctx, failure) ?? observationFailed(ctx, failure);
  }
  return fromObservation(ctx, input.observed.eni);
}

/** The instance Describe showed, for the status: empty when detached or gone. */
interface Observed {
  readonly attachedInstanceId: string;
}

function observedOf(input: DecisionInput): Observed | undefined {
  if (!input.observed.ok) return undefined;
  const { eni } = input.observed;
  return { attachedInstanceId: (eni.found ? eni.attachedInstanceId : undefined) ?? "" };
}

function fromObservation(ctx: Context, eni: EniObservation): Decision {
  const { resource, prev, target, input, state } = ctx;
  const { networkInterfaceId, instanceId } = resource.spec;
  const attachedTo = eni.found ? eni.attachedInstanceId : undefined;
  const ours = attachedTo === instanceId;
  const observed: Observed = { attachedInstanceId: attachedTo ?? "" };

  // A transition is never the desired state: an ENI still ATTACHING shows no attachment yet, so a
  // resource deleted meanwhile would otherwise let go of an interface about to be attached.
  // One this resource's accepted call started is polled as its confirmation; another actor's backs off
  // from when it was first seen.
  if (eni.found && TRANSITION_STATES.has(eni.state)) {
    const message = text.inState(networkInterfaceId, eni.state);
    if (state.kind === "accepted") return waiting(ctx, observed, message, confirmPollDelayMs(state.sinceMs));
    const transition = { state: eni.state, since: prev.transition?.since ?? input.now.toISOString() };
    const pollMs = foreignTransitionPollMs(elapsedMs(transition.since, input.now), input.syncPeriodMs);
    return waiting(ctx, { ...observed, transition }, message, pollMs);
  }

  // Nor is a state that an accepted call, not yet shown by Describe, is about to change.
  const pending = ctx.unconfirmed;
  if (pending && pending.sinceMs < CONFIRM_TIMEOUT_MS && !shown(pending.operation, eni, instanceId)) {
    const message = text.awaitingShow(pending.operation.action, pending.operation.requestId ?? "");
    return waiting(ctx, observed, message, confirmPollDelayMs(pending.sinceMs));
  }

  const reached = target === "Detached" ? !ours : ours;
  if (reached) return settled(ctx, observed);

  if (target === "Attached" && attachedTo !== undefined) {
    const message = text.attachedElsewhere(networkInterfaceId, attachedTo, instanceId);
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

  if (state.kind === "failed") {
    const requested = input.reconcileRequested === true;
    if (state.errorClass === "InvalidRequest" && prev.observedGeneration === ctx.generation && !requested) {
      return blocked(ctx, observed, state.operation);
    }
    const { nextAttemptTime } = state.operation;
    const retryAt = nextAttemptTime ? Date.parse(nextAttemptTime) : NaN;
    const retryNow = (state.errorClass === "Credentials" && input.credentialsChanged === true) || requested;
    if (nextAttemptTime && retryAt > input.now.getTime() && !retryNow) {
      return {
        step: { kind: "none" },
        status: status(ctx, { ...observed, phase: prev.phase ?? "Pending" }, [
          readyInProgress(ctx, text.retryingAt(nextAttemptTime)),
          synced(ctx),
        ]),
        events: [],
        next: { kind: "requeueAfter", ms: retryAt - input.now.getTime() },
      };
    }
  }

  return {
    step: { kind: "call", action: ctx.action },
    status: status(ctx, { ...observed, phase: prev.phase ?? "Pending" }),
    events: [],
    next: { kind: "waitForChange" },
  };
}

/**
 * The desired state is reached. The record of this target's call becomes Confirmed: its error is
 * dropped, except an already-done answer's code, which is what says why (reason AlreadyDetached).
 * The reason is read from the record alone, so every later pass gives the same one.
 */
function settled(ctx: Context, observed: Observed): Decision {
  const { prev, target, resource, state } = ctx;
  const { networkInterfaceId, instanceId } = resource.spec;
  const own = state.kind === "none" ? undefined : state.operation;
  const operation =
    state.kind === "none" || state.kind === "confirmed"
      ? own
      : confirmed(state.operation, state.kind === "failed" && state.errorClass === "AlreadyDone");
  const byOurCall = operation !== undefined && !operation.errorCode;
  const reason = target === "Attached" ? "Attached" : byOurCall ? "Detached" : "AlreadyDetached";
  const message = text.reached(target, networkInterfaceId, instanceId);
  const eventMessage = text.withRequestId(message, own?.requestId);
  const events: EventSpec[] = prev.phase === target ? [] : [{ type: "Normal", reason: target, message: eventMessage }];
  return {
    step: ctx.deleting ? { kind: "removeFinalizer" } : { kind: "none" },
    status: status(ctx, { ...observed, phase: target, ...(operation ? { operation } : {}) }, [
      { type: "Ready", status: "True", reason, message },
      { type: "Synced", status: "True", reason: "Success", message: text.settledSynced(ctx.input.heldSecret) },
    ]),
    events,
    next: ctx.deleting
      ? { kind: "waitForChange" }
      : { kind: "requeueAfter", ms: ctx.input.syncPeriodMs ?? SETTLED_RECHECK_MS },
  };
}

function confirmed(operation: Operation, keepError: boolean): Operation {
  const { action, requestId, time, attempts, errorCode, errorMessage } = operation;
  return {
    action,
    ...(requestId ? { requestId } : {}),
    time,
    outcome: "Confirmed",
    ...(keepError && errorCode ? { errorCode, errorMessage: errorMessage ?? "" } : {}),
    attempts,
  };
}

function waiting(
  ctx: Context,
  observed: Observed & { readonly transition?: ForeignTransition },
  message: string,
  pollMs: number,
): Decision {
  return {
    step: { kind: "none" },
    status: status(ctx, { ...observed, phase: inProgressPhase(ctx) }, waitingConditions(ctx, message)),
    events: [],
    next: { kind: "requeueAfter", ms: pollMs },
  };
}

/**
 * While this target's accepted (or already-done) call awaits confirmation, Ready and Synced keep saying so: a
 * transition on the way is no news, and rewording them would cost a status write per poll. A failure
 * shown in either meanwhile (a failed Describe, say) is replaced, as in any other pass.
 */
function waitingConditions(ctx: Context, message: string): ConditionInput[] {
  const { state } = ctx;
  const awaiting = state.kind === "accepted" || (state.kind === "failed" && state.errorClass === "AlreadyDone");
  const ready = findCondition(ctx.prev.conditions, "Ready");
  const syncedBefore = findCondition(ctx.prev.conditions, "Synced");
  const keepReady = awaiting && ready?.status === "False" && ready.reason === inProgressPhase(ctx);
  const keepSynced = awaiting && syncedBefore?.status === "True";
  return [
    keepReady ? { ...ready, type: "Ready" } : readyInProgress(ctx, message),
    keepSynced ? { ...syncedBefore, type: "Synced" } : synced(ctx),
  ];
}

/** The last call was an invalid request for this generation of the spec: nothing is retried. */
function blocked(ctx: Context, observed: Observed, operation: Operation): Decision {
  return {
    step: { kind: "none" },
    status: status(ctx, { ...observed, phase: "Failed" }, [failedReady(ctx, operation.errorCode ?? ""), synced(ctx)]),
    events: [],
    next: { kind: "waitForChange" },
  };
}

function afterCall(ctx: Context, call: CallResult, observed: Observed | undefined): Decision {
  const { resource, input, action, state } = ctx;
  const { networkInterfaceId, instanceId } = resource.spec;
  const previousAttempts = underWay(state) ? state.operation.attempts : 0;
  const time = input.now.toISOString();
  const what = text.callOf(action, ctx.target, networkInterfaceId, instanceId);

  if (call.ok) {
    const message = text.accepted(what, call.requestId);
    const operation: Operation = {
      action,
      requestId: call.requestId,
      time,
      outcome: "Accepted",
      attempts: previousAttempts + 1,
    };
    return {
      step: { kind: "none" },
      status: status(ctx, { ...observed, phase: inProgressPhase(ctx), operation }, [
        readyInProgress(ctx, text.awaitingConfirmation(message)),
        { type: "Synced", status: "True", reason: "Success", message },
      ]),
      events: [{ type: "Normal", reason: `${ctx.verb}Requested`, message }],
      next: { kind: "requeueAfter", ms: FIRST_POLL_MS },
    };
  }

  const { failure } = call;
  const errorClass = classify(failure.code, action).class;
  const detail = text.callFailed(what, failure);
  const failed: Operation = {
    action,
    ...(failure.requestId ? { requestId: failure.requestId } : {}),
    time,
    outcome: "Failed",
    errorCode: failure.code,
    errorMessage: failure.message,
    attempts: previousAttempts + (errorClass === "Throttled" ? 0 : 1),
  };
  const syncedFalse: ConditionInput = { type: "Synced", status: "False", reason: failure.code, message: detail };

  if (errorClass === "InvalidRequest") {
    return {
      step: { kind: "none" },
      status: status(ctx, { ...observed, phase: "Failed", operation: failed }, [
        failedReady(ctx, failure.code),
        syncedFalse,
      ]),
      events: [{ type: "Warning", reason: `${ctx.verb}Failed`, message: text.notRetried(detail) }],
      next: { kind: "waitForChange" },
    };
  }

  if (errorClass === "AlreadyDone") {
    const message = text.confirming(detail);
    return {
      step: { kind: "none" },
      status: status(ctx, { ...observed, phase: inProgressPhase(ctx), operation: failed }, [
        readyInProgress(ctx, message),
        syncedFalse,
      ]),
      events: [{ type: "Normal", reason: `${ctx.verb}Requested`, message }],
      next: { kind: "requeueAfter", ms: 0 },
    };
  }

  const delayMs = retryDelayMs(errorClass, Math.max(1, failed.attempts), input.jitter);
  const nextAttemptTime = new Date(input.now.getTime() + delayMs).toISOString();
  const phase: Phase = errorClass === "Credentials" ? "Failed" : inProgressPhase(ctx);
  return {
    step: { kind: "none" },
    status: status(ctx, { ...observed, phase, operation: { ...failed, nextAttemptTime } }, [
      errorClass === "Credentials"
        ? failedReady(ctx, failure.code)
        : readyInProgress(ctx, text.retrying(detail, nextAttemptTime)),
      syncedFalse,
    ]),
    // Throttling is the operator's own pacing problem, not news about the resource.
    events:
      errorClass === "Throttled"
        ? []
        : [{ type: "Warning", reason: `${ctx.verb}Failed`, message: text.retrying(detail, nextAttemptTime) }],
    next: { kind: "requeueAfter", ms: delayMs },
  };
}

/**
 * A deleted resource whose credentials Secret is gone, and whose status already says Detached for
 * this spec, is let go as that status shows it. It is how a pass ends that the operator stopped
 * between releasing the Secret and removing the finalizer: the last resource needing a Secret writes
 * its settled status, then releases the Secret (which, in a namespace being deleted, goes at once),
 * then its own finalizer, so that no Secret stays held by resources that are gone. With no Secret,
 * no Describe can look again; the recorded one is the last word.
 */
function settledBeforeCredentialsWent(ctx: Context, failure: CallFailure): Decision | undefined {
  const { prev, resource } = ctx;
  const ready = findCondition(prev.conditions, "Ready");
  const settled = prev.phase === "Detached" && prev.observedGeneration === ctx.generation && ready?.status === "True";
  if (!ctx.deleting || !settled || !credentialsGone(failure.code)) return undefined;
  const { networkInterfaceId, instanceId } = resource.spec;
  return {
    step: { kind: "removeFinalizer" },
    status: prev,
    events: [
      {
        type: "Normal",
        reason: "Detached",
        message: text.settledBeforeCredentialsWent(networkInterfaceId, instanceId),
      },
    ],
    next: { kind: "waitForChange" },
  };
}

/** A failed Describe goes to status.observation and Synced; the record of the last call stays as it is. */
function observationFailed(ctx: Context, failure: CallFailure): Decision {
  const errorClass = classify(failure.code, DESCRIBE).class;
  const detail = text.callFailed(DESCRIBE, failure);
  const needsUser = errorClass === "InvalidRequest" || errorClass === "Credentials";
  const previousReady = findCondition(ctx.prev.conditions, "Ready");
  return {
    step: { kind: "none" },
    status: status(
      ctx,
      {
        phase: needsUser ? "Failed" : (ctx.prev.phase ?? "Pending"),
        observation: { errorCode: failure.code, errorMessage: failure.message },
        // Nothing new was seen: a transition keeps its start.
        ...(ctx.prev.transition ? { transition: ctx.prev.transition } : {}),
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

/**
 * Whether Describe shows an accepted call's effect: a detach, the interface not attached to
 * spec.instanceId; an attach, attached to some instance, or the interface gone.
 */
function shown(operation: Operation, eni: EniObservation, instanceId: string): boolean {
  const attachedTo = eni.found ? eni.attachedInstanceId : undefined;
  return operation.action === DETACH ? attachedTo !== instanceId : !eni.found || attachedTo !== undefined;
}
