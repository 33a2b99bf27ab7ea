import { PAUSED_ANNOTATION, RECONCILE_REQUESTED_ANNOTATION, type EniAttachment } from "../api/eniattachment.ts";
import type { EventSpec } from "../api/event-spec.ts";
import { findCondition } from "./conditions.ts";
import type { Decision } from "./decision.ts";
import { contextOf, status } from "./status.ts";

export function isPaused(resource: EniAttachment): boolean {
  return resource.metadata.annotations?.[PAUSED_ANNOTATION] === "true";
}

/** The reconcile-requested-at value not yet acknowledged in status.lastHandledReconcileAt, if any. */
export function pendingReconcileRequest(resource: EniAttachment): string | undefined {
  const requested = resource.metadata.annotations?.[RECONCILE_REQUESTED_ANNOTATION];
  return requested !== undefined && requested !== resource.status?.lastHandledReconcileAt ? requested : undefined;
}

const PAUSED_MESSAGE = `annotation ${PAUSED_ANNOTATION} is "true": no ECM call and no drift correction until it is removed`;

/**
 * A paused live resource: no Describe, no call, Ready as it last was, Synced False reason Paused. A
 * reconcile request waits for the pause to end: it is acknowledged with the fresh Describe it asks for.
 */
export function pausedDecision(resource: EniAttachment, now: Date): Decision {
  const ctx = contextOf({
    resource,
    observed: { ok: false, failure: { code: "", message: "", requestId: "" } },
    now,
    jitter: 0,
  });
  const ready = findCondition(ctx.prev.conditions, "Ready");
  const wasPaused = findCondition(ctx.prev.conditions, "Synced")?.reason === "Paused";
  return {
    step: { kind: "none" },
    status: status(
      ctx,
      {
        phase: ctx.prev.phase ?? "Pending",
        ...(ctx.prev.observation ? { observation: ctx.prev.observation } : {}),
        ...(ctx.prev.transition ? { transition: ctx.prev.transition } : {}),
      },
      [
        ready
          ? { ...ready, type: "Ready" }
          : { type: "Ready", status: "Unknown", reason: "Paused", message: PAUSED_MESSAGE },
        { type: "Synced", status: "False", reason: "Paused", message: PAUSED_MESSAGE },
      ],
    ),
    events: wasPaused ? [] : [{ type: "Normal", reason: "Paused", message: PAUSED_MESSAGE }],
    next: { kind: "waitForChange" },
  };
}

/** The events of a deletion that goes ahead although the resource is paused say so. */
export function deletingWhilePaused(event: EventSpec): EventSpec {
  return {
    ...event,
    message: `${event.message} (annotation ${PAUSED_ANNOTATION} is set, but a deletion is the later, explicit instruction and goes ahead)`,
  };
}
