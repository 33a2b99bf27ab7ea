import { mkdtemp, rm } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  exitOf,
  isRunning,
  spawnServer,
  stopServers,
  waitForServer,
  type ServerProcess,
} from "../controlplane/processes.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "eni-operator-processes-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const shell = (name: string, script: string): ServerProcess =>
  spawnServer({
    name,
    binary: "/bin/sh",
    args: ["-c", script],
    logPath: join(dir, `${name}.log`),
    survivesParent: false,
  });

/** The check the harness used to make: argv[0] from /proc/PID/cmdline, which reads empty while setpriv execs. */
function argv0Check(proc: ServerProcess): boolean {
  try {
    const argv0 = readFileSync(`/proc/${proc.pid}/cmdline`, "utf8").split("\0")[0];
    return argv0 === proc.binary || argv0 === "/usr/bin/setpriv";
  } catch {
    return false;
  }
}

describe("server liveness", () => {
  it("never reports a server that is starting through setpriv as exited", async () => {
    const spawns = 300;
    const batch = 50;
    let checks = 0;
    let argv0Misses = 0;
    const wrong: string[] = [];
    for (let first = 0; first < spawns; first += batch) {
      const procs: ServerProcess[] = [];
      // A copy is what the CLI reads back from its state file: judged from /proc/PID/stat alone.
      const recorded: ServerProcess[] = [];
      const check = (i: number): void => {
        const proc = procs[i] as ServerProcess;
        checks += 1;
        if (!argv0Check(proc)) argv0Misses += 1;
        if (!isRunning(proc)) wrong.push(`spawned pid ${proc.pid}`);
        if (!isRunning(recorded[i] as ServerProcess)) wrong.push(`recorded pid ${proc.pid}`);
      };
      for (let i = 0; i < batch; i++) {
        procs.push(
          spawnServer({
            name: "sleep",
            binary: "/bin/sleep",
            args: ["30"],
            logPath: join(dir, "sleep.log"),
            survivesParent: false,
          }),
        );
        recorded.push({ ...(procs[i] as ServerProcess) });
        // At once, as waitForServer does: this is when setpriv is still exec'ing the server.
        for (let again = 0; again < 5; again++) check(i);
      }
      // Each sleeps for 30 s after its exec: alive through every check until it is stopped below.
      const until = performance.now() + 100;
      do {
        for (let i = 0; i < batch; i++) check(i);
        await yieldToLoop();
      } while (performance.now() < until);
      await stopServers(procs);
      for (const [i, proc] of procs.entries()) {
        expect(exitOf(proc)).toEqual({ code: null, signal: "SIGTERM" });
        expect(isRunning(proc)).toBe(false);
        expect(isRunning(recorded[i] as ServerProcess)).toBe(false);
      }
    }
    console.log(
      `${spawns} spawns through setpriv, ${checks} liveness checks while they started: ` +
        `the argv[0] check said "exited" ${argv0Misses} times, the exit-event and /proc/PID/stat checks ${wrong.length} times`,
    );
    expect(wrong).toEqual([]);
  }, 60_000);

  it("does not take a process that reuses the pid for the recorded server", async () => {
    const proc = shell("reused", "sleep 5");
    expect(isRunning({ ...proc })).toBe(true);
    expect(isRunning({ ...proc, startTime: proc.startTime + 1 })).toBe(false);
    await stopServers([proc]);
    expect(isRunning(proc)).toBe(false);
  });
});

describe("a server that fails to start", () => {
  it("is reported with its exit code, the time waited and its log", async () => {
    const proc = shell("failing", "echo 'cannot bind 127.0.0.1:1' >&2; exit 3");
    await expect(waitForServer(proc, () => Promise.resolve(false), 60_000)).rejects.toThrow(
      /^failing \(pid \d+\) exited with code 3 during startup, \d+\.\d s after it was started; end of .*failing\.log:\ncannot bind 127\.0\.0\.1:1$/,
    );
  });

  it("is reported with the signal that killed it, and says when its log is empty", async () => {
    const proc = shell("killed", "kill -TERM $$");
    await expect(waitForServer(proc, () => Promise.resolve(false), 60_000)).rejects.toThrow(
      /^killed \(pid \d+\) was killed by SIGTERM during startup, .*; the log .*killed\.log is empty$/,
    );
  });

  it("that never becomes ready is stopped and reported with the time really waited", async () => {
    const proc = shell("silent", "echo listening; exec sleep 30");
    await expect(waitForServer(proc, () => Promise.resolve(false), 300)).rejects.toThrow(
      /^silent \(pid \d+\) did not become ready within 300 ms \(waited \d+\.\d s\); end of .*silent\.log:\nlistening$/,
    );
    expect(isRunning(proc)).toBe(false);
  });
});
