import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";

/** Where an object that does not decode was read: a watch event, a (re)list, or a GET. */
export type ReadPath = "watch" | "list" | "get";

/**
 * The one policy for an EniAttachment that does not match its schema, on every path it is read by:
 * it is skipped (a cached copy, if any, stays as it was; nothing is reconciled from it), with one
 * warning naming the field and a count. A later version that decodes is handled as usual.
 */
export function skipUndecodable(
  logger: Logger,
  metrics: Metrics,
  path: ReadPath,
  error: unknown,
  namespace: string | undefined,
  name: string | undefined,
): void {
  metrics.decodeErrors.inc({ path });
  logger.warn({ err: error, namespace, name, path }, "EniAttachment does not match its schema; skipped");
}
