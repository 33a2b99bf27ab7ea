import type { ConnectionOptions } from "node:tls";
import { Agent, type Dispatcher } from "undici";
import { API_CONNECT_TIMEOUT_MS, API_IDLE_MS, API_PING_INTERVAL_MS, withApiDeadlines } from "./request-deadlines.ts";

/**
 * One pool of connections to the API server: HTTP/2 where the server offers it, each connection
 * health-checked by PING, every request under its deadline (request-deadlines.ts). Every request of the
 * operator goes through one such pool, as client-go's transport does: one TLS handshake, not one per
 * request, and one multiplexed connection under HTTP/2.
 */
export function apiConnectionPool(connect: ConnectionOptions, pingIntervalMs = API_PING_INTERVAL_MS): Dispatcher {
  const agent = new Agent({
    connect: { timeout: API_CONNECT_TIMEOUT_MS, ...connect },
    allowH2: true,
    h2Options: { pingInterval: pingIntervalMs },
    keepAliveTimeout: API_IDLE_MS,
    keepAliveMaxTimeout: API_IDLE_MS,
  });
  return agent.compose(withApiDeadlines);
}
