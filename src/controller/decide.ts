import type { EniAttachment } from "../api/eniattachment.ts";
import { FINALIZER, type Phase } from "../api/eniattachment.ts";
import type { EventSpec } from "../api/event-spec.ts";
import { DETACH } from "../ecm/actions.ts";
import { classify } from "../ecm/errors.ts";
import type { EniObservation } from "../ecm/observation.ts";
import {
  ATTACHED_ELSEWHERE_RECHECK_MS,
  CONFIRM_TIMEOUT_MS,
  FIRST_POLL_MS,
  SETTLED_RECHECK_MS,
  confirmPollDelayMs,
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
  lastCallSucceeded,
  lastFailureClass,
  readyInProgress,
  status,
  synced,
  type Context,
} from "./status.ts";

/**
 * The operator's decisions, as pure functions of (resource, what ECM reported, the call just made,
 * now). The reconciler does the IO these decisions ask for; most of the unit tests live here.
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
    return waiting(ctx, observed, text.inState(networkInterfaceId, eni.state), confirmPollDelayMs(since));
  }

  // Nor is a state that an accepted call, not yet shown by Describe, is about to change.
  const pendingSince = unconfirmedCallAge(ctx, eni);
  if (pendingSince !== undefined) {
    const message = text.awaitingShow(prev.action ?? "", prev.requestId ?? "");
    return waiting(ctx, observed, message, confirmPollDelayMs(pendingSince));
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

  const failure = lastFailureClass(ctx);
  const requested = input.reconcileRequested === true;
  if (failure === "InvalidRequest" && prev.observedGeneration === ctx.generation && !requested) {
    return blocked(ctx, observed);
  }

  const retryAt = ctx.currentOperation && prev.nextAttemptTime ? Date.parse(prev.nextAttemptTime) : NaN;
  const retryNow = (failure === "Credentials" && input.credentialsChanged === true) || requested;
  if (retryAt > input.now.getTime() && !retryNow) {
    return {
      step: { kind: "none" },
      status: status(ctx, { ...observed }, [
        readyInProgress(ctx, text.retryingAt(prev.nextAttemptTime ?? "")),
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
  const message = text.reached(target, networkInterfaceId, instanceId);
  const keepError = prev.action === ctx.action && alreadyDone;
  const eventMessage = text.withRequestId(message, prev.action === ctx.action ? prev.requestId : undefined);
  const events: EventSpec[] = prev.phase === target ? [] : [{ type: "Normal", reason: target, message: eventMessage }];
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
        { type: "Synced", status: "True", reason: "Success", message: text.DESIRED_STATE_REPORTED },
      ],
    ),
    events,
    next: ctx.deleting
      ? { kind: "waitForChange" }
      : { kind: "requeueAfter", ms: ctx.input.syncPeriodMs ?? SETTLED_RECHECK_MS },
  };
}

function waiting(ctx: Context, observed: { attachedInstanceId: string }, message: string, pollMs: number): Decision {
  return {
    step: { kind: "none" },
    status: status(ctx, { ...observed, phase: inProgressPhase(ctx) }, waitingConditions(ctx, message)),
    events: [],
    next: { kind: "requeueAfter", ms: pollMs },
  };
}

/**
 * While the current operation's accepted call awaits confirmation, Ready and Synced keep saying so: a
 * transition on the way is no news, and rewording them would cost a status write per poll. A failure
 * shown in either meanwhile (a failed Describe, say) is replaced, as in any other pass.
 */
function waitingConditions(ctx: Context, message: string): ConditionInput[] {
  const awaiting = ctx.currentOperation && lastCallSucceeded(ctx);
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
  const what = text.callOf(action, ctx.target, networkInterfaceId, instanceId);

  if (call.ok) {
    const message = text.accepted(what, call.requestId);
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
          readyInProgress(ctx, text.awaitingConfirmation(message)),
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
  const detail = text.callFailed(what, failure);
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
      events: [{ type: "Warning", reason: `${ctx.verb}Failed`, message: text.notRetried(detail) }],
      next: { kind: "waitForChange" },
    };
  }

  if (errorClass === "AlreadyDone") {
    const message = text.confirming(detail);
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
        : readyInProgress(ctx, text.retrying(detail, retryAt)),
      syncedFalse,
    ]),
    // Throttling is the operator's own pacing problem, not news about the resource.
    events:
      errorClass === "Throttled"
        ? []
        : [{ type: "Warning", reason: `${ctx.verb}Failed`, message: text.retrying(detail, retryAt) }],
    next: { kind: "requeueAfter", ms: delayMs },
  };
}

function observationFailed(ctx: Context, failure: CallFailure): Decision {
  const errorClass = classify(failure.code, "DescribeNetworkInterfaces").class;
  const detail = text.callFailed("DescribeNetworkInterfaces", failure);
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
