import type {
  EniAttachment,
  EniAttachmentStatus,
  ForeignTransition,
  ObservationFailure,
  Operation,
  Phase,
} from "../api/eniattachment.ts";
import { ATTACH, DETACH, type MutatingAction } from "../ecm/actions.ts";
import { classify, type ErrorClass } from "../ecm/errors.ts";
import { buildConditions, findCondition, type ConditionInput } from "./conditions.ts";
import type { DecisionInput, Target } from "./decision.ts";
import * as text from "./messages.ts";

/**
 * Where this target's operation stands, read once from `status.operation`:
 * - none: no call of this target's action is on record (none made, or the last was the other action's);
 * - accepted: ECM accepted it and Describe has not shown its effect yet;
 * - failed: ECM refused it (errorClass from the error table);
 * - confirmed: Describe showed the state it asked for.
 */
export type OperationState =
  | { readonly kind: "none" }
  | { readonly kind: "accepted"; readonly operation: Operation; readonly sinceMs: number }
  | { readonly kind: "failed"; readonly operation: Operation; readonly errorClass: ErrorClass }
  | { readonly kind: "confirmed"; readonly operation: Operation };

/** Facts about the resource that every branch of `decide` and the status it builds use. */
export interface Context {
  readonly input: DecisionInput;
  readonly resource: EniAttachment;
  readonly prev: EniAttachmentStatus;
  readonly generation: number;
  readonly target: Target;
  readonly action: MutatingAction;
  readonly verb: "Detach" | "Attach";
  readonly deleting: boolean;
  readonly state: OperationState;
  /**
   * A call of either action that ECM accepted (or answered "already done") and Describe may not show
   * yet: how long ago it was made. Set whatever the target, since the other action's call may still land.
   */
  readonly unconfirmed?: { readonly operation: Operation; readonly sinceMs: number };
}

export function targetOf(resource: EniAttachment): Target {
  return resource.metadata.deletionTimestamp || resource.spec.desiredState === "Detached" ? "Detached" : "Attached";
}

export function contextOf(input: DecisionInput): Context {
  const { resource } = input;
  const target = targetOf(resource);
  const action = target === "Detached" ? DETACH : ATTACH;
  const prev = resource.status ?? {};
  const operation = prev.operation;
  const unconfirmed =
    operation && awaitsDescribe(operation) ? { operation, sinceMs: elapsedMs(operation.time, input.now) } : undefined;
  return {
    input,
    resource,
    prev,
    generation: resource.metadata.generation ?? 0,
    target,
    action,
    verb: target === "Detached" ? "Detach" : "Attach",
    deleting: Boolean(resource.metadata.deletionTimestamp),
    state: stateOf(operation, action, input.now),
    ...(unconfirmed ? { unconfirmed } : {}),
  };
}

function stateOf(operation: Operation | undefined, action: MutatingAction, now: Date): OperationState {
  if (operation?.action !== action) return { kind: "none" };
  switch (operation.outcome) {
    case "Accepted":
      return { kind: "accepted", operation, sinceMs: elapsedMs(operation.time, now) };
    case "Failed":
      return { kind: "failed", operation, errorClass: classify(operation.errorCode ?? "", action).class };
    case "Confirmed":
      return { kind: "confirmed", operation };
  }
}

/**
 * Whether the call's effect is for Describe to show: accepted, or answered "already done" (ECM's
 * answer to the call sees the latest state; a Describe right after it may not, and calling again
 * would only get the same answer).
 */
function awaitsDescribe(operation: Operation): boolean {
  if (operation.outcome === "Accepted") return true;
  return (
    operation.outcome === "Failed" && classify(operation.errorCode ?? "", operation.action).class === "AlreadyDone"
  );
}

/** The operation is still under way: its calls count on, and its failure shows in Synced. */
export function underWay(state: OperationState): state is Extract<OperationState, { kind: "accepted" | "failed" }> {
  return state.kind === "accepted" || state.kind === "failed";
}

export function inProgressPhase(ctx: Context): Phase {
  return ctx.target === "Detached" ? "Detaching" : "Attaching";
}

export function readyInProgress(ctx: Context, message: string): ConditionInput {
  return { type: "Ready", status: "False", reason: inProgressPhase(ctx), message };
}

export function failedReady(ctx: Context, code: string): ConditionInput {
  return {
    type: "Ready",
    status: "False",
    reason: `${ctx.verb}Failed`,
    message: text.cannotProceed(ctx.action, code, ctx.deleting),
  };
}

/** Synced follows the operation's last call: False with its code while it stands failed. */
export function synced(ctx: Context): ConditionInput {
  const { state } = ctx;
  if (state.kind === "failed") {
    const code = state.operation.errorCode ?? "";
    const previous = findCondition(ctx.prev.conditions, "Synced");
    const message = previous?.reason === code ? previous.message : text.lastCallFailed(ctx.action, code);
    return { type: "Synced", status: "False", reason: code, message };
  }
  return { type: "Synced", status: "True", reason: "Success", message: text.LAST_CALL_ANSWERED };
}

export interface StatusParts {
  readonly phase: Phase;
  /** What Describe showed; the last one's is kept when this pass has none. */
  readonly attachedInstanceId?: string;
  /** The record after this pass; the last one's is kept when undefined. */
  readonly operation?: Operation;
  /** This pass's Describe failure; absent after a Describe that succeeded. */
  readonly observation?: ObservationFailure;
  /** A transition no accepted call started, while Describe shows it. */
  readonly transition?: ForeignTransition;
}

/**
 * The whole status for this pass, built here and only here. Conditions keep their lastTransitionTime
 * unless their status changes; without conditions the last ones are kept.
 */
export function status(ctx: Context, parts: StatusParts, conditions?: readonly ConditionInput[]): EniAttachmentStatus {
  const { prev } = ctx;
  const attachedInstanceId = parts.attachedInstanceId ?? prev.attachedInstanceId;
  const operation = parts.operation ?? prev.operation;
  const built: EniAttachmentStatus = {
    observedGeneration: ctx.generation,
    phase: parts.phase,
    ...(attachedInstanceId === undefined ? {} : { attachedInstanceId }),
    ...(operation ? { operation } : {}),
    ...(parts.observation ? { observation: parts.observation } : {}),
    ...(parts.transition ? { transition: parts.transition } : {}),
    ...(prev.lastHandledReconcileAt === undefined ? {} : { lastHandledReconcileAt: prev.lastHandledReconcileAt }),
    ...(conditions
      ? { conditions: buildConditions(prev.conditions, conditions, ctx.generation, ctx.input.now) }
      : prev.conditions
        ? { conditions: prev.conditions }
        : {}),
  };
  // Fields set to undefined are dropped, so that the status compares equal to what the API server returns.
  return JSON.parse(JSON.stringify(built)) as EniAttachmentStatus;
}

export function elapsedMs(isoTime: string, now: Date): number {
  return Math.max(0, now.getTime() - Date.parse(isoTime));
}
