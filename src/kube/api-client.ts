import { STATUS_CODES } from "node:http";
import { UNFENCED, checkFence, type Fence } from "../api/fence.ts";
import type { ApiEndpoint } from "./api-endpoint.ts";
import { FENCED_SEND_MS } from "./lease-timings.ts";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export const CONTENT = {
  json: "application/json",
  jsonPatch: "application/json-patch+json",
  mergePatch: "application/merge-patch+json",
} as const;

/** A JSON patch; `test` operations make it fail instead of clobbering a concurrent change. */
export type JsonPatch = ({ op: "test" | "add"; path: string; value: unknown } | { op: "remove"; path: string })[];

export interface ApiRequest {
  readonly query?: Query;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** The body's media type; JSON by default. */
  readonly contentType?: (typeof CONTENT)[keyof typeof CONTENT];
  /** Checked as the last step before the request leaves; the write is then abandoned unless done within FENCED_SEND_MS. */
  readonly fence?: Fence;
  /** What the request is, for the fence's refusal. */
  readonly what?: string;
  /** Abandons the request after this long (the Lease requests' own bound). */
  readonly timeoutMs?: number;
}

/** A request the API server answered with an error status; `body` is its metav1.Status, parsed when it is JSON. */
export class ApiError extends Error {
  readonly code: number;
  readonly body: unknown;

  constructor(method: string, path: string, code: number, body: unknown) {
    const message =
      typeof body === "object" && body !== null && "message" in body && typeof body.message === "string"
        ? body.message
        : (STATUS_CODES[code] ?? "error");
    super(`${method} ${path.split("?")[0] ?? path}: HTTP ${code}: ${message}`);
    this.name = "ApiError";
    this.code = code;
    this.body = body;
  }
}

function withQuery(path: string, query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** One streaming request: its events are lines of JSON, as a watch sends them. */
export type LineHandler = (line: string) => void;

/**
 * The operator's Kubernetes API calls: JSON over the endpoint's pooled connection, each answer parsed
 * and handed to the caller to decode against its schema, each error status thrown as an ApiError with
 * the server's Status. A few dozen lines instead of client-node's generated clients, whose serializer
 * loads a model class for every Kubernetes type at start.
 */
export class KubeApi {
  readonly endpoint: ApiEndpoint;

  constructor(endpoint: ApiEndpoint) {
    this.endpoint = endpoint;
  }

  /** The answer's body, parsed; an error status throws ApiError. */
  async request(method: Method, path: string, options: ApiRequest = {}): Promise<unknown> {
    const { dispatcher, headers } = await this.endpoint.prepare();
    const signals: AbortSignal[] = [];
    const fence = options.fence ?? UNFENCED;
    checkFence(fence, options.what ?? `${method} ${path}`);
    if (fence !== UNFENCED) signals.push(AbortSignal.timeout(FENCED_SEND_MS));
    if (options.timeoutMs !== undefined) signals.push(AbortSignal.timeout(options.timeoutMs));
    const target = withQuery(path, options.query);
    const response = await dispatcher.request({
      origin: this.endpoint.server,
      path: target,
      method,
      headers: {
        ...headers,
        accept: CONTENT.json,
        ...(options.body === undefined ? {} : { "content-type": options.contentType ?? CONTENT.json }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      ...(signals.length > 0 ? { signal: signals.length === 1 ? signals[0] : AbortSignal.any(signals) } : {}),
    });
    const text = await response.body.text();
    if (response.statusCode >= 300) throw new ApiError(method, target, response.statusCode, parse(text));
    return text === "" ? undefined : JSON.parse(text);
  }

  /**
   * A streaming GET (a watch): resolves once the server answered 200, then hands over each line; `done`
   * is called once, with undefined when the server ended the stream and the error otherwise. An error
   * status rejects with ApiError. `abort` ends it without calling `done`.
   */
  async stream(
    path: string,
    query: Query,
    onLine: LineHandler,
    done: (err: unknown) => void,
  ): Promise<{ abort(): void }> {
    const { dispatcher, headers } = await this.endpoint.prepare();
    const controller = new AbortController();
    const target = withQuery(path, query);
    const response = await dispatcher.request({
      origin: this.endpoint.server,
      path: target,
      method: "GET",
      headers: { ...headers, accept: CONTENT.json },
      signal: controller.signal,
    });
    if (response.statusCode !== 200) {
      const text = await response.body.text().catch(() => "");
      throw new ApiError("GET", target, response.statusCode, parse(text));
    }
    let aborted = false;
    let ended = false;
    const end = (err: unknown): void => {
      if (ended) return;
      ended = true;
      if (!aborted) done(err);
    };
    let partial = "";
    const body = response.body;
    body.setEncoding("utf8");
    body.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) if (line.trim() !== "") onLine(line);
    });
    body.on("end", () => end(undefined));
    body.on("error", (err: unknown) => end(err));
    body.on("close", () => end(undefined));
    return {
      abort: () => {
        aborted = true;
        controller.abort();
        body.destroy();
      },
    };
  }
}
