// `npm run bench`: the operator's speed, memory, CPU and API writes, measured on a control plane and an
// emulator of the benchmark's own, printed as a table beside their targets. It judges nothing: it
// exits 0 whatever the figures, and non-zero only when a phase could not run.
import { execFileSync } from "node:child_process";
import { cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { startBed } from "./bed.ts";
import { silentConnections } from "./network.ts";
import { adoption, bulk, empty, latency, restart, type Adopted, type Row } from "./phases.ts";

const USAGE = `Usage: npm run bench -- [--quick] [--latency N] [--bulk N] [--adoption N[,N...]] [--two-accounts N]
                       [--silent N] [--idle-seconds S]
  --latency N        single deletions on an idle operator (default 200; --quick 20)
  --bulk N           deletions at once (default 1000; --quick 100)
  --adoption N,...   new resources adopted by a starting operator, one run per size; the largest is
                     then restarted (default 1000,5000,10000; --quick 200)
  --two-accounts N   deletions at once split across two accounts (default 1000; --quick 100)
  --silent N         trials of the API server's open connections going silent (default 10; --quick 3)
  --idle-seconds S   how long idle CPU is measured, reported per 20 s (default 60; --quick 5)
A size of 0 skips its phase.`;

function sizes(text: string, flag: string): number[] {
  const values = text.split(",").map((part) => Number(part.trim()));
  if (values.some((v) => !Number.isInteger(v) || v < 0)) throw new Error(`--${flag}: not a count: ${text}`);
  return values.filter((v) => v > 0);
}

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      latency: { type: "string" },
      bulk: { type: "string" },
      adoption: { type: "string" },
      "two-accounts": { type: "string" },
      silent: { type: "string" },
      "idle-seconds": { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  const quick = values.quick;
  const one = (flag: "latency" | "bulk" | "two-accounts" | "silent", full: number, short: number) =>
    sizes(values[flag] ?? String(quick ? short : full), flag)[0] ?? 0;
  return {
    help: values.help,
    quick,
    latency: one("latency", 200, 20),
    bulk: one("bulk", 1000, 100),
    adoption: sizes(values.adoption ?? (quick ? "200" : "1000,5000,10000"), "adoption").sort((a, b) => a - b),
    twoAccounts: one("two-accounts", 1000, 100),
    silent: one("silent", 10, 3),
    idleMs: (sizes(values["idle-seconds"] ?? (quick ? "5" : "60"), "idle-seconds")[0] ?? 60) * 1000,
  };
}

function header(): string[] {
  const commit = (() => {
    try {
      return execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
    } catch {
      return "unknown";
    }
  })();
  const cpu = cpus();
  return [
    `machine: ${cpu.length} × ${cpu[0]?.model ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `date: ${new Date().toISOString()}`,
    `commit: ${commit}`,
    `node: ${process.version}`,
  ];
}

function table(rows: readonly Row[]): string {
  const cells = rows.map((r) => [
    r.phase,
    r.figure,
    r.value,
    r.target ?? "",
    r.met === undefined ? "" : r.met ? "met" : "NOT met",
  ]);
  const titles = ["phase", "figure", "measured", "target", ""];
  const widths = titles.map((t, i) => Math.max(t.length, ...cells.map((c) => (c[i] ?? "").length)));
  const line = (c: readonly string[]) => `| ${c.map((v, i) => v.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [line(titles), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...cells.map(line)].join("\n");
}

async function main(): Promise<void> {
  const o = options();
  if (o.help) {
    console.log(USAGE);
    return;
  }
  const rows: Row[] = [];
  const progress = (what: string) => console.error(`[bench ${new Date().toISOString()}] ${what}`);
  progress("starting the control plane and the emulator");
  const bed = await startBed();
  try {
    progress("empty operator");
    const base = await empty(bed, o.idleMs);
    rows.push(...base.rows);
    if (o.latency > 0) {
      progress(`latency: ${o.latency} single deletions`);
      rows.push(...(await latency(bed, o.latency)));
    }
    if (o.bulk > 0) {
      progress(`bulk: ${o.bulk} deletions`);
      rows.push(...(await bulk(bed, { count: o.bulk, accounts: 1 })));
    }
    let largest: Adopted | undefined;
    for (const count of o.adoption) {
      if (largest) await largest.run.operator.stop();
      progress(`adoption: ${count} resources`);
      const result = await adoption(bed, count, o.idleMs, base.liveHeap);
      rows.push(...result.rows);
      largest = result.adopted;
    }
    if (largest) {
      progress(`restart: ${largest.count} settled resources`);
      rows.push(...(await restart(bed, largest, o.idleMs)));
    }
    if (o.twoAccounts > 0) {
      progress(`two accounts: ${o.twoAccounts} deletions`);
      rows.push(...(await bulk(bed, { count: o.twoAccounts, accounts: 2 })));
    }
    if (o.silent > 0) {
      progress(`silent connections: ${o.silent} trials`);
      rows.push(...(await silentConnections(bed, o.silent)));
    }
  } finally {
    await bed.close();
  }
  console.log([...header(), "", table(rows)].join("\n"));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
