import { spawn } from "node:child_process";
import { accessSync, constants, closeSync, openSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

/** A server started by this harness, as recorded in the CLI's state file. */
export interface ServerProcess {
  name: string;
  pid: number;
  /**
   * The kernel's start time of the process (clock ticks since boot, /proc/PID/stat field 22), read at
   * spawn: a later process that reuses the pid has another, so it is never taken for the server.
   */
  startTime: number;
  binary: string;
  logPath: string;
}

/** How a process started here ended, from its ChildProcess `exit` event. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnServerOptions {
  name: string;
  binary: string;
  args: string[];
  logPath: string;
  /** false: the kernel kills the server when this process dies, however it dies (PR_SET_PDEATHSIG). */
  survivesParent: boolean;
}

const SETPRIV = "/usr/bin/setpriv";

/**
 * The end of each process this process spawned: undefined while it runs. Servers recorded by another
 * process (the CLI's state file) are not here and are judged from /proc instead.
 */
const exits = new WeakMap<ServerProcess, { exit: ProcessExit | undefined; ended: Promise<ProcessExit> }>();

/**
 * Starts a server in its own process group with stdout and stderr appended to logPath, and does not
 * keep this process alive for it.
 */
export function spawnServer(options: SpawnServerOptions): ServerProcess {
  const log = openSync(options.logPath, "a");
  try {
    const [command, args] = options.survivesParent
      ? [options.binary, options.args]
      : [SETPRIV, ["--pdeathsig", "KILL", "--", options.binary, ...options.args]];
    if (!options.survivesParent) assertExecutable(SETPRIV);
    const child = spawn(command, args, { detached: true, stdio: ["ignore", log, log] });
    if (child.pid === undefined) throw new Error(`could not start ${options.name} (${options.binary})`);
    // Node reaps its children only from the event loop, so the process cannot have been reaped yet
    // and its /proc entry is there to read, even if it has already died.
    const startTime = procStat(child.pid)?.startTime;
    if (startTime === undefined) throw new Error(`${options.name} (pid ${child.pid}) has no /proc entry at spawn`);
    const proc: ServerProcess = {
      name: options.name,
      pid: child.pid,
      startTime,
      binary: options.binary,
      logPath: options.logPath,
    };
    const entry: { exit: ProcessExit | undefined; ended: Promise<ProcessExit> } = {
      exit: undefined,
      ended: new Promise((resolve) => {
        child.once("exit", (code, signal) => {
          entry.exit = { code, signal };
          resolve(entry.exit);
        });
      }),
    };
    exits.set(proc, entry);
    child.unref();
    return proc;
  } finally {
    closeSync(log);
  }
}

function assertExecutable(path: string): void {
  try {
    accessSync(path, constants.X_OK);
  } catch (cause) {
    throw new Error(`${path} (util-linux) is needed so test servers die with the test process`, { cause });
  }
}

/** State letter and start time from /proc/PID/stat; undefined when there is no such process. */
function procStat(pid: number): { state: string; startTime: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The fields follow the parenthesised command name, which may itself contain spaces and parentheses:
  // after it come field 3 (state) ... field 22 (starttime).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const startTime = Number(fields[19]);
  return fields[0] === undefined || !Number.isInteger(startTime) ? undefined : { state: fields[0], startTime };
}

/**
 * Whether the server still runs. For a process spawned here, until its `exit` event; for one recorded by
 * another process, while /proc shows a live (not zombie or dead) process with the recorded start time.
 * Neither reads the command line, which is empty while a process execs.
 */
export function isRunning(proc: ServerProcess): boolean {
  const spawned = exits.get(proc);
  if (spawned !== undefined) return spawned.exit === undefined;
  const stat = procStat(proc.pid);
  return stat !== undefined && stat.startTime === proc.startTime && stat.state !== "Z" && stat.state !== "X";
}

/** How a process spawned here ended, once it has; undefined while it runs or when it was not spawned here. */
export function exitOf(proc: ServerProcess): ProcessExit | undefined {
  return exits.get(proc)?.exit;
}

/** SIGTERM to each process group, SIGKILL to whatever is left after graceMs; resolves once all have exited. */
export async function stopServers(procs: readonly ServerProcess[], graceMs = 10_000): Promise<void> {
  signalGroups(procs, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (procs.some(isRunning)) {
    if (Date.now() >= deadline) {
      signalGroups(procs, "SIGKILL");
      break;
    }
    await sleep(50);
  }
  while (procs.some(isRunning)) await sleep(20);
}

/** Synchronous SIGKILL, for process 'exit' handlers where nothing asynchronous runs. */
export function killServersNow(procs: readonly ServerProcess[]): void {
  signalGroups(procs, "SIGKILL");
}

function signalGroups(procs: readonly ServerProcess[], signal: NodeJS.Signals): void {
  for (const proc of procs.filter(isRunning)) {
    try {
      process.kill(-proc.pid, signal);
    } catch {
      // Exited between the check and the signal.
    }
  }
}

/** Resident set size from /proc/PID/status (VmRSS), 0 for a process that has gone. */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  return kib === undefined ? 0 : Number(kib) * 1024;
}

/** The last lines of a server's log, for error messages, or a sentence saying that it is empty. */
export async function logTail(proc: ServerProcess, lines = 30): Promise<string> {
  const text = (await readFile(proc.logPath, "utf8").catch(() => "")).trimEnd();
  if (text === "") return `the log ${proc.logPath} is empty`;
  return `end of ${proc.logPath}:\n${text.split("\n").slice(-lines).join("\n")}`;
}

function describeExit(exit: ProcessExit | undefined): string {
  if (exit === undefined) return "exited";
  return exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${String(exit.code)}`;
}

/**
 * Waits until `probe` reports the server ready, probing at most every 100 ms. If the server exits first
 * or the time runs out, stops it and fails with what happened, the time actually waited and its log.
 */
export async function waitForServer(
  proc: ServerProcess,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const began = performance.now();
  const waited = (): string => `${((performance.now() - began) / 1000).toFixed(1)} s`;
  const ended = exits.get(proc)?.ended;
  let failure: string | undefined;
  for (;;) {
    if (!isRunning(proc)) {
      failure = `${describeExit(exitOf(proc))} during startup, ${waited()} after it was started`;
      break;
    }
    if (await probe()) return;
    if (performance.now() - began >= timeoutMs) {
      failure = `did not become ready within ${timeoutMs} ms (waited ${waited()})`;
      break;
    }
    // Wakes at once when the server exits, so its end is reported as it happened.
    await Promise.race([sleep(100), ...(ended ? [ended] : [])]);
  }
  await stopServers([proc]);
  throw new Error(`${proc.name} (pid ${proc.pid}) ${failure}; ${await logTail(proc)}`);
}
