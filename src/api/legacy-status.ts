import type { EniAttachmentStatus, Operation, StoredStatus } from "./eniattachment.ts";

/**
 * A status read from the API server, with the fields an operator before `status.operation` wrote
 * (top-level action, requestId, errorCode, errorMessage, attempts, lastAttemptTime, nextAttemptTime)
 * read into `operation` (or, for an error with no call recorded, `observation`). They are dropped from
 * the object at the next status write, which replaces the whole status: no migration step.
 */
export function fromLegacyStatus(stored: StoredStatus): EniAttachmentStatus {
  const { action, requestId, errorCode, errorMessage, attempts, lastAttemptTime, nextAttemptTime, ...current } = stored;
  if (current.operation || current.observation) return current;
  if (!action || !lastAttemptTime) {
    // Without a call recorded, an error code could only have come from a failed Describe.
    return errorCode ? { ...current, observation: { errorCode, errorMessage: errorMessage ?? "" } } : current;
  }
  const settled = current.phase === (action === "DetachNetworkInterface" ? "Detached" : "Attached");
  const operation: Operation = {
    action,
    ...(requestId ? { requestId } : {}),
    time: lastAttemptTime,
    outcome: errorCode ? "Failed" : settled ? "Confirmed" : "Accepted",
    ...(errorCode ? { errorCode, errorMessage: errorMessage ?? "" } : {}),
    attempts: attempts ?? 0,
    ...(nextAttemptTime ? { nextAttemptTime } : {}),
  };
  return { ...current, operation };
}
