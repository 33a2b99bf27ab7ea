// `npm run emulator -- --port PORT [--secret-id ID --secret-key KEY | --credentials-file PATH]`: runs the
// emulator until stopped.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Credential } from "./authenticate.ts";
import { isJsonObject, parseJson } from "./json.ts";
import { DEFAULT_CREDENTIAL, startEmulator } from "./server.ts";

const USAGE = `usage: npm run emulator -- [--port PORT] [--host HOST]
                         [--secret-id ID --secret-key KEY [--token TOKEN] | --credentials-file PATH]
                         [--quota PER_SECOND] [--transition-ms MS]
                         [--describe-lag-ms MS [--describe-lag-share SHARE]] [--help]

  --credentials-file PATH  a JSON array of {"secretId", "secretKey", "token"?}: each is an account,
                           with its own quota of PER_SECOND calls per action
  --describe-lag-ms MS     for MS after an accepted Attach or Detach, Describe may still show the
                           ENI as it was before the call (eventual consistency; default 0)
  --describe-lag-share S   the share of Describes in that window that do, from 0 to 1 (default 1)`;

function integer(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new Error(`--${name} must be a non-negative integer, not ${text}`);
  return Number(text);
}

function share(text: string | undefined): number {
  if (text === undefined) return 1;
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || value > 1)
    throw new Error(`--describe-lag-share must be from 0 to 1, not ${text}`);
  return value;
}

function credentialOf(values: { "secret-id"?: string; "secret-key"?: string; token?: string }): Credential {
  const { "secret-id": secretId, "secret-key": secretKey, token } = values;
  if (secretId === undefined && secretKey === undefined) {
    if (token !== undefined) throw new Error("--token needs --secret-id and --secret-key");
    return DEFAULT_CREDENTIAL;
  }
  if (secretId === undefined || secretKey === undefined) throw new Error("give both --secret-id and --secret-key");
  return token === undefined ? { secretId, secretKey } : { secretId, secretKey, token };
}

/** The accounts of a credentials file; the error names the file and the bad entry. */
function credentialsFile(path: string): Credential[] {
  const json = parseJson(readFileSync(path, "utf8"));
  if (!Array.isArray(json) || json.length === 0) {
    throw new Error(`${path} must hold a non-empty JSON array of {secretId, secretKey, token?}`);
  }
  return json.map((entry, index) => {
    if (!isJsonObject(entry)) throw new Error(`${path}: entry ${index} is not an object`);
    const { secretId, secretKey, token } = entry;
    if (typeof secretId !== "string" || secretId === "" || typeof secretKey !== "string" || secretKey === "") {
      throw new Error(`${path}: entry ${index} needs non-empty strings secretId and secretKey`);
    }
    if (token !== undefined && typeof token !== "string")
      throw new Error(`${path}: entry ${index}: token must be a string`);
    return token === undefined ? { secretId, secretKey } : { secretId, secretKey, token };
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      host: { type: "string" },
      "secret-id": { type: "string" },
      "secret-key": { type: "string" },
      token: { type: "string" },
      "credentials-file": { type: "string" },
      quota: { type: "string" },
      "transition-ms": { type: "string" },
      "describe-lag-ms": { type: "string" },
      "describe-lag-share": { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const file = values["credentials-file"];
  if (file !== undefined && (values["secret-id"] ?? values["secret-key"] ?? values.token) !== undefined) {
    throw new Error("give --credentials-file or --secret-id/--secret-key/--token, not both");
  }
  const credentials = file === undefined ? [credentialOf(values)] : credentialsFile(file);
  const emulator = await startEmulator({
    port: integer("port", values.port, 0),
    host: values.host ?? "127.0.0.1",
    credentials,
    quotaPerSecond: integer("quota", values.quota, 20),
    transitionMs: integer("transition-ms", values["transition-ms"], 500),
    describeLagMs: integer("describe-lag-ms", values["describe-lag-ms"], 0),
    describeLagShare: share(values["describe-lag-share"]),
  });
  const ids = credentials.map((credential) => credential.secretId).join(", ");
  console.log(`ECM emulator listening on ${emulator.url} (secretId ${ids})`);
  const stop = (): void => {
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  console.error(USAGE);
  process.exit(2);
});
