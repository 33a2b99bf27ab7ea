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
 * mirrors it, with ECM's and STS's. The API server speaks HTTP/2 (undici negotiates it), so all requests
 * share one multiplexed connection, as client-go's do. On HTTP/2 a request that misses its deadline has
 * its stream reset and the connection probed with a PING: unanswered within the deadline (at least
 * 1 s), the connection is dropped and what waits on it moves to a new one. Over HTTP/1.1 (a proxy in
 * between that does not speak HTTP/2) the request's socket is destroyed. Either way a connection that
 * went silent under a load balancer or NAT is not handed to the next request.
 *
 * - watch: the API server sends headers at once and ends each watch after 25 s; a watch silent for 28 s
 *   is on a dead connection. 28 s rather than client-node's own 30 s inactivity abort: an abort resets
 *   the stream without probing the connection, the deadline probes it.
 * - list: pages of 500 objects; the server may take a while to encode them.
 * - get, write, event: one object each.
 * - lease: inside the 10 s renew deadline, with room for three tries 2 s apart; before the elector's own
 *   2.5 s abort of each Lease request, for the same reason as the watch's.
 * - review: TokenReview and SubjectAccessReview hold up a /metrics scrape, whose own timeout is ~10 s.
 */
export const API_DEADLINES: Readonly<Record<ApiRequestKind, Deadline>> = {
  watch: { headersMs: 10_000, bodyMs: 28_000 },
  list: { headersMs: 30_000, bodyMs: 30_000 },
  get: { headersMs: 10_000, bodyMs: 10_000 },
  write: { headersMs: 10_000, bodyMs: 10_000 },
  lease: { headersMs: 2_000, bodyMs: 2_000 },
  event: { headersMs: 10_000, bodyMs: 10_000 },
  review: { headersMs: 5_000, bodyMs: 5_000 },
};

/**
 * Every HTTP/2 connection to the API server is sent a PING this often; one whose PING is still
 * unanswered at the next is dropped, failing what it carried (the watches resume on a new one). So a
 * connection that went silent, whatever it carried, is found 15 to 30 s later: within client-go's 45 s
 * (its HTTP/2 health check: 30 s without a frame, then a PING answered within 15 s). undici's default is
 * 60 s, which left a silent connection in use for 60 to 120 s.
 */
export const API_PING_INTERVAL_MS = 15_000;

/** Opening a TCP and TLS connection to the API server. */
export const API_CONNECT_TIMEOUT_MS = 10_000;
/** An idle pooled HTTP/1.1 connection is closed after this long, so one that went silent while idle is not reused. */
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
