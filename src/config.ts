import { parseArgs } from "node:util";
import { ECM_SIGNING_HOST } from "./ecm/actions.ts";
import { STS_SIGNING_HOST, parseEndpoint } from "./ecm/endpoint-url.ts";
import { MIN_SYNC_PERIOD_MS, parseSyncPeriodMs } from "./controller/sync-period.ts";
import type { BindAddress } from "./observability/bind-address.ts";

/** Everything the operator reads from its command line and environment, read once at start. */
export interface Config {
  readonly kubeconfig: string | undefined;
  /** Empty: all namespaces. */
  readonly watchNamespaces: readonly string[];
  readonly metricsBindAddress: BindAddress | undefined;
  readonly healthProbeBindAddress: BindAddress | undefined;
  readonly leaderElect: boolean;
  readonly leaderElectionNamespace: string;
  readonly leaderElectionId: string;
  readonly maxConcurrentReconciles: number;
  readonly ecmEndpoint: URL;
  /** Where TKE pod identity's STS exchange goes; always signed for host sts.tencentcloudapi.com. */
  readonly stsEndpoint: URL;
  readonly ecmQps: number;
  readonly ecmBurst: number;
  readonly logLevel: string;
  /** Honour spec.credentialsSecretRef; off, a resource naming a Secret fails with no ECM call. */
  readonly perResourceCredentials: boolean;
  /** /metrics over HTTPS, behind TokenReview and SubjectAccessReview. */
  readonly metricsSecure: boolean;
  /** A directory with files secretId, secretKey and optional token: the operator's own credentials, re-read on change. */
  readonly credentialsDir: string | undefined;
  /** Namespaces whose resources may use the operator's own credentials; empty: every namespace. */
  readonly operatorCredentialsNamespaces: readonly string[];
  /** How often a settled resource is described again (the drift interval). */
  readonly syncPeriodMs: number;
}

/** Each flag, its environment variable and its default. Documented in the README's table. */
const FLAGS = {
  // $KUBECONFIG is read by loadKubeConfig, after the in-cluster configuration.
  kubeconfig: { env: "KUBECONFIG", default: "" },
  "watch-namespace": { env: "WATCH_NAMESPACE", default: "" },
  "metrics-bind-address": { env: "METRICS_BIND_ADDRESS", default: ":8080" },
  "health-probe-bind-address": { env: "HEALTH_PROBE_BIND_ADDRESS", default: ":8081" },
  "leader-elect": { env: "LEADER_ELECT", default: "false" }, // --leader-elect alone means true
  "leader-election-namespace": { env: "LEADER_ELECTION_NAMESPACE", default: "" },
  "leader-election-id": { env: "LEADER_ELECTION_ID", default: "eni-operator.ecm.eni-operator.io" },
  "max-concurrent-reconciles": { env: "MAX_CONCURRENT_RECONCILES", default: "100" },
  "ecm-endpoint": { env: "ECM_ENDPOINT", default: "https://ecm.tencentcloudapi.com" },
  "sts-endpoint": { env: "STS_ENDPOINT", default: "https://sts.tencentcloudapi.com" },
  "ecm-qps": { env: "ECM_QPS", default: "20" },
  "ecm-burst": { env: "ECM_BURST", default: "20" },
  "log-level": { env: "LOG_LEVEL", default: "info" },
  "per-resource-credentials": { env: "PER_RESOURCE_CREDENTIALS", default: "false" },
  "metrics-secure": { env: "METRICS_SECURE", default: "false" },
  "credentials-dir": { env: "CREDENTIALS_DIR", default: "" },
  "operator-credentials-namespaces": { env: "OPERATOR_CREDENTIALS_NAMESPACES", default: "" },
  "sync-period": { env: "SYNC_PERIOD", default: "5m" },
} as const;

/** Flags that may be repeated or comma-separated. */
const LIST_FLAGS: readonly Flag[] = ["watch-namespace", "operator-credentials-namespaces"];

type Flag = keyof typeof FLAGS;

/** Flags that, given alone, mean true (controller-runtime style: a bare --leader-elect is --leader-elect=true). */
const BOOLEAN_FLAGS: readonly Flag[] = ["leader-elect", "per-resource-credentials", "metrics-secure"];

export const USAGE = `Usage: eni-operator [flags]

Flags (each also settable by the environment variable in brackets):
${Object.entries(FLAGS)
  .map(([flag, { env, default: value }]) => `  --${flag.padEnd(28)} [${env}]${value ? ` default ${value}` : ""}`)
  .join("\n")}
  --help`;

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Config | "help" {
  const options = Object.fromEntries(
    Object.keys(FLAGS).map((flag) => [flag, { type: "string", multiple: LIST_FLAGS.some((list) => list === flag) }]),
  ) as Record<Flag, { type: "string"; multiple: boolean }>;
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv.map((arg) => (BOOLEAN_FLAGS.some((flag) => arg === `--${flag}`) ? `${arg}=true` : arg)),
      options: { ...options, help: { type: "boolean" } },
      allowPositionals: false,
      strict: true,
      allowNegative: false,
    }));
  } catch (cause) {
    throw new ConfigError(`${cause instanceof Error ? cause.message : String(cause)}\n\n${USAGE}`, { cause });
  }
  if (values["help"]) return "help";
  const read = (flag: Flag): string => {
    const value = values[flag];
    if (Array.isArray(value)) return value.join(",");
    if (typeof value === "string") return value;
    return env[FLAGS[flag].env] ?? FLAGS[flag].default;
  };
  const logLevel = read("log-level");
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`--log-level must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(logLevel)}`);
  }
  const endpoint = (flag: "ecm-endpoint" | "sts-endpoint", signingHost: string): URL => {
    try {
      return parseEndpoint(read(flag), flag, signingHost);
    } catch (cause) {
      throw new ConfigError(cause instanceof Error ? cause.message : String(cause), { cause });
    }
  };
  // One informer per namespace: a namespace named twice would be seen twice.
  const list = (flag: Flag): string[] => [
    ...new Set(
      read(flag)
        .split(",")
        .map((ns) => ns.trim())
        .filter((ns) => ns !== ""),
    ),
  ];
  const ecmEndpoint = endpoint("ecm-endpoint", ECM_SIGNING_HOST);
  const stsEndpoint = endpoint("sts-endpoint", STS_SIGNING_HOST);
  return {
    kubeconfig: typeof values["kubeconfig"] === "string" ? values["kubeconfig"] : undefined,
    watchNamespaces: list("watch-namespace"),
    metricsBindAddress: parseBindAddress("metrics-bind-address", read("metrics-bind-address")),
    healthProbeBindAddress: parseBindAddress("health-probe-bind-address", read("health-probe-bind-address")),
    leaderElect: parseBoolean("leader-elect", read("leader-elect")),
    leaderElectionNamespace: read("leader-election-namespace"),
    leaderElectionId: read("leader-election-id"),
    maxConcurrentReconciles: parseNumber("max-concurrent-reconciles", read("max-concurrent-reconciles"), 1, true),
    ecmEndpoint,
    stsEndpoint,
    ecmQps: parseNumber("ecm-qps", read("ecm-qps"), 0.001, false),
    ecmBurst: parseNumber("ecm-burst", read("ecm-burst"), 1, true),
    logLevel,
    perResourceCredentials: parseBoolean("per-resource-credentials", read("per-resource-credentials")),
    metricsSecure: parseBoolean("metrics-secure", read("metrics-secure")),
    credentialsDir: read("credentials-dir") || undefined,
    operatorCredentialsNamespaces: list("operator-credentials-namespaces"),
    syncPeriodMs: parseSyncPeriod("sync-period", read("sync-period")),
  };
}

function parseSyncPeriod(flag: string, raw: string): number {
  const ms = parseSyncPeriodMs(raw);
  if (ms === undefined || ms < MIN_SYNC_PERIOD_MS) {
    throw new ConfigError(
      `--${flag} must be a duration of at least 30s, such as 90s, 5m or 1h, got ${JSON.stringify(raw)}`,
    );
  }
  return ms;
}

/** `:8080`, `127.0.0.1:8080`, `[::1]:8080`; `0` disables the endpoint. */
export function parseBindAddress(flag: string, raw: string): BindAddress | undefined {
  if (raw === "0") return undefined;
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(raw);
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new ConfigError(`--${flag} must be HOST:PORT, :PORT or 0 (disabled), got ${JSON.stringify(raw)}`);
  }
  return { host: match[1] ?? (match[2] || "0.0.0.0"), port };
}

function parseNumber(flag: string, raw: string, min: number, integer: boolean): number {
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new ConfigError(
      `--${flag} must be ${integer ? "an integer" : "a number"} >= ${min}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

function parseBoolean(flag: string, raw: string): boolean {
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new ConfigError(`--${flag} must be true or false, got ${JSON.stringify(raw)}`);
}

export type UninstallPolicy = "Detach" | "Orphan";

/** `eni-operator uninstall`: the operator's flags, plus what to do with each EniAttachment. */
export interface UninstallConfig extends Config {
  readonly policy: UninstallPolicy;
  /** How long to wait for the last EniAttachment to go before giving up. */
  readonly timeoutMs: number;
  /** Only list what would be released. */
  readonly dryRun: boolean;
  /** Only the EniAttachments with these labels; empty: all. */
  readonly labelSelector: string;
}

export const UNINSTALL_USAGE = `Usage: eni-operator uninstall --policy Detach|Orphan [--timeout 10m] [-l SELECTOR] [--dry-run] [operator flags]

Deletes every EniAttachment (in --watch-namespace, or all namespaces) and does what the operator would:
  --policy Detach   detach each ENI with ECM and confirm it, then let the resource go
  --policy Orphan   let each resource go without any ECM call
  --timeout D       give up after D (s, m or h; default 10m), naming what is left
  -l, --selector S  only the EniAttachments with these labels (a label selector such as tier=db)
  --dry-run         only list what would be deleted, and with which policy
The kubeconfig, ECM endpoint, quota and credentials flags are the operator's (eni-operator --help).`;

export function parseUninstallConfig(argv: readonly string[], env: NodeJS.ProcessEnv): UninstallConfig | "help" {
  // Its own flags here; every other argument goes, in order, to the operator's parser.
  const { values, tokens } = parseArgs({
    args: [...argv],
    options: {
      policy: { type: "string" },
      timeout: { type: "string" },
      selector: { type: "string", short: "l" },
      "dry-run": { type: "boolean" },
    },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const own = new Set<number>();
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    if (token.name === "dry-run") {
      own.add(token.index);
      continue;
    }
    if (token.name !== "policy" && token.name !== "timeout" && token.name !== "selector") continue;
    if (token.value === undefined) throw new ConfigError(`--${token.name} needs a value\n\n${UNINSTALL_USAGE}`);
    own.add(token.index);
    if (!token.inlineValue) own.add(token.index + 1);
  }
  const rest = argv.filter((_arg, index) => !own.has(index));
  if (rest.includes("--help")) return "help";
  const policy = values["policy"];
  if (policy !== "Detach" && policy !== "Orphan") {
    throw new ConfigError(
      `--policy must be Detach or Orphan, got ${JSON.stringify(policy ?? "")}\n\n${UNINSTALL_USAGE}`,
    );
  }
  const config = parseConfig(rest, env);
  if (config === "help") return "help";
  const timeout = values["timeout"];
  const selector = values["selector"];
  return {
    ...config,
    policy,
    timeoutMs: parseDuration("timeout", typeof timeout === "string" ? timeout : "10m"),
    dryRun: values["dry-run"] === true || values["dry-run"] === "true",
    labelSelector: typeof selector === "string" ? selector : "",
  };
}

function parseDuration(flag: string, raw: string): number {
  const match = /^(\d+)(s|m|h)$/.exec(raw);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000 }[match?.[2] ?? "s"] ?? 1_000;
  const value = Number(match?.[1]);
  if (!match || value <= 0)
    throw new ConfigError(`--${flag} must be a duration such as 90s, 10m or 1h, got ${JSON.stringify(raw)}`);
  return value * unit;
}
