import type { EniAttachment } from "../api/eniattachment.ts";
import { keyOf } from "./keys.ts";

/**
 * Which of the EniAttachments naming one ENI in one region owns it: the oldest by creationTimestamp,
 * then by namespace/name, so every replica and every pass agrees. Only the owner calls ECM for the
 * ENI; the others wait, showing `DuplicateClaim`, until it goes.
 */
export function ownerOf(claimants: readonly EniAttachment[]): EniAttachment | undefined {
  let owner: EniAttachment | undefined;
  for (const claimant of claimants) if (!owner || older(claimant, owner)) owner = claimant;
  return owner;
}

function older(a: EniAttachment, b: EniAttachment): boolean {
  const byTime = createdAt(a) - createdAt(b);
  return byTime !== 0 ? byTime < 0 : keyOf(a) < keyOf(b);
}

/** Milliseconds since the epoch; a resource without a creation time (never from the API server) sorts last. */
function createdAt(resource: EniAttachment): number {
  const created = resource.metadata.creationTimestamp;
  const ms = created === undefined ? NaN : new Date(created).getTime();
  return Number.isNaN(ms) ? Number.MAX_SAFE_INTEGER : ms;
}
