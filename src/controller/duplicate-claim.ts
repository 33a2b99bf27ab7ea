import type { EniAttachment } from "../api/eniattachment.ts";
import { buildConditions, findCondition } from "./conditions.ts";
import type { Decision } from "./decision.ts";
import * as text from "./messages.ts";

export const DUPLICATE_CLAIM = "DuplicateClaim";

/**
 * The decision for a resource that names an ENI another, older resource owns (`owner`, as
 * namespace/name): it makes no ECM call of any kind. Live, it shows Ready and Synced False with reason
 * DuplicateClaim naming the owner, with one event, and waits: the owner's going reconciles it again.
 * Deleted, it is let go at once (its finalizer, if it has one, removed) without touching the ENI.
 */
export function duplicateClaim(resource: EniAttachment, owner: string, now: Date): Decision {
  const prev = resource.status ?? {};
  const generation = resource.metadata.generation ?? 0;
  const message = text.duplicateClaim(resource.spec.networkInterfaceId, resource.spec.ecmRegion, owner);
  const said = findCondition(prev.conditions, "Ready");
  const alreadyTold = said?.reason === DUPLICATE_CLAIM && said.message === message;
  // No Describe is made for it, so an earlier one's failure no longer says anything.
  const kept = { ...prev };
  delete kept.observation;
  const status = {
    ...kept,
    observedGeneration: generation,
    phase: "Pending" as const,
    conditions: buildConditions(
      prev.conditions,
      [
        { type: "Ready", status: "False", reason: DUPLICATE_CLAIM, message },
        { type: "Synced", status: "False", reason: DUPLICATE_CLAIM, message },
      ],
      generation,
      now,
    ),
  };
  if (resource.metadata.deletionTimestamp) {
    return { step: { kind: "removeFinalizer" }, status, events: [], next: { kind: "waitForChange" } };
  }
  return {
    step: { kind: "none" },
    status,
    events: alreadyTold ? [] : [{ type: "Warning", reason: DUPLICATE_CLAIM, message }],
    next: { kind: "waitForChange" },
  };
}
