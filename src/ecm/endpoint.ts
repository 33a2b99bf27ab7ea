import http from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import { ECM_SIGNING_HOST } from "./actions.ts";

/**
 * An idle keep-alive connection is closed after this long, so one that went silent while idle (a load
 * balancer or NAT table dropped its flow) is not handed to the next call. A call's own deadline
 * (10 s for ECM and for STS) aborts its request, which destroys the connection it was on.
 */
export const ECM_IDLE_MS = 4_000;

/**
 * Requests are always signed for ecm.tencentcloudapi.com. When the endpoint is another address (a
 * proxy, or a local emulator) the agent dials that address instead, so the requests stay identical to
 * production ones. An explicit agent also keeps `http_proxy` from silently rerouting ECM traffic.
 */
export function agentFor(endpoint: URL): http.Agent {
  const secure = endpoint.protocol === "https:";
  const options = { keepAlive: true, timeout: ECM_IDLE_MS };
  if (endpoint.hostname === ECM_SIGNING_HOST && endpoint.port === "") {
    return secure ? new https.Agent(options) : new http.Agent(options);
  }
  const host = endpoint.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(endpoint.port || (secure ? 443 : 80));
  const agent = secure ? new https.Agent(options) : new http.Agent(options);
  agent.createConnection = () =>
    secure ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }) }) : net.connect({ host, port });
  return agent;
}
