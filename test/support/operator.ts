// Runs the real operator (src/main.ts) as a child process, the way a user runs it: flags, a
// kubeconfig, ECM credentials in the environment, and an --ecm-endpoint that reaches an emulator.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePorts } from "../controlplane/ports.ts";

const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

export interface OperatorOptions {
  kubeconfig: string;
  /** --watch-namespace; the operator sees only this test's resources. */
  namespace: string;
  ecmEndpoint: string;
  credentials?: { secretId: string; secretKey: string };
  extraArgs?: readonly string[];
  /** More environment variables (the TKE_* ones of pod identity, say). */
  env?: Readonly<Record<string, string>>;
  /** Resolve once the process serves its probes, before /readyz is true. */
  skipReadyWait?: boolean;
  /** The script to run instead of src/main.ts (the built dist/main.js), and Node.js flags before it. */
  entry?: { script: string; nodeArgs: readonly string[] };
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface RunningOperator {
  metricsUrl: string;
  probesUrl: string;
  logs: LogLine[];
  /** stderr, for failure messages. */
  stderr: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop: () => Promise<number | null>;
  process: ChildProcess;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const [metricsPort, probesPort] = await freePorts(2);
  const child = spawn(
    process.execPath,
    [
      ...(options.entry?.nodeArgs ?? []),
      options.entry?.script ?? MAIN,
      `--kubeconfig=${options.kubeconfig}`,
      `--watch-namespace=${options.namespace}`,
      `--ecm-endpoint=${options.ecmEndpoint}`,
      `--metrics-bind-address=127.0.0.1:${metricsPort}`,
      `--health-probe-bind-address=127.0.0.1:${probesPort}`,
      "--log-level=debug",
      ...(options.extraArgs ?? []),
    ],
    {
      env: {
        ...process.env,
        TENCENTCLOUD_SECRET_ID: options.credentials?.secretId ?? "",
        TENCENTCLOUD_SECRET_KEY: options.credentials?.secretKey ?? "",
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  running.add(child);
  const logs: LogLine[] = [];
  let stderr = "";
  let partial = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) logs.push(JSON.parse(line) as LogLine);
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  const operator: RunningOperator = {
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    probesUrl: `http://127.0.0.1:${probesPort}`,
    logs,
    stderr: () => stderr,
    process: child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  const died = exited.then((code) => {
    throw new Error(`operator exited with ${code} before it was ready: ${stderr}`);
  });
  await Promise.race([
    died,
    waitFor(async () => {
      const response = await fetch(`${operator.probesUrl}/readyz`).catch(() => undefined);
      return options.skipReadyWait ? response !== undefined : response?.ok === true;
    }, 60_000),
  ]);
  died.catch(() => undefined);
  return operator;
}

/** Polls `check` until it returns a truthy value (returned), or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeoutMs} ms`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
