import type { Dispatcher } from "undici";

/**
 * What the operator asks of the API server, each with a deadline of its own. `headersMs` bounds the wait
 * for the response's headers (sending included), `bodyMs` the silence between two chunks of its body.
 */
export type ApiRequestKind = "watch" | "list" | "get" | "write" | "lease" | "event" | "review";

export interface Deadline {
  readonly headersMs: number;
  readonly bodyMs: number;
}

/**
 * The one table of the operator's deadlines towards kube-apiserver; the README's table of deadlines
 * mirrors it, with ECM's and STS's. A request that misses its deadline has its connection destroyed
 * (undici's headers and body timeouts close the socket), so a connection that went silent under a load
 * balancer or NAT is never handed to another request.
 *
 * - watch: the API server sends headers at once and ends each watch after 25 s; a watch silent for 30 s
 *   is on a dead connection (client-node's Watch gives up after the same 30 s). With the informer's
 *   1 s back-off and the next watch's headers on a fresh connection, a change on the server is seen
 *   within client-go's 45 s (30 s read idle + 15 s ping) of the connection going silent.
 * - list: pages of 500 objects; the server may take a while to encode them.
 * - get, write, event: one object each.
 * - lease: inside the 10 s renew deadline, with room for three tries 2 s apart; the elector also aborts
 *   each Lease request after the same 2.5 s.
 * - review: TokenReview and SubjectAccessReview hold up a /metrics scrape, whose own timeout is ~10 s.
 */
export const API_DEADLINES: Readonly<Record<ApiRequestKind, Deadline>> = {
  watch: { headersMs: 10_000, bodyMs: 30_000 },
  list: { headersMs: 30_000, bodyMs: 30_000 },
  get: { headersMs: 10_000, bodyMs: 10_000 },
  write: { headersMs: 10_000, bodyMs: 10_000 },
  lease: { headersMs: 2_500, bodyMs: 2_500 },
  event: { headersMs: 10_000, bodyMs: 10_000 },
  review: { headersMs: 5_000, bodyMs: 5_000 },
};

/** Opening a TCP and TLS connection to the API server. */
export const API_CONNECT_TIMEOUT_MS = 10_000;
/** An idle pooled connection is closed after this long, so one that went silent while idle is not reused. */
export const API_IDLE_MS = 4_000;

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * The kind of an API request from its method and path (`/api/v1/...` or `/apis/GROUP/VERSION/...`, then
 * an optional `namespaces/NS/`, a resource, an optional name and subresource).
 */
export function apiRequestKind(method: string, pathAndQuery: string): ApiRequestKind {
  const url = new URL(pathAndQuery, "http://api");
  const segments = url.pathname.split("/").filter((segment) => segment !== "");
  const rest = segments.slice(segments[0] === "apis" ? 3 : 2);
  const scoped = rest[0] === "namespaces" && rest.length >= 3 ? rest.slice(2) : rest;
  const [resource = "", name] = scoped;
  if (resource === "leases") return "lease";
  if (resource === "events") return "event";
  if (resource === "tokenreviews" || resource === "subjectaccessreviews") return "review";
  const verb = method.toUpperCase();
  if (WRITES.has(verb)) return "write";
  if (url.searchParams.get("watch") === "true") return "watch";
  return name === undefined ? "list" : "get";
}

/**
 * An undici interceptor that gives every request the headers and body timeouts of its kind, unless the
 * caller set its own.
 */
export const withApiDeadlines: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (options, handler) => {
  const deadline = API_DEADLINES[apiRequestKind(options.method, options.path)];
  return dispatch(
    {
      ...options,
      headersTimeout: options.headersTimeout ?? deadline.headersMs,
      bodyTimeout: options.bodyTimeout ?? deadline.bodyMs,
    },
    handler,
  );
};
