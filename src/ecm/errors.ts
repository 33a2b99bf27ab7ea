import { ATTACH, DETACH, type EcmAction } from "./actions.ts";

/**
 * The one table that maps every ECM error code to a behaviour. Nothing else in the operator looks at
 * an error code's text: everything asks `classify`.
 */
export type ErrorClass =
  "AlreadyDone" | "InTransition" | "Throttled" | "ServiceFault" | "Credentials" | "InvalidRequest";

/**
 * Codes the operator produces itself for failures that never reached ECM's envelope. They live in the
 * same table so that status, events and metrics treat them like ECM codes.
 */
export const LOCAL_CODES = {
  network: "Transport.NetworkError",
  timeout: "Transport.Timeout",
  httpStatus: "Transport.HttpStatus",
  malformed: "Transport.MalformedResponse",
  credentialsUnavailable: "Credentials.Unavailable",
  secretNotFound: "Credentials.SecretNotFound",
  perResourceDisabled: "Credentials.PerResourceDisabled",
  operatorCredentialsNotAllowed: "Credentials.OperatorCredentialsNotAllowed",
} as const;

interface Rule {
  /** An exact code, or `Family.*` for the code and every sub-code. */
  readonly code: string;
  readonly class: ErrorClass;
  /** Only for this action; other actions fall through to later rules. */
  readonly action?: EcmAction;
}

/** First match wins: specific codes and action-specific rules come before their families. */
export const ERROR_TABLE: readonly Rule[] = [
  // Already done: the interface is not (or no longer) attached; Describe confirms before the finalizer goes.
  { code: "UnsupportedOperation.AttachmentNotFound", class: "AlreadyDone", action: DETACH },
  { code: "ResourceNotFound.*", class: "AlreadyDone", action: DETACH },
  { code: "UnsupportedOperation.AttachmentAlreadyExists", class: "AlreadyDone", action: ATTACH },
  // In transition: another operation on the interface is still running.
  { code: "UnsupportedOperation.InvalidState", class: "InTransition" },
  { code: "ResourceInUse.*", class: "InTransition" },
  { code: "FailedOperation.OperationConflict", class: "InTransition" },
  // Throttled: the shared limiter slows down; never a failure of the resource.
  { code: "RequestLimitExceeded.*", class: "Throttled" },
  // Credentials: slow retry, immediate retry when the credentials Secret changes.
  { code: "AuthFailure.*", class: "Credentials" },
  { code: "UnauthorizedOperation.*", class: "Credentials" },
  { code: LOCAL_CODES.credentialsUnavailable, class: "Credentials" },
  // The resource's namespace may not use the operator's own credentials (--operator-credentials-namespaces).
  { code: LOCAL_CODES.operatorCredentialsNotAllowed, class: "Credentials" },
  // The Secret a resource names does not exist: retried slowly, and at once when it appears.
  { code: LOCAL_CODES.secretNotFound, class: "Credentials" },
  // Service faults: jittered exponential backoff.
  { code: "InternalError.*", class: "ServiceFault" },
  { code: "FailedOperation.InternalOperationFailure", class: "ServiceFault" },
  { code: "ServiceUnavailable.*", class: "ServiceFault" },
  { code: "ResourceUnavailable.*", class: "ServiceFault" },
  { code: "ResourceInsufficient.*", class: "ServiceFault" },
  { code: "Transport.*", class: "ServiceFault" },
  // Invalid requests: nothing changes until the spec does.
  { code: "InvalidParameter.*", class: "InvalidRequest" },
  { code: "InvalidParameterValue.*", class: "InvalidRequest" },
  { code: "MissingParameter.*", class: "InvalidRequest" },
  { code: "UnknownParameter.*", class: "InvalidRequest" },
  { code: "UnsupportedOperation.*", class: "InvalidRequest" },
  { code: "UnsupportedRegion.*", class: "InvalidRequest" },
  { code: "ResourceNotFound.*", class: "InvalidRequest", action: ATTACH },
  { code: "FailedOperation.OperationNotAllow", class: "InvalidRequest" },
  { code: "LimitExceeded.*", class: "InvalidRequest" },
  { code: "RequestSizeLimitExceeded", class: "InvalidRequest" },
  { code: "InvalidAction", class: "InvalidRequest" },
  { code: "NoSuchVersion", class: "InvalidRequest" },
  // The resource names a Secret where per-resource credentials are off: wait for the spec to change.
  { code: LOCAL_CODES.perResourceDisabled, class: "InvalidRequest" },
];

function matches(rule: Rule, code: string, action: EcmAction): boolean {
  if (rule.action !== undefined && rule.action !== action) return false;
  if (!rule.code.endsWith(".*")) return rule.code === code;
  const family = rule.code.slice(0, -2);
  return code === family || code.startsWith(`${family}.`);
}

export interface Classification {
  readonly class: ErrorClass;
  /** False for a code the table does not know: it is handled as a service fault and worth a log line. */
  readonly known: boolean;
}

export function classify(code: string, action: EcmAction): Classification {
  const rule = ERROR_TABLE.find((r) => matches(r, code, action));
  return rule ? { class: rule.class, known: true } : { class: "ServiceFault", known: false };
}

/** Whether the code says the resource's credentials Secret no longer exists (not that it is wrong). */
export function credentialsGone(code: string): boolean {
  return code === LOCAL_CODES.secretNotFound;
}

/** An ECM call that failed: the code from the envelope (or a local code), and the RequestId if ECM gave one. */
export class EcmError extends Error {
  readonly code: string;
  readonly requestId: string;
  readonly action: EcmAction;
  /** ECM's own message (or the local failure's), without the action and code. */
  readonly ecmMessage: string;

  constructor(action: EcmAction, code: string, ecmMessage: string, requestId: string, options?: ErrorOptions) {
    super(`${action} failed with ${code}: ${ecmMessage}`, options);
    this.name = "EcmError";
    this.action = action;
    this.code = code;
    this.ecmMessage = ecmMessage;
    this.requestId = requestId;
  }

  get classification(): Classification {
    return classify(this.code, this.action);
  }
}
