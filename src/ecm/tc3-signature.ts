import { createHash, createHmac } from "node:crypto";

/** What TC3-HMAC-SHA256 signs of a POST of JSON: https://www.tencentcloud.com/document/api/1119/45664 */
export interface SignedRequest {
  /** The API's host, e.g. ecm.tencentcloudapi.com; its first label is the service. */
  readonly host: string;
  readonly contentType: string;
  readonly body: string;
  /** Unix time in seconds, as sent in X-TC-Timestamp. */
  readonly timestamp: number;
  readonly secretId: string;
  readonly secretKey: string;
}

const sha256Hex = (text: string): string => createHash("sha256").update(text).digest("hex");
const hmac = (key: string | Buffer, text: string): Buffer => createHmac("sha256", key).update(text).digest();

/**
 * The Authorization header of a POST to `/` with an empty query, signing the content type and the host
 * as the official SDKs do.
 */
export function tc3Authorization(request: SignedRequest): string {
  const service = request.host.split(".")[0] ?? "";
  const date = new Date(request.timestamp * 1000).toISOString().slice(0, 10);
  const signedHeaders = "content-type;host";
  const canonicalRequest = [
    "POST",
    "/",
    "",
    `content-type:${request.contentType}\nhost:${request.host}\n`,
    signedHeaders,
    sha256Hex(request.body),
  ].join("\n");
  const scope = `${date}/${service}/tc3_request`;
  const stringToSign = ["TC3-HMAC-SHA256", String(request.timestamp), scope, sha256Hex(canonicalRequest)].join("\n");
  const key = hmac(hmac(hmac(`TC3${request.secretKey}`, date), service), "tc3_request");
  const signature = createHmac("sha256", key).update(stringToSign).digest("hex");
  return `TC3-HMAC-SHA256 Credential=${request.secretId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}
