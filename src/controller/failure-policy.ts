import { DecodeError } from "../api/decode.ts";
import { FencedOffError } from "../api/fence.ts";
import { EcmError } from "../ecm/errors.ts";
import type { RetryPolicyName } from "./backoff.ts";

/** What the controller does with a reconcile that threw, by what was thrown. */
export type FailurePolicy =
  /** The replica no longer holds the leader lease: not a failure; the key is looked at again soon, without back-off. */
  | { readonly kind: "fenced" }
  /** The object does not match its schema: skipped until it changes. */
  | { readonly kind: "undecodable" }
  /** Retrying cannot help (ECM refused the request as invalid): nothing until the object changes. */
  | { readonly kind: "terminal" }
  /** Retried with back-off: ECM failures by their class, Kubernetes API failures (and anything else) as such. */
  | { readonly kind: "retry"; readonly policy: RetryPolicyName };

export function failurePolicy(error: unknown): FailurePolicy {
  if (error instanceof FencedOffError) return { kind: "fenced" };
  if (error instanceof DecodeError) return { kind: "undecodable" };
  if (error instanceof EcmError) {
    const errorClass = error.classification.class;
    return errorClass === "InvalidRequest" ? { kind: "terminal" } : { kind: "retry", policy: errorClass };
  }
  // ApiException, and the transport failures client-node throws untyped (fetch failed, timeouts).
  return { kind: "retry", policy: "KubernetesApi" };
}
