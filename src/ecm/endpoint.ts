import http from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import { ECM_SIGNING_HOST } from "./actions.ts";

/**
 * Requests are always signed for ecm.tencentcloudapi.com. When the endpoint is another address (a
 * proxy, or a local emulator) the agent dials that address instead, so the requests stay identical to
 * production ones. An explicit agent also keeps `http_proxy` from silently rerouting ECM traffic.
 */
export function agentFor(endpoint: URL): http.Agent {
  const secure = endpoint.protocol === "https:";
  if (endpoint.hostname === ECM_SIGNING_HOST && endpoint.port === "") {
    return secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  }
  const host = endpoint.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(endpoint.port || (secure ? 443 : 80));
  const agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  agent.createConnection = () =>
    secure ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }) }) : net.connect({ host, port });
  return agent;
}
