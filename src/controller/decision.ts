import type { EniAttachment, EniAttachmentStatus } from "../api/eniattachment.ts";
import type { EventSpec } from "../api/event-spec.ts";
import type { MutatingAction } from "../ecm/actions.ts";
import type { ErrorClass } from "../ecm/errors.ts";
import type { EniObservation } from "../ecm/observation.ts";

/** What `decide` is given and what it answers: the contract between the decisions and the reconciler. */
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
  /** The credentials Secret is being deleted and kept for the resources naming it: what to say so. */
  readonly heldSecret?: string;
  /** A reconcile-requested-at value not yet acknowledged: a failure waiting for its retry is retried now. */
  readonly reconcileRequested?: boolean;
  /** This resource's drift interval; default SETTLED_RECHECK_MS. */
  readonly syncPeriodMs?: number;
  readonly now: Date;
  /** In [0, 1): spreads retries. */
  readonly jitter: number;
}

/** What queued a key since its last reconcile. */
export interface Trigger {
  /** The object changed (or appeared): someone is waiting on the answer, so ECM is asked at once. */
  readonly changed: boolean;
  /** The credentials Secret changed: a credentials failure is retried now. */
  readonly credentialsChanged: boolean;
}

export type Next =
  | { readonly kind: "requeueAfter"; readonly ms: number }
  /**
   * The work queue's per-key exponential backoff, for a failed Describe: status shows the failure
   * (observation, Synced) but holds no retry time for it, unlike a failed call's nextAttemptTime.
   */
  | { readonly kind: "backoff"; readonly errorClass: Exclude<ErrorClass, "InvalidRequest"> }
  | { readonly kind: "waitForChange" };

export type Step =
  | { readonly kind: "call"; readonly action: MutatingAction }
  | { readonly kind: "removeFinalizer" }
  | { readonly kind: "none" };

export interface Decision {
  readonly step: Step;
  /**
   * The status this pass leads to. With step removeFinalizer it is written only if the object
   * survives the removal (another finalizer keeps it): one about to disappear is not written to.
   */
  readonly status: EniAttachmentStatus;
  readonly events: readonly EventSpec[];
  readonly next: Next;
}
