// `npm start`: the local control plane, the ECM emulator and the operator together, the samples from
// deploy/samples/ applied, and what happens shown step by step. Then it keeps everything running until
// Ctrl-C, or with --exit (also when stdin is not a terminal or CI=true) tears it all down and exits:
// 0 when every outcome was checked, 1 when a step failed.
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { portsStillInUse } from "./environment.ts";
import { duration, say, section } from "./narrator.ts";
import { followOperatorLogs, printOperatorLogTail, printHowToUse } from "./keep-running.ts";
import { Teardown } from "./teardown.ts";
import { walkthrough, type Progress } from "./walkthrough.ts";

const USAGE = `usage: npm start [-- --exit]

  --exit   tear everything down after the walkthrough and exit (the default when stdin is not a
           terminal or CI=true); exit code 0 only if every step's outcome was as expected`;

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

function parseMode(): "exit" | "keep" | "help" {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { exit: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    strict: true,
  });
  if (values.help) return "help";
  const unattended = !process.stdin.isTTY || process.env["CI"] === "true";
  return values.exit === true || unattended ? "exit" : "keep";
}

class Interrupted extends Error {
  override name = "Interrupted";
}

async function main(): Promise<number> {
  let mode: ReturnType<typeof parseMode>;
  try {
    mode = parseMode();
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (mode === "help") {
    console.log(USAGE);
    return 0;
  }

  const began = performance.now();
  const interruption = new AbortController();
  const interrupted = new Promise<never>((_, reject) => {
    interruption.signal.addEventListener("abort", () => {
      reject(new Interrupted(String(interruption.signal.reason)));
    });
  });
  interrupted.catch(() => undefined);
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interruption.signal.aborted) return; // npm forwards the terminal's Ctrl-C: the same request twice
    console.log(`\n${signal}: stopping the operator, the emulator and the control plane`);
    interruption.abort(signal);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, onSignal);

  const teardown = new Teardown();
  const progress: Progress = {};
  let code = 0;
  try {
    const running = await Promise.race([
      walkthrough({ repoRoot: REPO_ROOT, teardown, signal: interruption.signal }, progress),
      interrupted,
    ]);
    if (mode === "keep") {
      section("Everything keeps running: try it yourself");
      printHowToUse(running);
      const stopFollowing = followOperatorLogs(running.operator);
      await interrupted.catch(() => undefined);
      stopFollowing();
    }
  } catch (error) {
    if (error instanceof Interrupted) {
      code = 130;
    } else {
      code = 1;
      console.error(`\nFAILED: ${error instanceof Error ? error.message : String(error)}`);
      if (progress.operator !== undefined) printOperatorLogTail(progress.operator);
    }
  }

  section("Teardown");
  const stopped = await teardown.run();
  const busy = await portsStillInUse();
  if (busy.length > 0) console.error(`still listening on 127.0.0.1 ports ${busy.join(", ")}`);
  if (!stopped || busy.length > 0) code = code === 0 ? 1 : code;
  say(`\n${code === 0 ? "done" : `exit code ${code}`} after ${duration(performance.now() - began)}`);
  return code;
}

// Exit explicitly: a walkthrough cut short by Ctrl-C may still hold a timer or socket.
process.exit(await main());
