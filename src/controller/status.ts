import type { EniAttachment, EniAttachmentStatus, Phase } from "../api/eniattachment.ts";
import { ATTACH, DETACH, type MutatingAction } from "../ecm/actions.ts";
import { classify, type ErrorClass } from "../ecm/errors.ts";
import { buildConditions, findCondition, type ConditionInput } from "./conditions.ts";
import type { DecisionInput, Target } from "./decision.ts";
import * as text from "./messages.ts";

/** Facts about the resource that every branch of `decide` and every status it builds use. */
export interface Context {
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

export function targetOf(resource: EniAttachment): Target {
  return resource.metadata.deletionTimestamp || resource.spec.desiredState === "Detached" ? "Detached" : "Attached";
}

export function contextOf(input: DecisionInput): Context {
  const { resource } = input;
  const target = targetOf(resource);
  const action = target === "Detached" ? DETACH : ATTACH;
  const prev = resource.status ?? {};
  return {
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
}

/** The last mutating call recorded in status was accepted (it has a RequestId and no error code). */
export function lastCallSucceeded(ctx: Context): boolean {
  return Boolean(ctx.prev.requestId) && !ctx.prev.errorCode;
}

/** The error class of the last call, if it was this operation's action and failed. */
export function lastFailureClass(ctx: Context): ErrorClass | undefined {
  const code = ctx.prev.action === ctx.action ? ctx.prev.errorCode : undefined;
  return code ? classify(code, ctx.action).class : undefined;
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

/** Synced follows the last call of the current operation: False with its code until a call succeeds. */
export function synced(ctx: Context): ConditionInput {
  const { prev } = ctx;
  if (ctx.currentOperation && prev.errorCode) {
    const previous = findCondition(prev.conditions, "Synced");
    const message =
      previous?.reason === prev.errorCode ? previous.message : text.lastCallFailed(ctx.action, prev.errorCode);
    return { type: "Synced", status: "False", reason: prev.errorCode, message };
  }
  return { type: "Synced", status: "True", reason: "Success", message: text.LAST_CALL_ANSWERED };
}

export type StatusChanges = Partial<EniAttachmentStatus>;

/** The whole status for this pass: carried fields from the last one, then the changes, then conditions. */
export function status(
  ctx: Context,
  changes: StatusChanges,
  conditions: readonly ConditionInput[],
): EniAttachmentStatus {
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

export function elapsedMs(isoTime: string, now: Date): number {
  return Math.max(0, now.getTime() - Date.parse(isoTime));
}
