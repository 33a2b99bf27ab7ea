// Clients the emulator's tests call it with: the official SDK, as an independent implementation of the
// protocol, and a raw HTTP client for requests the SDK cannot make.
import { spawn, type ChildProcess } from "node:child_process";
import { Agent, request, type AgentOptions } from "node:http";
import { connect } from "node:net";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import { CommonClient } from "tencentcloud-sdk-nodejs-common";
import type { Credential } from "./authenticate.ts";
import type { NetworkInterfaceItem } from "./network-interface.ts";
import { DEFAULT_CREDENTIAL } from "./server.ts";

export const ECM_HOST = "ecm.tencentcloudapi.com";

/** What the SDK's declarations give its error: `code` for API errors, `httpCode` for non-200 answers. */
export interface TencentCloudSDKHttpException extends Error {
  requestId: string;
  code?: string;
  httpCode?: number;
}

/** The SDK's error class, which its package root does not export; required the way the SDK itself loads it. */
export const TencentCloudSDKHttpException = (
  createRequire(import.meta.url)(
    "tencentcloud-sdk-nodejs-common/tencentcloud/common/exception/tencent_cloud_sdk_exception.js",
  ) as { default: new (message: string) => TencentCloudSDKHttpException }
).default;

/** Dials the emulator whatever host a request names, so requests stay addressed and signed for ECM's host. */
class LoopbackAgent extends Agent {
  readonly #port: number;

  constructor(port: number, options: AgentOptions) {
    super(options);
    this.#port = port;
  }

  override createConnection(): Duplex {
    return connect({ host: "127.0.0.1", port: this.#port });
  }
}

export function loopbackAgent(port: number, options: AgentOptions = {}): Agent {
  return new LoopbackAgent(port, { keepAlive: true, ...options });
}

export interface DescribeResponse {
  TotalCount: number;
  NetworkInterfaceSet: NetworkInterfaceItem[];
  RequestId: string;
}

/** The official SDK's client for ECM, built as production builds it but reaching the emulator; typed answers. */
export function ecmClient(agent: Agent, credential: Credential = DEFAULT_CREDENTIAL, version = "2019-07-19") {
  const sdk = new CommonClient(ECM_HOST, version, {
    credential,
    profile: { httpProfile: { protocol: "http://", agent } },
  });
  return {
    request: async (action: string, params: object): Promise<{ RequestId: string }> =>
      (await sdk.request(action, params)) as { RequestId: string },
    describe: async (params: object): Promise<DescribeResponse> =>
      (await sdk.request("DescribeNetworkInterfaces", params)) as DescribeResponse,
  };
}

/** The SDK error a call failed with; throws when it succeeded or failed some other way. */
export async function sdkError(call: Promise<unknown>): Promise<TencentCloudSDKHttpException> {
  try {
    await call;
  } catch (error) {
    if (error instanceof TencentCloudSDKHttpException) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

export interface RawResponse {
  status: number;
  body: string;
}

/** A POST / with exactly these headers and body bytes. */
export function postRaw(port: number, headers: Record<string, string>, body: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: "127.0.0.1", port, method: "POST", path: "/", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
      });
      res.on("error", reject);
    });
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

/** The parsed ECM envelope of a raw response. */
export function envelopeOf(response: RawResponse): { Error?: { Code: string; Message: string }; RequestId: string } {
  return (JSON.parse(response.body) as { Response: { Error?: { Code: string; Message: string }; RequestId: string } })
    .Response;
}

export interface CliEmulator {
  url: string;
  port: number;
  /** Everything the emulator printed on stdout so far, by line. */
  output: string[];
  process: ChildProcess;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

const CLI = fileURLToPath(new URL("./cli.ts", import.meta.url));

/** Runs the emulator's command line in its own process, with its own clock. */
export async function startCliEmulator(args: readonly string[]): Promise<CliEmulator> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      resolve(code);
    });
  });
  const output: string[] = [];
  const lines = createInterface({ input: child.stdout });
  lines.on("line", (line) => output.push(line));
  const banner = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => {
      reject(new Error(`the emulator exited with ${String(code)} before listening`));
    });
  });
  const url = /http:\/\/\S+/.exec(banner)?.[0];
  if (url === undefined) throw new Error(`no URL in the emulator's output: ${banner}`);
  return {
    url,
    port: Number(new URL(url).port),
    output,
    process: child,
    stop: () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}
