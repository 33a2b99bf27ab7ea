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

/** A GET over mutual TLS without a connection pool, so nothing keeps the process alive afterwards. */
export async function httpsGet(url: string, tls: TlsClient, timeoutMs = 5_000): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        ca: readFileSync(tls.caCertPath),
        cert: readFileSync(tls.clientCert.certPath),
        key: readFileSync(tls.clientCert.keyPath),
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}
