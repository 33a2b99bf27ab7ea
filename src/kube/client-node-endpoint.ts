import type { AgentOptions, RequestOptions } from "node:https";
import { HttpMethod, KubeConfig, RequestContext } from "@kubernetes/client-node";
import type { Dispatcher } from "undici";
import type { ApiEndpoint } from "./api-endpoint.ts";
import { apiConnectionPool } from "./connection-pool.ts";

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
 * A KubeConfig whose API requests share one connection pool, as client-go's transport does.
 * client-node builds a new undici Agent for every request: each opens its own TLS connection, paying a
 * handshake, and leaves an idle socket with its OpenSSL state behind. Headers (an exec plugin's or an
 * auth provider's token, refreshed as client-node does) are still applied per request; a change of TLS
 * settings (a rotated client certificate) makes a new pool and lets the old one finish its requests.
 * Proxies and basic authentication keep client-node's own handling.
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

/**
 * The API endpoint of a kubeconfig the operator's own reader does not serve (exec plugins, auth
 * providers, basic auth, a proxy, several merged files): client-node's KubeConfig supplies each
 * request's headers and connection pool. Loaded only for such a kubeconfig.
 */
export function clientNodeEndpoint(load: (kc: KubeConfig) => void): ApiEndpoint {
  const kc = new PooledKubeConfig();
  load(kc);
  const server = kc.getCurrentCluster()?.server;
  if (!server) {
    throw new Error(`the kubeconfig's current context (${kc.getCurrentContext() || "none"}) names no cluster server`);
  }
  // Plain http:// (an API server behind a local proxy): a pool without TLS.
  const plain = apiConnectionPool({});
  return {
    server: server.replace(/\/+$/, ""),
    prepare: async () => {
      const context = new RequestContext(server, HttpMethod.GET);
      await kc.applySecurityAuthentication(context);
      return { dispatcher: context.getDispatcher() ?? plain, headers: context.getHeaders() };
    },
  };
}
