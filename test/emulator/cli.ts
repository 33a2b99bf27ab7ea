// `npm run emulator -- --port PORT [--secret-id ID --secret-key KEY]`: runs the emulator until stopped.
import { parseArgs } from "node:util";
import type { Credential } from "./authenticate.ts";
import { DEFAULT_CREDENTIAL, startEmulator } from "./server.ts";

const USAGE = `usage: npm run emulator -- [--port PORT] [--host HOST] [--secret-id ID --secret-key KEY [--token TOKEN]]
                         [--quota PER_SECOND] [--transition-ms MS]`;

function integer(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new Error(`--${name} must be a non-negative integer, not ${text}`);
  return Number(text);
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string" },
      host: { type: "string" },
      "secret-id": { type: "string" },
      "secret-key": { type: "string" },
      token: { type: "string" },
      quota: { type: "string" },
      "transition-ms": { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  const credential = credentialOf(values);
  const emulator = await startEmulator({
    port: integer("port", values.port, 0),
    host: values.host ?? "127.0.0.1",
    credentials: [credential],
    quotaPerSecond: integer("quota", values.quota, 20),
    transitionMs: integer("transition-ms", values["transition-ms"], 500),
  });
  console.log(`ECM emulator listening on ${emulator.url} (secretId ${credential.secretId})`);
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
