import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import type { KubeFlags } from "./kube-target.ts";
import { ToolError } from "./tool-error.ts";

/** The flags every command takes, as kubectl spells them. */
const KUBE_OPTIONS = {
  kubeconfig: { type: "string" },
  context: { type: "string" },
  namespace: { type: "string", short: "n" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsOptionsConfig;

export const KUBE_USAGE = `Cluster flags, as kubectl's: --kubeconfig PATH, --context NAME, -n/--namespace NS ($KUBECONFIG is read too)`;

export interface ToolArgs {
  readonly kube: KubeFlags;
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
  readonly help: boolean;
}

export function parseToolArgs(argv: readonly string[], own: ParseArgsOptionsConfig): ToolArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: { ...KUBE_OPTIONS, ...own }, allowPositionals: true, strict: true });
  } catch (cause) {
    throw new ToolError(cause instanceof Error ? cause.message : String(cause), 2);
  }
  const values: Record<string, string | boolean | undefined> = {};
  for (const [key, value] of Object.entries(parsed.values)) {
    values[key] = Array.isArray(value) ? value.join(",") : value;
  }
  const text = (key: string) => (typeof values[key] === "string" ? values[key] : undefined);
  return {
    kube: { kubeconfig: text("kubeconfig"), context: text("context"), namespace: text("namespace") },
    values,
    positionals: parsed.positionals,
    help: values["help"] === true,
  };
}

/** `NAMESPACE/NAME`, or `NAME` in the namespace of -n or the context. */
export function parseTarget(raw: string | undefined, defaultNamespace: string): { namespace: string; name: string } {
  if (!raw) throw new ToolError("name the EniAttachment: NAMESPACE/NAME, or NAME with -n NAMESPACE", 2);
  const parts = raw.split("/");
  if (parts.length > 2 || parts.some((part) => part === "")) {
    throw new ToolError(`${JSON.stringify(raw)} is not NAMESPACE/NAME or NAME`, 2);
  }
  const [first = "", second] = parts;
  return second === undefined ? { namespace: defaultNamespace, name: first } : { namespace: first, name: second };
}

/** 30s, 2m, 1h, 1h30m: a Go-style duration of whole seconds, minutes and hours. */
export function parseDurationMs(flag: string, raw: string): number {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(raw);
  if (!match || raw === "") {
    throw new ToolError(`--${flag} must be a duration such as 30s, 2m or 1h, got ${JSON.stringify(raw)}`, 2);
  }
  const [hours = 0, minutes = 0, seconds = 0] = match.slice(1).map((part) => (part ? Number(part) : 0));
  return ((hours * 60 + minutes) * 60 + seconds) * 1000;
}

/** "4 s", "3 min", "2 h 5 min", "3 d": an age or a span as a person reads it. */
export function humanDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d`;
}
