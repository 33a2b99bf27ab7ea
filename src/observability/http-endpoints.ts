import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Registry } from "prom-client";
import type { BindAddress } from "./bind-address.ts";
import type { Guard } from "./metrics-auth.ts";
import type { ServingCertificate } from "./self-signed.ts";

type Handler = () => Promise<{ status: number; contentType: string; body: string }>;

export interface ServeOptions {
  /** Serve HTTPS with this certificate. */
  readonly tls?: ServingCertificate;
  /** Every request must pass it first. */
  readonly guard?: Guard;
}

/** A small HTTP(S) server for a fixed set of GET paths (metrics, health probes). */
export async function serve(
  address: BindAddress,
  routes: Readonly<Record<string, Handler>>,
  options: ServeOptions = {},
): Promise<Server> {
  const text = (res: ServerResponse, status: number, body: string) =>
    res.writeHead(status, { "content-type": "text/plain" }).end(body);
  const answer = async (req: IncomingMessage, res: ServerResponse, path: string, handler: Handler) => {
    const refusal = await options.guard?.(req.headers.authorization, path);
    if (refusal) {
      text(res, refusal.status, refusal.body);
      return;
    }
    const { status, contentType, body } = await handler();
    res.writeHead(status, { "content-type": contentType }).end(body);
  };
  const listener: RequestListener = (req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const handler = req.method === "GET" ? routes[path] : undefined;
    if (!handler) {
      text(res, 404, "not found\n");
      return;
    }
    answer(req, res, path, handler).catch((err: unknown) => text(res, 500, `${String(err)}\n`));
  };
  const server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener)
    : createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}

export function metricsRoutes(registry: Registry): Record<string, Handler> {
  return {
    "/metrics": async () => ({ status: 200, contentType: registry.contentType, body: await registry.metrics() }),
  };
}

/** /healthz: the process serves. /readyz: the caches have synced (not "is leader", as controller-runtime). */
export function probeRoutes(ready: () => boolean): Record<string, Handler> {
  const textType = "text/plain; charset=utf-8";
  return {
    "/healthz": () => Promise.resolve({ status: 200, contentType: textType, body: "ok\n" }),
    "/readyz": () =>
      Promise.resolve(
        ready()
          ? { status: 200, contentType: textType, body: "ok\n" }
          : { status: 503, contentType: textType, body: "informer caches not synced\n" },
      ),
  };
}
