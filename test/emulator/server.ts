// The emulator's HTTP server: POST / is the ECM API, /_emulator/ the control API.
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Credential } from "./authenticate.ts";
import { CONTROL_PREFIX, handleControl } from "./control-api.ts";
import { EmulatorControl } from "./control-client.ts";
import { Emulator, type Reply } from "./emulator.ts";
import { ERROR_CODE_PATTERN } from "./error-codes.ts";
import { parseJson } from "./json.ts";
import { DEFAULT_REGIONS, REGION_PATTERN } from "./regions.ts";
import type { WebIdentity } from "./sts.ts";

/** The credential the emulator accepts unless given others. */
export const DEFAULT_CREDENTIAL: Credential = {
  secretId: "AKIDemulatorDEFAULT00000000000000000",
  secretKey: "emulatorSecretKeyDEFAULT00000000",
};

/** A second account, for tests of per-resource credentials held in a Secret. */
export const TEAM_CREDENTIAL = {
  secretId: "AKIDteamCREDENTIALS0000000000000000",
  secretKey: "teamSecretKeyDoNotLeak00000000000",
} satisfies Credential;

export interface EmulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Accepted credentials; default DEFAULT_CREDENTIAL. */
  credentials?: readonly Credential[];
  /** Calls accepted per action per second; default 20, as ECM documents. */
  quotaPerSecond?: number;
  /** How long ENIs stay ATTACHING or DETACHING; default 500 ms. */
  transitionMs?: number;
  /** Default UnsupportedOperation.AttachmentNotFound. */
  alreadyDetachedCode?: string;
  /** Accepted ECM regions; default DEFAULT_REGIONS. */
  regions?: readonly string[];
  /** What STS AssumeRoleWithWebIdentity accepts (TKE pod identity); without it every exchange is refused. */
  webIdentity?: WebIdentity;
  /** How long the temporary credentials it issues stay valid; default 7200 s, as STS's default. */
  stsCredentialSeconds?: number;
  /** Describe lag (settings.ts): how long after an accepted call Describe may show the state before it; default 0. */
  describeLagMs?: number;
  /** The share of Describes in that window that lag; default 1. */
  describeLagShare?: number;
}

export interface RunningEmulator {
  /** e.g. http://127.0.0.1:34567 */
  url: string;
  port: number;
  control: EmulatorControl;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const emulator = new Emulator(configOf(options));
  const shutdown = new AbortController();
  const server = createServer((request, response) => {
    serve(emulator, request, response, shutdown.signal).catch((error: unknown) => {
      if (shutdown.signal.aborted) return;
      if (response.headersSent) response.destroy();
      else sendJson(response, 500, { error: String(error) });
    });
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // A large backlog lets a burst of new connections in without SYN retries.
    server.listen({ port: options.port ?? 0, host, backlog: 2048 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return {
    url,
    port,
    control: new EmulatorControl(url),
    close: async () => {
      shutdown.abort();
      const closed = new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      server.closeAllConnections();
      await closed;
    },
  };
}

function configOf(options: EmulatorOptions) {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port ${port} is not a TCP port`);
  const quotaPerSecond = options.quotaPerSecond ?? 20;
  if (!Number.isSafeInteger(quotaPerSecond) || quotaPerSecond < 1) {
    throw new RangeError("quotaPerSecond must be a positive integer");
  }
  const transitionMs = options.transitionMs ?? 500;
  if (!Number.isInteger(transitionMs) || transitionMs < 0) throw new RangeError("transitionMs must be an integer >= 0");
  const alreadyDetachedCode = options.alreadyDetachedCode ?? "UnsupportedOperation.AttachmentNotFound";
  if (!ERROR_CODE_PATTERN.test(alreadyDetachedCode)) {
    throw new RangeError(`${alreadyDetachedCode} is not an error code`);
  }
  const regions = options.regions ?? DEFAULT_REGIONS;
  const badRegion = regions.find((region) => !REGION_PATTERN.test(region));
  if (badRegion !== undefined) throw new RangeError(`${badRegion} is not an ECM region name`);
  const credentials = options.credentials ?? [DEFAULT_CREDENTIAL];
  if (credentials.length === 0) throw new RangeError("at least one credential is needed");
  const stsCredentialSeconds = options.stsCredentialSeconds ?? 7200;
  if (!Number.isSafeInteger(stsCredentialSeconds) || stsCredentialSeconds < 1) {
    throw new RangeError("stsCredentialSeconds must be a positive integer");
  }
  const describeLagMs = options.describeLagMs ?? 0;
  if (!Number.isInteger(describeLagMs) || describeLagMs < 0)
    throw new RangeError("describeLagMs must be an integer >= 0");
  const describeLagShare = options.describeLagShare ?? 1;
  if (!(describeLagShare >= 0 && describeLagShare <= 1)) throw new RangeError("describeLagShare must be in [0, 1]");
  return {
    credentials,
    regions,
    settings: {
      attachDelayMs: transitionMs,
      detachDelayMs: transitionMs,
      alreadyDetachedCode,
      quotaPerSecond,
      stsCredentialSeconds,
      clockSkewMs: 0,
      describeLagMs,
      describeLagShare,
    },
    ...(options.webIdentity === undefined ? {} : { webIdentity: options.webIdentity }),
  };
}

async function serve(
  emulator: Emulator,
  request: IncomingMessage,
  response: ServerResponse,
  shutdown: AbortSignal,
): Promise<void> {
  const target = request.url ?? "/";
  const queryStart = target.indexOf("?");
  const path = queryStart === -1 ? target : target.slice(0, queryStart);
  const query = queryStart === -1 ? "" : target.slice(queryStart + 1);
  const body = await readBody(request);
  const nowMs = Date.now() + emulator.settings.clockSkewMs;
  // The emulator's clock, as a client reads a server's: the Date header of every answer.
  response.setHeader("Date", new Date(nowMs).toUTCString());

  if (path.startsWith(CONTROL_PREFIX)) {
    const { status, body: answer } = handleControl(emulator, {
      method: request.method ?? "GET",
      route: path.slice(CONTROL_PREFIX.length),
      query: new URLSearchParams(query),
      body: body.length === 0 ? undefined : parseJson(body.toString("utf8")),
      nowMs,
    });
    sendJson(response, status, answer);
    return;
  }
  if (path !== "/") {
    sendJson(response, 404, {
      error: `nothing at ${path}: the API is POST / and the control API is under ${CONTROL_PREFIX}`,
    });
    return;
  }
  if (request.method !== "POST") {
    sendJson(response, 405, { error: "the emulator serves API calls as POST / with a JSON body" });
    return;
  }
  const { reply, delayMs } = emulator.call({ method: "POST", path, query, headers: request.headers, body }, nowMs);
  if (delayMs > 0) await sleep(delayMs, undefined, { signal: shutdown });
  send(response, reply);
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function send(response: ServerResponse, reply: Reply): void {
  switch (reply.kind) {
    case "envelope":
      response.writeHead(200, { "Content-Type": "application/json" }).end(reply.body);
      return;
    case "status":
      response
        .writeHead(reply.status, { "Content-Type": "text/html" })
        .end(`<html><body><h1>${reply.status} ${STATUS_CODES[reply.status] ?? ""}</h1></body></html>`);
      return;
    case "malformed-body":
      // A 200 whose JSON stops short, as when a gateway cuts an answer off.
      response.writeHead(200, { "Content-Type": "application/json" }).end('{"Response":{"RequestId":"');
      return;
    case "drop-connection":
      response.socket?.destroy();
      return;
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
}
