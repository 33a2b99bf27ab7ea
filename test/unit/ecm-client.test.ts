import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { request as httpRequest, Agent } from "node:http";
import { FencedOffError } from "../../src/api/fence.ts";
import { CallTurns } from "../../src/ecm/call-turns.ts";
import { EcmClient, LIMITER_IDLE_MS, accountLabel } from "../../src/ecm/client.ts";
import { fenceConnections } from "../../src/ecm/fenced-connections.ts";
import { EcmError } from "../../src/ecm/errors.ts";
import { DescribeResponseSchema, MutatingResponseSchema } from "../../src/ecm/responses.ts";
import { Metrics } from "../../src/observability/metrics.ts";

// The ECM client's error mapping, through a local HTTP server that answers each request as scripted.
type Answer = (request: IncomingMessage, response: ServerResponse) => void;

const envelope =
  (body: unknown): Answer =>
  (_request, response) => {
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ Response: body }));
  };
const raw =
  (status: number, body: string): Answer =>
  (_request, response) => {
    response.writeHead(status, { "content-type": "application/json" }).end(body);
  };
const silence: Answer = () => undefined;
const drop: Answer = (request) => request.socket.destroy();

const A = { secretId: "AKIDaccountA", secretKey: "keyA" };
const B = { secretId: "AKIDaccountB", secretKey: "keyB" };
const PARAMS = { NetworkInterfaceId: "eni-00000001", InstanceId: "ein-00000001", EcmRegion: "ap-xian-ecm" };

let server: Server;
let port = 0;
let answers: Answer[] = [];
let received: { action: string; secretId: string }[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      const secretId = /Credential=([^/]+)\//.exec(request.headers.authorization ?? "")?.[1] ?? "";
      received.push({ action: String(request.headers["x-tc-action"]), secretId });
      (answers.shift() ?? raw(500, "no answer scripted"))(request, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  answers = [];
  received = [];
});

function client(
  options: { transportRetries?: number; timeoutMs?: number; fence?: () => boolean; now?: () => number } = {},
) {
  const metrics = new Metrics();
  const warnings: string[] = [];
  const logger = pino({ level: "warn" }, { write: (line: string) => warnings.push(line) });
  const ecm = new EcmClient({
    endpoint: new URL(`http://127.0.0.1:${port}`),
    qps: 20,
    burst: 20,
    timeoutMs: options.timeoutMs ?? 1000,
    transportRetries: options.transportRetries ?? 0,
    transportRetryMs: 10,
    metrics,
    logger,
    ...(options.fence ? { fence: options.fence } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  return { ecm, metrics, warnings };
}

async function failure(promise: Promise<unknown>): Promise<EcmError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof EcmError)) throw new Error(`expected an EcmError, got ${String(error)}`);
  return error;
}

describe("the ECM client", () => {
  it("returns the decoded answer of a successful call", async () => {
    answers.push(envelope({ RequestId: "req-ok" }));
    const { ecm } = client();
    expect(await ecm.call("DetachNetworkInterface", PARAMS, A, MutatingResponseSchema)).toEqual({
      RequestId: "req-ok",
    });
    expect(received).toEqual([{ action: "DetachNetworkInterface", secretId: A.secretId }]);
  });

  it("maps an ECM error envelope to its code and RequestId", async () => {
    answers.push(envelope({ Error: { Code: "ResourceInUse", Message: "busy" }, RequestId: "req-busy" }));
    const error = await failure(client().ecm.call("DetachNetworkInterface", PARAMS, A, MutatingResponseSchema));
    expect(error).toMatchObject({ code: "ResourceInUse", requestId: "req-busy", ecmMessage: "busy" });
  });

  it("maps a non-200 answer to Transport.HttpStatus", async () => {
    answers.push(raw(502, "bad gateway"));
    const error = await failure(client().ecm.call("DetachNetworkInterface", PARAMS, A, MutatingResponseSchema));
    expect(error.code).toBe("Transport.HttpStatus");
    expect(error.ecmMessage).toContain("502");
  });

  it("maps a body that is not JSON to Transport.MalformedResponse", async () => {
    answers.push(raw(200, "<html>proxy error</html>"));
    const error = await failure(client().ecm.call("DetachNetworkInterface", PARAMS, A, MutatingResponseSchema));
    expect(error.code).toBe("Transport.MalformedResponse");
  });

  it("maps an envelope that does not match the answer's schema to Transport.MalformedResponse naming the field", async () => {
    answers.push(
      envelope({ RequestId: "req-1", NetworkInterfaceSet: [{ NetworkInterfaceId: "eni-1", State: "MELTING" }] }),
    );
    const error = await failure(
      client().ecm.call("DescribeNetworkInterfaces", { EcmRegion: "ap-xian-ecm" }, A, DescribeResponseSchema),
    );
    expect(error.code).toBe("Transport.MalformedResponse");
    expect(error.ecmMessage).toContain("/NetworkInterfaceSet/0/State");
  });

  it("maps no answer within the timeout to Transport.Timeout", async () => {
    answers.push(silence);
    const error = await failure(
      client({ timeoutMs: 200 }).ecm.call("DetachNetworkInterface", PARAMS, A, MutatingResponseSchema),
    );
    expect(error.code).toBe("Transport.Timeout");
  });

  it("maps a dropped connection to Transport.NetworkError", async () => {
    answers.push(drop);
    const error = await failure(client().ecm.call("DetachNetworkInterface", PARAMS, A, MutatingResponseSchema));
    expect(error.code).toBe("Transport.NetworkError");
  });

  it("retries transport faults in place, and nothing else", async () => {
    answers.push(raw(503, "unavailable"), envelope({ RequestId: "req-2" }));
    expect(
      await client({ transportRetries: 2 }).ecm.call("DetachNetworkInterface", PARAMS, A, MutatingResponseSchema),
    ).toEqual({ RequestId: "req-2" });
    expect(received).toHaveLength(2);
    received = [];
    answers.push(envelope({ Error: { Code: "InternalError", Message: "x" }, RequestId: "req-3" }));
    await failure(
      client({ transportRetries: 2 }).ecm.call("DetachNetworkInterface", PARAMS, A, MutatingResponseSchema),
    );
    expect(received).toHaveLength(1);
  });

  it("slows down only the throttled account's limiter", async () => {
    answers.push(envelope({ Error: { Code: "RequestLimitExceeded", Message: "slow down" }, RequestId: "req-t" }));
    const { ecm, metrics } = client();
    await failure(ecm.call("DetachNetworkInterface", PARAMS, A, MutatingResponseSchema));
    answers.push(envelope({ RequestId: "req-b" }));
    await ecm.call("DetachNetworkInterface", PARAMS, B, MutatingResponseSchema);
    const perAccount = (await metrics.ecmAccountLimiterAllowance.get()).values.map((v) => v.value).sort();
    expect(perAccount).toEqual([10, 20]);
    expect((await metrics.ecmLimiterAllowance.get()).values[0]?.value).toBe(10);
    const text = await metrics.registry.metrics();
    expect(text).not.toContain(A.secretId);
    // Account B's next turn is now; A is paused for a window.
    expect(ecm.reserve("DetachNetworkInterface", B.secretId).at).toBeLessThanOrEqual(performance.now());
    expect(ecm.reserve("DetachNetworkInterface", A.secretId).at).toBeGreaterThan(performance.now() + 500);
  });

  it("logs an unknown code once", async () => {
    const { ecm, warnings } = client();
    for (let i = 0; i < 2; i += 1) {
      answers.push(envelope({ Error: { Code: "Brand.NewCode", Message: "?" }, RequestId: `req-${i}` }));
      await failure(ecm.call("DetachNetworkInterface", PARAMS, A, MutatingResponseSchema));
    }
    expect(warnings.filter((line) => line.includes("Brand.NewCode"))).toHaveLength(1);
  });

  describe("fenced as the last step before a request leaves", () => {
    it("sends nothing when the fence turns false while the credential is fetched", async () => {
      let open = true;
      const { ecm } = client({ fence: () => open });
      const turns = new CallTurns(ecm, { maxWaitMs: 500, returnAheadMs: 400 });
      const source = {
        getCredential: () => {
          open = false;
          return Promise.resolve(A);
        },
      };
      const refused = await turns.call("ns/a", "DetachNetworkInterface", PARAMS, source).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(FencedOffError);
      expect(received).toEqual([]);
    });

    it("sends nothing when the fence turns false while the connection opens", async () => {
      // True when the SDK takes the credential, false by the time the new connection is open.
      let reads = 0;
      const { ecm, metrics } = client({ fence: () => (reads += 1) === 1 });
      answers.push(envelope({ RequestId: "req-never" }));
      const refused = await ecm
        .call("DetachNetworkInterface", PARAMS, A, MutatingResponseSchema)
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(FencedOffError);
      expect(reads).toBe(3);
      expect(received).toEqual([]);
      // Not an ECM answer: nothing is counted as one.
      expect((await metrics.ecmRequests.get()).values).toEqual([]);
    });

    it("hands a request a new connection only once it is open, and only while the fence holds", async () => {
      let open = true;
      const agent = fenceConnections(new Agent({ keepAlive: true }), () => open);
      const sent = new Promise<unknown>((resolve) => {
        const req = httpRequest({ host: "127.0.0.1", port, method: "POST", path: "/", agent }, resolve);
        req.on("error", resolve);
        req.end("{}");
      });
      // The request is written; its connection is still opening.
      open = false;
      expect(await sent).toBeInstanceOf(FencedOffError);
      expect(received).toEqual([]);
      agent.destroy();
    });
  });

  describe("with a connection handed back through the callback, as a proxy tunnel does", () => {
    const tunnelling = () => {
      const agent = new Agent({ keepAlive: true });
      agent.createConnection = (_options, done) => {
        setImmediate(() => {
          const socket = connect({ host: "127.0.0.1", port });
          socket.once("connect", () => done?.(null, socket));
        });
        return undefined;
      };
      return agent;
    };
    const post = (agent: Agent) =>
      new Promise<unknown>((resolve) => {
        const req = httpRequest({ host: "127.0.0.1", port, method: "POST", path: "/", agent }, resolve);
        req.on("error", resolve);
        req.end("{}");
      });

    it("sends the request while the fence holds", async () => {
      answers.push(envelope({ RequestId: "req-tunnel" }));
      const agent = fenceConnections(tunnelling(), () => true);
      const answer = await post(agent);
      expect(answer).not.toBeInstanceOf(Error);
      expect(received).toHaveLength(1);
      agent.destroy();
    });

    it("sends nothing once the fence is closed", async () => {
      const agent = fenceConnections(tunnelling(), () => false);
      expect(await post(agent)).toBeInstanceOf(FencedOffError);
      expect(received).toEqual([]);
      agent.destroy();
    });
  });

  describe("per-account state", () => {
    const accounts = async (metrics: Metrics) =>
      (await metrics.ecmAccountLimiterAllowance.get()).values.map((v) => String(v.labels.account)).sort();

    it("drops an account's limiter and its metric series once it has been idle a while", async () => {
      let now = 1_000_000;
      const { ecm, metrics } = client({ now: () => now });
      answers.push(envelope({ RequestId: "req-a" }), envelope({ RequestId: "req-b" }));
      await ecm.call("DetachNetworkInterface", PARAMS, A, MutatingResponseSchema);
      expect(await accounts(metrics)).toEqual([accountLabel(A.secretId)]);
      now += LIMITER_IDLE_MS;
      // The key was rotated: only B is used from now on.
      await ecm.call("DetachNetworkInterface", PARAMS, B, MutatingResponseSchema);
      expect(await accounts(metrics)).toEqual([accountLabel(B.secretId)]);
    });

    it("keeps an account in use, and one whose caller still holds a ticket", async () => {
      let now = 1_000_000;
      const { ecm, metrics } = client({ now: () => now });
      answers.push(envelope({ RequestId: "req-a" }), envelope({ RequestId: "req-c" }));
      await ecm.call("DetachNetworkInterface", PARAMS, A, MutatingResponseSchema);
      const held = ecm.reserve("DetachNetworkInterface", A.secretId);
      // The holder comes back every half minute; the account makes no call all that while.
      for (let waited = 0; waited <= LIMITER_IDLE_MS; waited += 30_000) {
        now += 30_000;
        expect(held.at).toBeLessThanOrEqual(now);
      }
      answers.push(envelope({ RequestId: "req-b" }));
      await ecm.call("DetachNetworkInterface", PARAMS, B, MutatingResponseSchema);
      expect(await accounts(metrics)).toEqual([accountLabel(A.secretId), accountLabel(B.secretId)].sort());
      held.cancel();
    });
  });
});
