import { spawn } from "node:child_process";
import { accessSync, constants, closeSync, openSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { waitFor } from "./wait.ts";

/** A server started by this harness, as recorded in the CLI's state file. */
export interface ServerProcess {
  name: string;
  pid: number;
  /** Absolute path of the binary: checked against /proc before signalling, so a reused pid is never hit. */
  binary: string;
  logPath: string;
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
    child.unref();
    return { name: options.name, pid: child.pid, binary: options.binary, logPath: options.logPath };
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

/** Whether the process is alive (not a zombie) and still runs the recorded binary. */
export function isRunning(proc: ServerProcess): boolean {
  try {
    const stat = readFileSync(`/proc/${proc.pid}/stat`, "utf8");
    // The state letter follows the parenthesised command name, which may itself contain spaces.
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return false;
    const argv0 = readFileSync(`/proc/${proc.pid}/cmdline`, "utf8").split("\0")[0];
    return argv0 === proc.binary || argv0 === SETPRIV;
  } catch {
    return false;
  }
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

/** The last lines of a server's log, for error messages. */
export async function logTail(proc: ServerProcess, lines = 30): Promise<string> {
  const text = await readFile(proc.logPath, "utf8").catch(() => "");
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/**
 * Waits until `probe` reports the server ready. If the server exits first or the time runs out, stops
 * it and fails with the tail of its log.
 */
export async function waitForServer(
  proc: ServerProcess,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  try {
    await waitFor(
      async () => {
        if (!isRunning(proc)) throw new Error(`${proc.name} exited`);
        return (await probe()) ? true : undefined;
      },
      { what: `${proc.name} to become ready`, timeoutMs },
    );
  } catch (cause) {
    const reason = isRunning(proc) ? `did not become ready within ${timeoutMs} ms` : "exited during startup";
    await stopServers([proc]);
    throw new Error(`${proc.name} (pid ${proc.pid}) ${reason}; end of ${proc.logPath}:\n${await logTail(proc)}`, {
      cause,
    });
  }
}
