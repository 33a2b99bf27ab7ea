import { basename } from "node:path";
import { checkTool } from "./check.ts";
import { orphanTool } from "./orphan.ts";
import { reconcileTool } from "./reconcile.ts";
import { statusTool } from "./status.ts";
import type { Tool } from "./tool.ts";
import { ToolError } from "./tool-error.ts";

export const TOOLS: Readonly<Record<string, Tool>> = {
  check: checkTool,
  status: statusTool,
  reconcile: reconcileTool,
  orphan: orphanTool,
};

/** How the user called us: `kubectl eni` through the plugin, `eni-operator` otherwise. */
export function programName(script = process.argv[1] ?? ""): string {
  return basename(script).startsWith("kubectl-eni") ? "kubectl eni" : "eni-operator";
}

export function toolsUsage(program: string): string {
  return `Usage: ${program} COMMAND [flags]

Commands:
${Object.values(TOOLS)
  .map((tool) => `  ${tool.usage.replaceAll("\n", "\n  ")}`)
  .join("\n\n")}

  uninstall --policy Detach|Orphan [--dry-run] [-l SELECTOR] (${program} uninstall --help)`;
}

/** Runs one command and exits: 0 on success, 1 with the reason on stderr, 2 for a usage error. */
export function runTool(name: string, argv: readonly string[]): void {
  const tool = TOOLS[name];
  const program = programName();
  const fail = (message: string, code: number) => {
    process.stderr.write(`${program} ${name}: ${message}\n`);
    process.exitCode = code;
  };
  if (!tool) {
    fail(`unknown command\n\n${toolsUsage(program)}`, 2);
    return;
  }
  tool
    .run(argv, process.env, (text) => process.stdout.write(`${text}\n`))
    .then(
      (code) => {
        if (code === "help") process.stdout.write(`Usage: ${program} ${tool.usage}\n`);
        else process.exitCode = code;
      },
      (error: unknown) => {
        if (error instanceof ToolError) fail(error.message, error.exitCode);
        else fail(error instanceof Error ? (error.stack ?? error.message) : String(error), 1);
      },
    );
}
