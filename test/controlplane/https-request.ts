import { readFileSync } from "node:fs";
import { request } from "node:https";
import type { CertAndKey } from "./certs.ts";

export interface TlsClient {
  caCertPath: string;
  clientCert: CertAndKey;
}

export interface HttpResult {
  status: number;
  body: string;
}

/**
 * One request over mutual TLS without a connection pool, so nothing keeps the process alive afterwards.
 * A JSON body, when given, is sent as application/json.
 */
export async function httpsRequest(
  method: string,
  url: string,
  tls: TlsClient,
  body?: string,
  timeoutMs = 5_000,
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: readFileSync(tls.caCertPath),
        cert: readFileSync(tls.clientCert.certPath),
        key: readFileSync(tls.clientCert.keyPath),
        agent: false,
        timeout: timeoutMs,
        ...(body === undefined ? {} : { headers: { "content-type": "application/json" } }),
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body: text });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${url} timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

export function httpsGet(url: string, tls: TlsClient, timeoutMs = 5_000): Promise<HttpResult> {
  return httpsRequest("GET", url, tls, undefined, timeoutMs);
}
