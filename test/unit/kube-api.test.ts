import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FencedOffError } from "../../src/api/fence.ts";
import { ApiError, KubeApi } from "../../src/kube/api-client.ts";
import { CREDENTIAL_REREAD_MS, loadApiEndpoint } from "../../src/kube/api-endpoint.ts";
import { isNamespaceTerminating, isNotFound } from "../../src/kube/api-errors.ts";
import { watchStream } from "../../src/kube/watch-stream.ts";

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

/** A plain-HTTP stand-in for the API server: records each request and answers with `reply`. */
let reply: (request: IncomingMessage, response: ServerResponse) => void;
const seen: Seen[] = [];
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
    request.on("end", () => {
      seen.push({
        method: request.method ?? "",
        url: request.url ?? "",
        authorization: request.headers.authorization,
        contentType: request.headers["content-type"],
        body,
      });
      reply(request, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const json = (status: number, value: unknown) => (_request: IncomingMessage, response: ServerResponse) => {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
};

/** A kubeconfig file in a directory of its own; `files` are written beside it. */
function kubeconfig(user: Record<string, unknown>, files: Record<string, string> = {}, cluster = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "kube-api-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const path = join(dir, "config");
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "x",
      contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
      clusters: [{ name: "c", cluster: { server: url, ...cluster } }],
      users: [{ name: "u", user }],
    }),
  );
  return path;
}

describe("the operator's own Kubernetes client", () => {
  it("sends the kubeconfig's token, the JSON body and its media type, and returns the parsed answer", async () => {
    reply = json(200, { kind: "Thing", metadata: { name: "a" } });
    const api = new KubeApi(await loadApiEndpoint(kubeconfig({ token: "t0ken" })));
    const answer = await api.request("PATCH", "/api/v1/namespaces/ns/things/a", {
      query: { fieldManager: "eni-operator", skipped: undefined },
      body: [{ op: "remove", path: "/metadata/finalizers/0" }],
      contentType: "application/json-patch+json",
    });
    expect(answer).toEqual({ kind: "Thing", metadata: { name: "a" } });
    expect(seen.at(-1)).toEqual({
      method: "PATCH",
      url: "/api/v1/namespaces/ns/things/a?fieldManager=eni-operator",
      authorization: "Bearer t0ken",
      contentType: "application/json-patch+json",
      body: '[{"op":"remove","path":"/metadata/finalizers/0"}]',
    });
  });

  it("throws an error status as ApiError with the server's Status, which the error tests read", async () => {
    const status = {
      kind: "Status",
      message: 'events "e" is forbidden: namespace ns is being terminated',
      reason: "Forbidden",
      details: { causes: [{ reason: "NamespaceTerminating" }] },
      code: 403,
    };
    reply = json(403, status);
    const api = new KubeApi(await loadApiEndpoint(kubeconfig({ token: "t0ken" })));
    const refused = await api.request("POST", "/api/v1/namespaces/ns/events", { body: {} }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ code: 403, body: status });
    expect(String(refused)).toContain('HTTP 403: events "e" is forbidden');
    expect(isNamespaceTerminating(refused)).toBe(true);
    reply = json(404, { kind: "Status", reason: "NotFound", code: 404 });
    expect(isNotFound(await api.request("GET", "/api/v1/namespaces/ns/things/b").catch((e: unknown) => e))).toBe(true);
  });

  it("refuses a fenced-off write before anything is sent", async () => {
    reply = json(200, {});
    const api = new KubeApi(await loadApiEndpoint(kubeconfig({ token: "t0ken" })));
    const before = seen.length;
    const refused = api.request("PUT", "/x", { body: {}, fence: () => false, what: "status write" });
    await expect(refused).rejects.toBeInstanceOf(FencedOffError);
    await expect(refused).rejects.toThrow(/status write refused/);
    expect(seen.length).toBe(before);
  });

  it("reads a tokenFile relative to the kubeconfig, and again after the re-read interval (a rotated token)", async () => {
    reply = json(200, {});
    let now = 0;
    const path = kubeconfig({ tokenFile: "token" }, { token: "first\n" });
    const api = new KubeApi(await loadApiEndpoint(path, () => now));
    await api.request("GET", "/x");
    expect(seen.at(-1)?.authorization).toBe("Bearer first");
    writeFileSync(join(path, "..", "token"), "second");
    now = CREDENTIAL_REREAD_MS - 1;
    await api.request("GET", "/x");
    expect(seen.at(-1)?.authorization).toBe("Bearer first");
    now = CREDENTIAL_REREAD_MS;
    await api.request("GET", "/x");
    expect(seen.at(-1)?.authorization).toBe("Bearer second");
  });

  it("hands a kubeconfig it does not serve itself (an exec plugin) to client-node's KubeConfig", async () => {
    reply = json(200, {});
    const credential = JSON.stringify({
      apiVersion: "client.authentication.k8s.io/v1",
      kind: "ExecCredential",
      status: { token: "from-exec" },
    });
    const exec = {
      apiVersion: "client.authentication.k8s.io/v1",
      command: process.execPath,
      args: ["-e", `process.stdout.write(${JSON.stringify(credential)})`],
      interactiveMode: "Never",
    };
    // client-node takes a plain-HTTP server only with TLS verification off.
    const api = new KubeApi(await loadApiEndpoint(kubeconfig({ exec }, {}, { "insecure-skip-tls-verify": true })));
    await api.request("GET", "/x");
    expect(seen.at(-1)?.authorization).toBe("Bearer from-exec");
  });

  it("names what is missing in a kubeconfig", async () => {
    const path = kubeconfig({ token: "t" });
    writeFileSync(path, JSON.stringify({ "current-context": "gone", contexts: [] }));
    await expect(loadApiEndpoint(path)).rejects.toThrow(/the current context \(gone\) is not defined/);
    await expect(loadApiEndpoint(join(path, "..", "absent"))).rejects.toThrow(/--kubeconfig .*absent: no such file/);
  });

  it("watches: one event per line, a line that is not an event skipped, `done` when the server ends it", async () => {
    reply = (_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n{"type":"MODI');
      response.write('FIED","object":{"metadata":{"name":"a"}}}\nnot json\n');
      response.end('{"type":"DELETED","object":{"metadata":{"name":"a"}}}\n');
    };
    const stream = watchStream(new KubeApi(await loadApiEndpoint(kubeconfig({ token: "t" }))));
    const events: string[] = [];
    const ended = await new Promise<unknown>((resolve) => {
      void stream.watch("/apis/x/v1/things", { resourceVersion: "5" }, (type) => events.push(type), resolve);
    });
    expect(ended).toBeUndefined();
    expect(events).toEqual(["ADDED", "MODIFIED", "DELETED"]);
    expect(seen.at(-1)?.url).toBe("/apis/x/v1/things?resourceVersion=5&watch=true");
  });

  it("ends a watch the server refuses (410 Gone) through `done`, with the status the informer reads", async () => {
    reply = json(410, { kind: "Status", reason: "Expired", code: 410 });
    const stream = watchStream(new KubeApi(await loadApiEndpoint(kubeconfig({ token: "t" }))));
    const ended = await new Promise<unknown>((resolve) => {
      void stream.watch("/apis/x/v1/things", {}, () => undefined, resolve);
    });
    expect(ended).toMatchObject({ code: 410 });
  });
});
