import type { AgentOptions, RequestOptions } from "node:https";
import type { ConnectionOptions } from "node:tls";
import { KubeConfig, type RequestContext } from "@kubernetes/client-node";
import { Agent, type Dispatcher } from "undici";
import { API_CONNECT_TIMEOUT_MS, API_IDLE_MS, API_PING_INTERVAL_MS, withApiDeadlines } from "./request-deadlines.ts";

/** The TLS settings of a request, compared field by field: a rotated certificate or CA differs. */
type Tls = Pick<AgentOptions, "ca" | "cert" | "key" | "pfx" | "passphrase" | "rejectUnauthorized" | "servername">;
const TLS_FIELDS = ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername"] as const;

function sameTls(a: Tls, b: Tls): boolean {
  return TLS_FIELDS.every((field) => {
    const x = a[field];
    const y = b[field];
    return Buffer.isBuffer(x) && Buffer.isBuffer(y) ? x.equals(y) : x === y;
  });
}

/**
 * One pool of connections to the API server: HTTP/2 where the server offers it, each connection
 * health-checked by PING, every request under its deadline (request-deadlines.ts).
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

/**
 * A KubeConfig whose API requests share one connection pool, as client-go's transport does.
 * client-node builds a new undici Agent for every request: each opens its own TLS connection, paying a
 * handshake, and leaves an idle socket with its OpenSSL state behind. At thousands of resources that
 * is most of the operator's CPU and hundreds of MiB of memory. Headers (the bearer token, re-read from
 * its file as client-node does) are still applied per request; a change of TLS settings (a rotated
 * client certificate) makes a new pool and lets the old one finish its requests. Proxies and basic
 * authentication keep client-node's own handling. Every request carries the deadline of its kind and
 * every connection is health-checked (request-deadlines.ts), so a connection that went silent is
 * dropped rather than handed to the next request.
 */
export class PooledKubeConfig extends KubeConfig {
  private pool: { tls: Tls; agent: Dispatcher } | undefined;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    const cluster = this.getCurrentCluster();
    if (cluster?.proxyUrl || this.getCurrentUser()?.username) return super.applySecurityAuthentication(context);
    const options: RequestOptions = {};
    await this.applyToHTTPSOptions(options);
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value !== undefined) context.setHeaderParam(name, String(value));
    }
    const tls: Tls = {};
    for (const field of TLS_FIELDS) if (options[field] !== undefined) Object.assign(tls, { [field]: options[field] });
    const dispatcher = this.createDispatcherOptions(cluster, tls);
    if (dispatcher.type !== "agent") return;
    if (!this.pool || !sameTls(this.pool.tls, tls)) {
      const previous = this.pool;
      this.pool = { tls, agent: apiConnectionPool(dispatcher.connect) };
      void previous?.agent.close();
    }
    context.setDispatcher(this.pool.agent);
  }
}
