import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { ECM_SIGNING_HOST } from "./actions.ts";
import { proxyFor, tunnel } from "./proxy.ts";

/**
 * An idle keep-alive connection is closed after this long, so one that went silent while idle (a load
 * balancer or NAT table dropped its flow) is not handed to the next call. A call's own deadline
 * (10 s for ECM and for STS) aborts its request, which destroys the connection it was on.
 */
export const ECM_IDLE_MS = 4_000;

/**
 * Requests are always signed for ecm.tencentcloudapi.com (or STS's host). When the endpoint is another
 * address (a proxy, or a local emulator) the agent dials that address instead, so the requests stay
 * identical to production ones. HTTPS_PROXY / HTTP_PROXY and NO_PROXY are applied here, explicitly, as
 * curl reads them: through a proxy the agent tunnels to the endpoint with CONNECT and speaks TLS to the
 * endpoint itself, so the proxy sees neither the request nor its signature.
 */
export function agentFor(endpoint: URL, env: NodeJS.ProcessEnv = process.env): http.Agent {
  const secure = endpoint.protocol === "https:";
  const options = { keepAlive: true, timeout: ECM_IDLE_MS };
  const agent = secure ? new https.Agent(options) : new http.Agent(options);
  const proxy = proxyFor(endpoint, env);
  if (proxy === undefined && endpoint.hostname === ECM_SIGNING_HOST && endpoint.port === "") return agent;
  const host = endpoint.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(endpoint.port || (secure ? 443 : 80));
  const servername = net.isIP(host) ? {} : { servername: host };
  if (proxy === undefined) {
    agent.createConnection = () => (secure ? tls.connect({ host, port, ...servername }) : net.connect({ host, port }));
    return agent;
  }
  agent.createConnection = (_options, done: (err: Error | null, socket?: Duplex) => void) => {
    tunnel(proxy, host, port, (err, socket) => {
      if (err || !socket) {
        done(err ?? new Error("no tunnel"));
        return;
      }
      done(null, secure ? tls.connect({ socket, ...servername }) : socket);
    });
    return undefined;
  };
  return agent;
}

/** Where an endpoint's requests go, for the start-up log: directly, or through which proxy. */
export function routeOf(endpoint: URL, env: NodeJS.ProcessEnv = process.env): string {
  const proxy = proxyFor(endpoint, env);
  return proxy === undefined ? "direct" : `through proxy ${proxy.host}`;
}
