import net from "node:net";
import type { Duplex } from "node:stream";

/**
 * The proxy a request to `target` goes through, from the environment as curl reads it: HTTPS_PROXY
 * (or https_proxy) for https targets, HTTP_PROXY (http_proxy) for http ones, none when NO_PROXY
 * (no_proxy) names the target's host. Only http:// proxies, which are sent a CONNECT.
 */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv): URL | undefined {
  const variable = target.protocol === "https:" ? "HTTPS_PROXY" : "HTTP_PROXY";
  const raw = env[variable] || env[variable.toLowerCase()];
  if (!raw) return undefined;
  if (bypassed(target, env["NO_PROXY"] || env["no_proxy"] || "")) return undefined;
  let proxy: URL;
  try {
    proxy = new URL(raw.includes("://") ? raw : `http://${raw}`);
  } catch (cause) {
    throw new Error(`${variable} ${JSON.stringify(raw)} is not a URL such as http://proxy.example.com:3128`, { cause });
  }
  if (proxy.protocol !== "http:") {
    throw new Error(`${variable} must be an http:// proxy (sent a CONNECT), got ${JSON.stringify(raw)}`);
  }
  return proxy;
}

/** NO_PROXY: `*`, or hosts and domains (`example.com` and `.example.com` both match its subdomains), each with an optional port. */
function bypassed(target: URL, noProxy: string): boolean {
  const host = unbracket(target.hostname).toLowerCase();
  const port = target.port || (target.protocol === "https:" ? "443" : "80");
  return noProxy
    .split(/[\s,]+/)
    .filter((entry) => entry !== "")
    .some((entry) => {
      if (entry === "*") return true;
      const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry.toLowerCase());
      if (!match?.[1] || (match[2] !== undefined && match[2] !== port)) return false;
      const name = unbracket(match[1]).replace(/^\*?\./, "");
      return host === name || (!net.isIP(host) && host.endsWith(`.${name}`));
    });
}

function unbracket(host: string): string {
  return host.replace(/^\[(.*)\]$/, "$1");
}

/** At most this much of a proxy's answer to CONNECT is read before it counts as malformed. */
const MAX_CONNECT_ANSWER = 16_384;

/** A TCP tunnel to host:port through `proxy` (HTTP CONNECT, with Basic credentials if the URL has them). */
export function tunnel(
  proxy: URL,
  host: string,
  port: number,
  done: (err: Error | null, socket?: Duplex) => void,
): void {
  const authority = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  const where = `proxy ${proxy.host} (CONNECT ${authority})`;
  const socket = net.connect({ host: unbracket(proxy.hostname), port: Number(proxy.port || 80) });
  const auth = proxy.username
    ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString("base64")}\r\n`
    : "";
  let answer = Buffer.alloc(0);
  const fail = (err: Error) => {
    socket.off("data", onData);
    socket.destroy();
    done(err);
  };
  const onError = (err: Error) => fail(new Error(`${where}: ${err.message}`, { cause: err }));
  const onData = (chunk: Buffer) => {
    answer = Buffer.concat([answer, chunk]);
    const end = answer.indexOf("\r\n\r\n");
    if (end < 0) {
      if (answer.length > MAX_CONNECT_ANSWER) fail(new Error(`${where}: no end to its answer`));
      return;
    }
    const status = answer.subarray(0, answer.indexOf("\r\n")).toString("latin1");
    if (!/^HTTP\/1\.[01] 200 /.test(`${status} `)) {
      fail(new Error(`${where} answered ${JSON.stringify(status)}`));
      return;
    }
    socket.off("data", onData);
    socket.off("error", onError);
    const rest = answer.subarray(end + 4);
    if (rest.length > 0) socket.unshift(rest);
    done(null, socket);
  };
  socket.on("error", onError);
  socket.on("data", onData);
  socket.once("connect", () => {
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
  });
}
