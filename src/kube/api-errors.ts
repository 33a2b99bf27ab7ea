import { Type } from "typebox";
import { matches } from "../api/decode.ts";

/**
 * The HTTP status of a failed Kubernetes API call, or undefined for other failures. Known by shape (a
 * numeric `code`): the operator's ApiError and client-node's ApiException (the CLI's) both have it,
 * Node's system errors have a string code.
 */
export function statusOf(error: unknown): number | undefined {
  return error instanceof Error && "code" in error && typeof error.code === "number" ? error.code : undefined;
}

export function isNotFound(error: unknown): boolean {
  return statusOf(error) === 404;
}

/** A write lost a race with another writer (resourceVersion or JSON-patch test mismatch). */
export function isConflict(error: unknown): boolean {
  const status = statusOf(error);
  return status === 409 || status === 422;
}

/** The parts of a metav1.Status that name why a request was refused. */
const StatusSchema = Type.Object({
  reason: Type.Optional(Type.String()),
  details: Type.Optional(
    Type.Object({ causes: Type.Optional(Type.Array(Type.Object({ reason: Type.Optional(Type.String()) }))) }),
  ),
});

const NAMESPACE_TERMINATING = "NamespaceTerminating";

/**
 * A create refused because its namespace is being deleted: the API server answers 403 with a
 * NamespaceTerminating cause (or reason). Expected while a namespace goes, never a fault.
 */
export function isNamespaceTerminating(error: unknown): boolean {
  if (statusOf(error) !== 403 || !(error instanceof Error) || !("body" in error)) return false;
  const body: unknown = error.body;
  let status: unknown = body;
  if (typeof body === "string") {
    try {
      status = JSON.parse(body);
    } catch {
      return false;
    }
  }
  if (!matches(StatusSchema, status)) return false;
  return (
    status.reason === NAMESPACE_TERMINATING ||
    (status.details?.causes ?? []).some((cause) => cause.reason === NAMESPACE_TERMINATING)
  );
}
