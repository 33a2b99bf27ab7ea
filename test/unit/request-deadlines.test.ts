import { createServer, request as httpRequest, type Server, type ServerResponse } from "node:http";
import { createSecureServer } from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { agentFor } from "../../src/ecm/endpoint.ts";
import { selfSignedCertificate } from "../../src/observability/self-signed.ts";
import { waitFor } from "../support/operator.ts";
import { startSilencingProxy } from "../support/silencing-proxy.ts";
import { apiConnectionPool } from "../../src/kube/connection-pool.ts";
import { DEFAULT_TIMINGS } from "../../src/kube/lease-timings.ts";
import { API_DEADLINES, API_PING_INTERVAL_MS, apiRequestKind } from "../../src/kube/request-deadlines.ts";

describe("the kind of an API request", () => {
  it.each([
    ["GET", "/apis/ecm.eni-operator.io/v1/namespaces/a/eniattachments?watch=true&resourceVersion=5", "watch"],
    ["GET", "/apis/ecm.eni-operator.io/v1/namespaces/a/eniattachments?limit=500", "list"],
    ["GET", "/apis/ecm.eni-operator.io/v1/eniattachments", "list"],
    ["GET", "/apis/ecm.eni-operator.io/v1/namespaces/a/eniattachments/x", "get"],
    ["GET", "/api/v1/namespaces/a/secrets/creds", "get"],
    ["GET", "/api/v1/namespaces/a", "get"],
    ["GET", "/api/v1/namespaces", "list"],
    ["PATCH", "/apis/ecm.eni-operator.io/v1/namespaces/a/eniattachments/x/status", "write"],
    ["PUT", "/apis/coordination.k8s.io/v1/namespaces/a/leases/eni-operator", "lease"],
    ["GET", "/apis/coordination.k8s.io/v1/namespaces/a/leases/eni-operator", "lease"],
    ["POST", "/api/v1/namespaces/a/events", "event"],
    ["POST", "/apis/events.k8s.io/v1/namespaces/a/events", "event"],
    ["POST", "/apis/authentication.k8s.io/v1/tokenreviews", "review"],
    ["POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", "review"],
  ])("%s %s is a %s", (method, path, kind) => {
    expect(apiRequestKind(method, path)).toBe(kind);
  });

  it("gives a watch room for the server's 25 s close, and finds a dead connection within client-go's 45 s", () => {
    expect(API_DEADLINES.watch.bodyMs).toBeGreaterThan(25_000);
    // Its deadline, which probes the connection, comes before client-node's 30 s abort, which does not.
    expect(API_DEADLINES.watch.bodyMs).toBeLessThan(30_000);
    // A PING unanswered at the next one drops the connection; the watch resumes 1 s later.
    expect(2 * API_PING_INTERVAL_MS + 1_000).toBeLessThanOrEqual(45_000);
  });

  it("ends a Lease request before the elector's own 2.5 s abort", () => {
    expect(API_DEADLINES.lease.headersMs).toBeLessThan(DEFAULT_TIMINGS.requestTimeoutMs);
  });
});

/**
 * A server whose connections answer until `silence()` is called: from then on the connections already
 * open read requests and never answer, as a flow a load balancer dropped, while new ones answer.
 */
function silencingServer() {
  const sockets: Socket[] = [];
  const silenced = new Set<Socket>();
  const held: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    if (silenced.has(req.socket)) {
      held.push(res);
      return;
    }
    res.end(String(sockets.indexOf(req.socket)));
  });
  server.on("connection", (socket: Socket) => sockets.push(socket));
  return {
    server,
    sockets,
    silence: () => {
      for (const socket of sockets) silenced.add(socket);
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describe("a request that misses its deadline", () => {
  let bed: ReturnType<typeof silencingServer> | undefined;
  afterEach(() => bed?.close());

  const listen = async () => {
    bed = silencingServer();
    const { server } = bed;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  it("destroys its connection to the API server: the next request opens a new one and is answered", async () => {
    const origin = await listen();
    const pool = apiConnectionPool({});
    const path = "/apis/ecm.eni-operator.io/v1/namespaces/a/eniattachments/x";
    const first = await request(`${origin}${path}`, { dispatcher: pool });
    expect(await first.body.text()).toBe("0");
    // undici hands an answered connection to the next request only a turn of the event loop later.
    await new Promise((resolve) => setTimeout(resolve, 50));
    bed?.silence();
    await expect(request(`${origin}${path}`, { dispatcher: pool, headersTimeout: 300 })).rejects.toMatchObject({
      code: "UND_ERR_HEADERS_TIMEOUT",
    });
    const after = await request(`${origin}${path}`, { dispatcher: pool });
    expect(await after.body.text()).toBe("1");
    expect(bed?.sockets.map((socket) => socket.destroyed)).toEqual([true, false]);
    await pool.close();
  });

  it("destroys its connection to ECM: the next call opens a new one and is answered", async () => {
    const origin = await listen();
    const agent = agentFor(new URL(origin));
    // What the SDK's fetch does when a call's deadline aborts it.
    const get = (deadlineMs?: number) =>
      new Promise<string>((resolve, reject) => {
        const req = httpRequest(origin, { agent }, (res) => {
          let body = "";
          res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
          res.on("end", () => resolve(body));
        });
        req.on("error", reject);
        if (deadlineMs !== undefined) setTimeout(() => req.destroy(new Error("deadline")), deadlineMs);
        req.end();
      });
    expect(await get()).toBe("0");
    bed?.silence();
    await expect(get(300)).rejects.toThrow("deadline");
    expect(await get()).toBe("1");
    expect(bed?.sockets.map((socket) => socket.destroyed)).toEqual([true, false]);
    agent.destroy();
  });
});

describe("an HTTP/2 connection to the API server that goes silent", () => {
  it("is dropped by its unanswered PING, with no request on it, and the next request opens a new one", async () => {
    const { cert, key } = await selfSignedCertificate(["localhost"]);
    const server = createSecureServer({ cert, key }, (_req, res) => res.end("ok"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const proxy = await startSilencingProxy({ host: "127.0.0.1", port: (server.address() as AddressInfo).port });
    const pool = apiConnectionPool({ rejectUnauthorized: false }, 200);
    const url = `https://${proxy.address}/apis/ecm.eni-operator.io/v1/namespaces/a/eniattachments/x`;
    try {
      const first = await request(url, { dispatcher: pool });
      expect(await first.body.text()).toBe("ok");
      proxy.silenceExisting();
      // Within two PING intervals: the first PING goes unanswered, the second finds it so and drops the connection.
      await waitFor(() => proxy.connections().open === 0, 10_000, 20);
      const after = await request(url, { dispatcher: pool });
      expect(await after.body.text()).toBe("ok");
      expect(proxy.connections()).toMatchObject({ accepted: 2, open: 1 });
    } finally {
      await pool.destroy();
      await proxy.close();
      server.close();
    }
  });
});
