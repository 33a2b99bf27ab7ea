import type { EniAttachment } from "../api/eniattachment.ts";
import type { MutatingAction } from "../ecm/actions.ts";
import type { CallFailure, Target } from "./decision.ts";

/**
 * Every text the operator writes into conditions and events, in one place so that their wording can
 * be read (and changed) together. Each names the interface, the instance, the RequestId or the code
 * a user needs to act on.
 */

export function orphaned(resource: EniAttachment): string {
  const { networkInterfaceId, instanceId } = resource.spec;
  return `deletionPolicy is Orphan: ${networkInterfaceId} is left as it is on ${instanceId}, no DetachNetworkInterface call was made`;
}

export function released(resource: EniAttachment): string {
  const { networkInterfaceId } = resource.spec;
  return `managementPolicy is Observe: ${networkInterfaceId} is left as ECM shows it, no DetachNetworkInterface call was made`;
}

export function inState(networkInterfaceId: string, state: string): string {
  return `ECM reports ${networkInterfaceId} as ${state}`;
}

export function awaitingShow(action: string, requestId: string): string {
  return `${action} accepted (RequestId ${requestId}); waiting for ECM to show it`;
}

export function attachedElsewhere(networkInterfaceId: string, attachedTo: string, instanceId: string): string {
  return `${networkInterfaceId} is attached to ${attachedTo}, not ${instanceId}: detach it there first`;
}

export function retryingAt(time: string): string {
  return `retrying at ${time}`;
}

export function reached(target: Target, networkInterfaceId: string, instanceId: string): string {
  return target === "Attached"
    ? `${networkInterfaceId} is attached to ${instanceId}`
    : `${networkInterfaceId} is not attached to ${instanceId}`;
}

export function settledBeforeCredentialsWent(networkInterfaceId: string, instanceId: string): string {
  return `${networkInterfaceId} was last seen not attached to ${instanceId}, and the credentials Secret is gone: released as the status records it`;
}

export function withRequestId(message: string, requestId: string | undefined): string {
  return requestId ? `${message} (RequestId ${requestId})` : message;
}

export const DESIRED_STATE_REPORTED = "ECM reports the desired state";

/** Synced's message once settled, with what holding the credentials Secret means, if it is being deleted. */
export function settledSynced(heldSecret: string | undefined): string {
  return heldSecret ? `${DESIRED_STATE_REPORTED}; ${heldSecret}` : DESIRED_STATE_REPORTED;
}

/** In the status of a resource naming a held Secret whose deletion was requested. */
export function heldSecret(secret: string): string {
  return `Secret ${secret} (spec.credentialsSecretRef) is being deleted; it is kept while this and any other EniAttachment name it`;
}
export const LAST_CALL_ANSWERED = "ECM answered the last call";

/** "DetachNetworkInterface eni-... from ein-..." */
export function callOf(action: MutatingAction, target: Target, networkInterfaceId: string, instanceId: string): string {
  return `${action} ${networkInterfaceId} ${target === "Detached" ? "from" : "to"} ${instanceId}`;
}

export function accepted(call: string, requestId: string): string {
  return `${call} accepted, RequestId ${requestId}`;
}

export function awaitingConfirmation(acceptedMessage: string): string {
  return `${acceptedMessage}; waiting for ECM to confirm`;
}

export function callFailed(call: string, failure: CallFailure): string {
  return `${call} failed with ${failure.code}: ${failure.message} (RequestId ${failure.requestId || "none"})`;
}

export function notRetried(detail: string): string {
  return `${detail}; not retried until the spec changes`;
}

export function confirming(detail: string): string {
  return `${detail}: confirming with DescribeNetworkInterfaces`;
}

export function retrying(detail: string, retryAt: string): string {
  return `${detail}; retrying at ${retryAt}`;
}

export function cannotProceed(action: MutatingAction, code: string, deleting: boolean): string {
  const hint = deleting
    ? "fix the cause, or set deletionPolicy: Orphan to delete without detaching"
    : "fix the cause; an invalid request is retried only after the spec changes";
  return `${action} cannot proceed (${code}): ${hint}`;
}

export function lastCallFailed(action: MutatingAction, code: string): string {
  return `${action} failed with ${code}`;
}

/** At most this many names in one message; the rest are counted. */
const NAMES_SHOWN = 10;

function nameList(names: readonly string[]): string {
  const shown = names.slice(0, NAMES_SHOWN).join(", ");
  return names.length > NAMES_SHOWN ? `${shown} and ${names.length - NAMES_SHOWN} more` : shown;
}

/** On a held Secret whose deletion was requested. */
export function secretDeletionWaits(finalizer: string, namers: readonly string[]): string {
  return `deletion waits until no EniAttachment names this Secret (finalizer ${finalizer}), so their ENIs can still be detached; named by ${nameList(namers)}`;
}

/** On each resource naming that Secret. */
export function credentialsSecretDeleting(secret: string, namers: readonly string[]): string {
  return `Secret ${secret} (spec.credentialsSecretRef) is being deleted; it is kept until no EniAttachment names it: ${nameList(namers)}`;
}

export function duplicateClaim(networkInterfaceId: string, region: string, owner: string): string {
  return `${networkInterfaceId} in ${region} is owned by EniAttachment ${owner}, the oldest that names it: no ECM call is made for this one until ${owner} is gone`;
}
