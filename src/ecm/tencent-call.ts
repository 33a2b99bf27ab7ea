import type { Agent } from "node:http";
import http from "node:http";
import https from "node:https";
import { Type } from "typebox";
import { matches } from "../api/decode.ts";
import type { EcmCredential } from "./credentials.ts";
import { tc3Authorization } from "./tc3-signature.ts";

const CONTENT_TYPE = "application/json";
/** Who calls, in X-TC-RequestClient, as the SDKs name themselves. */
const REQUEST_CLIENT = "eni-operator";

/** One Tencent Cloud API 3.0 call: a JSON POST of the action's parameters, signed with TC3-HMAC-SHA256. */
export interface TencentCall {
  /** Where the connection goes (http: or https:), and the agent that opens it there. */
  readonly endpoint: URL;
  readonly agent: Agent;
  /** The host the call is signed for and names in Host. */
  readonly host: string;
  readonly action: string;
  readonly version: string;
  readonly region?: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** Signs the call; without it the call is sent unsigned (`Authorization: SKIP`), as STS's web-identity exchange is. */
  readonly credential?: EcmCredential;
  readonly signal?: AbortSignal;
}

/** The service's answer to a call it refused: the error envelope, or an HTTP status other than 200. */
export class TencentCallError extends Error {
  /** The envelope's Error.Code; undefined for an HTTP status other than 200. */
  readonly code: string | undefined;
  readonly requestId: string;

  constructor(message: string, details: { code?: string; requestId: string }) {
    super(message);
    this.name = "TencentCallError";
    this.code = details.code;
    this.requestId = details.requestId;
  }
}

/** An answer that is not an API 3.0 envelope. */
export class MalformedAnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedAnswerError";
  }
}

const EnvelopeSchema = Type.Object({
  Response: Type.Object({
    RequestId: Type.String(),
    Error: Type.Optional(Type.Object({ Code: Type.String(), Message: Type.String() })),
  }),
});

/** Sends the call and returns the envelope's Response; refusals throw TencentCallError, transport failures their own error. */
export async function tencentCall(call: TencentCall): Promise<unknown> {
  const body = JSON.stringify(call.params);
  const timestamp = Math.floor(Date.now() / 1000);
  const { credential } = call;
  const headers: Record<string, string> = {
    "Content-Type": CONTENT_TYPE,
    Host: call.host,
    "X-TC-Action": call.action,
    "X-TC-Timestamp": String(timestamp),
    "X-TC-Version": call.version,
    "X-TC-RequestClient": REQUEST_CLIENT,
    ...(call.region ? { "X-TC-Region": call.region } : {}),
    ...(credential?.token ? { "X-TC-Token": credential.token } : {}),
    Authorization: credential
      ? tc3Authorization({ host: call.host, contentType: CONTENT_TYPE, body, timestamp, ...credential })
      : "SKIP",
  };
  const { status, text } = await post(call, headers, body);
  // Whatever its body, an answer other than 200 is not the API's (a proxy's, a load balancer's).
  if (status !== 200) {
    const reason = http.STATUS_CODES[status];
    throw new TencentCallError(`HTTP ${status}${reason ? ` ${reason}` : ""}`, { requestId: "" });
  }
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new MalformedAnswerError(`${call.action}: the answer is not JSON: ${text.slice(0, 200)}`);
  }
  if (!matches(EnvelopeSchema, answer)) {
    throw new MalformedAnswerError(`${call.action}: the answer has no Response with a RequestId`);
  }
  const response = answer.Response;
  if (response.Error) {
    throw new TencentCallError(response.Error.Message, {
      code: response.Error.Code,
      requestId: response.RequestId,
    });
  }
  return response;
}

function post(
  call: TencentCall,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const secure = call.endpoint.protocol === "https:";
    const request = (secure ? https : http).request(
      {
        protocol: secure ? "https:" : "http:",
        host: call.host,
        path: "/",
        method: "POST",
        agent: call.agent,
        headers,
        ...(call.signal ? { signal: call.signal } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}
