import { ApiException } from "@kubernetes/client-node";

/** The HTTP status of a failed Kubernetes API call, or undefined for other failures. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

export function isNotFound(error: unknown): boolean {
  return statusOf(error) === 404;
}

/** A write lost a race with another writer (resourceVersion or JSON-patch test mismatch). */
export function isConflict(error: unknown): boolean {
  const status = statusOf(error);
  return status === 409 || status === 422;
}
