// The control API under /_emulator/: what tests use to arrange the emulated world and observe calls.
import { viewOf, parseSeedEnis } from "./eni-store.ts";
import type { Emulator } from "./emulator.ts";
import { parseFaultRule } from "./faults.ts";
import { InvalidInput } from "./invalid-input.ts";
import type { JsonValue } from "./json.ts";
import { parseSettingsPatch } from "./settings.ts";

export const CONTROL_PREFIX = "/_emulator/";

export interface ControlRequest {
  method: string;
  /** The path after /_emulator/, e.g. "enis". */
  route: string;
  query: URLSearchParams;
  /** The parsed body; undefined when absent or not JSON. */
  body: JsonValue | undefined;
  nowMs: number;
}

export interface ControlResponse {
  status: number;
  body: unknown;
}

export function handleControl(emulator: Emulator, request: ControlRequest): ControlResponse {
  const { method, route, body, nowMs } = request;
  const handlers: Record<string, (() => unknown) | undefined> = {
    "GET enis": () => emulator.store.list(nowMs).map(viewOf),
    "POST enis": () => emulator.store.add(parseSeedEnis(body, emulator.regions), nowMs).map(viewOf),
    "GET calls": () => emulator.journal.since(sinceParam(request.query)),
    "GET faults": () => emulator.faults.list(),
    "POST faults": () => emulator.faults.add(parseFaultRule(body)),
    "GET settings": () => emulator.settings,
    "GET issued-credentials": () => emulator.issued,
    "POST settings": () => emulator.updateSettings(parseSettingsPatch(body)),
    "POST revoke-credential": () => {
      const secretId = typeof body === "object" && body !== null && !Array.isArray(body) ? body["secretId"] : undefined;
      if (typeof secretId !== "string") throw new InvalidInput("body must be {secretId: string}");
      emulator.revokeCredential(secretId);
      return {};
    },
    "POST reset": () => {
      emulator.reset();
      return {};
    },
  };
  const handler = handlers[`${method} ${route}`];
  if (handler === undefined) {
    const known = Object.keys(handlers).some((key) => key.endsWith(` ${route}`));
    return known
      ? { status: 405, body: { error: `${method} is not allowed on ${CONTROL_PREFIX}${route}` } }
      : { status: 404, body: { error: `no control route ${CONTROL_PREFIX}${route}` } };
  }
  try {
    return { status: 200, body: handler() };
  } catch (error) {
    if (error instanceof InvalidInput) return { status: 400, body: { error: error.message } };
    throw error;
  }
}

function sinceParam(query: URLSearchParams): number {
  const since = query.get("since") ?? "0";
  if (!/^\d+$/.test(since)) throw new InvalidInput("since must be a sequence number");
  return Number(since);
}
