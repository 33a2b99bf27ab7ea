import { createServer, type Server } from "node:http";
import type { BindAddress } from "./bind-address.ts";
import type { Registry } from "prom-client";

type Handler = () => Promise<{ status: number; contentType: string; body: string }>;

/** A small HTTP server for a fixed set of GET paths (metrics, health probes). */
export async function serve(address: BindAddress, routes: Readonly<Record<string, Handler>>): Promise<Server> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const handler = req.method === "GET" ? routes[path] : undefined;
    if (!handler) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    handler().then(
      ({ status, contentType, body }) => res.writeHead(status, { "content-type": contentType }).end(body),
      (err: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`${String(err)}\n`),
    );
  });
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
  const text = "text/plain; charset=utf-8";
  return {
    "/healthz": () => Promise.resolve({ status: 200, contentType: text, body: "ok\n" }),
    "/readyz": () =>
      Promise.resolve(
        ready()
          ? { status: 200, contentType: text, body: "ok\n" }
          : { status: 503, contentType: text, body: "informer caches not synced\n" },
      ),
  };
}
