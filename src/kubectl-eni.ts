#!/usr/bin/env node
// `kubectl eni ...`: the kubectl plugin, which runs the same commands as `eni-operator ...` but never
// the operator itself.
import "./node-version.ts";

const [command] = process.argv.slice(2);
if (command === undefined || command.startsWith("-")) {
  const { programName, toolsUsage } = await import("./cli/tools.ts");
  process.stdout.write(`${toolsUsage(programName())}\n`);
  process.exitCode = command === "--help" || command === "-h" ? 0 : 2;
} else {
  await import("./cli.ts");
}
