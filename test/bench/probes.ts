// What the benchmark reads of the processes it measures: CPU and memory from /proc, writes from
// kube-apiserver's own metrics, the heap from the operator's /metrics.
import { readFile } from "node:fs/promises";
import { Type, type Static } from "typebox";
import { Value } from "typebox/value";
import { clusterPki } from "../controlplane/pki.ts";
import { httpsGet } from "../controlplane/https-request.ts";
import type { ControlPlane } from "../controlplane/control-plane.ts";

/** Linux's USER_HZ: /proc/PID/stat counts CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

/** User plus system CPU seconds the process has used so far. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/**
 * Resident memory now (VmRSS) and at its highest since the process started (VmHWM), in bytes; and now,
 * what of it is anonymous (heaps, stacks) and what file pages (the Node binary's code and data).
 */
export async function memory(pid: number): Promise<{ rss: number; peak: number; anon: number; file: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status)?.[1] ?? 0);
  return {
    rss: kib("VmRSS") * 1024,
    peak: kib("VmHWM") * 1024,
    anon: kib("RssAnon") * 1024,
    file: kib("RssFile") * 1024,
  };
}

/** The sum of the samples of one metric whose labels match all of `labels` (a value may be a regexp). */
export function sumOf(text: string, metric: string, labels: Readonly<Record<string, string | RegExp>> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    const labelText = /\{(.*)\}/.exec(line)?.[1] ?? "";
    const found = new Map([...labelText.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] ?? "", m[2] ?? ""]));
    const matches = Object.entries(labels).every(([name, want]) => {
      const value = found.get(name);
      return value !== undefined && (typeof want === "string" ? value === want : want.test(value));
    });
    if (matches) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

export interface ApiWrites {
  /** PUT and PATCH of EniAttachments and their status: the bench itself only creates and deletes them. */
  resources: number;
  /** Events created or patched. */
  events: number;
}

/** Write requests kube-apiserver has served so far, by what the operator writes. */
export async function apiWrites(controlPlane: ControlPlane): Promise<ApiWrites> {
  const tls = { caCertPath: clusterPki(controlPlane.dir).servingCa.certPath, clientCert: controlPlane.info.adminCert };
  const { status, body } = await httpsGet(`${controlPlane.server}/metrics`, tls, 30_000);
  if (status !== 200) throw new Error(`kube-apiserver /metrics answered ${status}`);
  const verb = /^(PUT|PATCH)$/;
  return {
    resources: sumOf(body, "apiserver_request_total", { resource: "eniattachments", verb }),
    events: sumOf(body, "apiserver_request_total", { resource: "events", verb: /^(POST|PATCH)$/ }),
  };
}

/** The operator's V8 heap in use, from its /metrics (prom-client's default metrics). */
export async function heapUsedBytes(metricsUrl: string): Promise<number> {
  const response = await fetch(metricsUrl);
  return sumOf(await response.text(), "nodejs_heap_size_used_bytes");
}

const INSPECTOR = "http://127.0.0.1:9229";
const InspectorTargets = Type.Array(Type.Object({ webSocketDebuggerUrl: Type.String() }));
/** What the operator's V8 holds, after a full collection (bytes). */
const HeapFiguresSchema = Type.Object({
  /** The live heap. */
  heapUsed: Type.Number(),
  /** Memory V8 accounts outside its heap: buffers, and the source text of every loaded script. */
  external: Type.Number(),
  /** Of `external`: the loaded scripts' source text. */
  scriptSource: Type.Number(),
  /** Compiled machine code, and bytecode, with their metadata. */
  code: Type.Number(),
  bytecode: Type.Number(),
});
export type HeapFigures = Static<typeof HeapFiguresSchema>;
const EvaluatedFigures = Type.Object({ result: Type.Object({ value: HeapFiguresSchema }) });
const FIGURES = `(() => {
  const v8 = process.getBuiltinModule("node:v8");
  const { heapUsed, external } = process.memoryUsage();
  const code = v8.getHeapCodeStatistics();
  return {
    heapUsed,
    external,
    scriptSource: code.external_script_source_size,
    code: code.code_and_metadata_size,
    bytecode: code.bytecode_and_metadata_size,
  };
})()`;

/**
 * The operator's live heap (what a full garbage collection leaves) and where V8's other memory goes.
 * SIGUSR1 opens Node's inspector on 127.0.0.1:9229, through which the collection is run and the figures
 * then read; heap figures taken without it count garbage not yet collected. Taken after every other
 * figure, since it disturbs them.
 */
export async function heapFigures(pid: number): Promise<HeapFigures> {
  process.kill(pid, "SIGUSR1");
  const targets = await waitForInspector();
  const socket = new WebSocket(targets);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  let id = 0;
  const send = (method: string, params: Record<string, unknown> = {}): Promise<unknown> => {
    id += 1;
    const mine = id;
    socket.send(JSON.stringify({ id: mine, method, params }));
    return new Promise((resolve) => {
      const onMessage = (event: MessageEvent): void => {
        const message: unknown = JSON.parse(String(event.data));
        if (typeof message !== "object" || message === null || !("id" in message) || message.id !== mine) return;
        socket.removeEventListener("message", onMessage);
        resolve("result" in message ? message.result : undefined);
      };
      socket.addEventListener("message", onMessage);
    });
  };
  try {
    await send("HeapProfiler.collectGarbage");
    const result = await send("Runtime.evaluate", { expression: FIGURES, returnByValue: true });
    if (!Value.Check(EvaluatedFigures, result)) throw new Error(`the inspector answered ${JSON.stringify(result)}`);
    return result.result.value;
  } finally {
    socket.close();
  }
}

async function waitForInspector(): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const targets: unknown = await fetch(`${INSPECTOR}/json/list`)
      .then((r) => r.json())
      .catch(() => undefined);
    if (Value.Check(InspectorTargets, targets) && targets[0]) return targets[0].webSocketDebuggerUrl;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the operator's inspector did not open on ${INSPECTOR}`);
}
