// The operator, built as it ships (dist/main.js), started with a Node.js older than package.json's
// engines: it must say so in one line, instead of dying inside a dependency.
import { execFile, spawnSync } from "node:child_process";
import { copyFile, mkdir, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { satisfies } from "semver";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
// The bundle needs no node_modules beside it: only package.json one directory above, for engines.
const OUT = fileURLToPath(new URL("../../node_modules/.cache/eni-operator-node-version/", import.meta.url));
const ENGINES = ">=24.11.0";

/** The machine's own Node.js (npm scripts put Node 24 first on PATH: look past node_modules). */
function systemNode(): { path: string; version: string } | undefined {
  const dirs = (process.env["PATH"] ?? "").split(":").filter((dir) => dir && !dir.includes("node_modules"));
  for (const path of ["/usr/bin/node", ...dirs.map((dir) => `${dir}/node`)]) {
    const probe = spawnSync(path, ["--version"], { encoding: "utf8" });
    if (probe.status === 0) return { path, version: probe.stdout.trim() };
  }
  return undefined;
}

const old = systemNode();
const tooOld = old !== undefined && !satisfies(old.version, ENGINES);

describe("starting on a Node.js older than engines", () => {
  afterAll(async () => {
    await rm(OUT, { recursive: true, force: true });
  });

  it.skipIf(!tooOld)(
    `refuses with one line naming both versions (system Node.js ${old?.version ?? "absent"})`,
    async () => {
      await mkdir(OUT, { recursive: true });
      await promisify(execFile)(
        process.execPath,
        [`${ROOT}/node_modules/rolldown/bin/cli.mjs`, "-c", "rolldown.config.ts", "--dir", `${OUT}dist`],
        { cwd: ROOT },
      );
      await copyFile(`${ROOT}/package.json`, `${OUT}package.json`);
      const run = spawnSync(old?.path ?? "", [`${OUT}dist/main.js`, "--help"], { encoding: "utf8" });
      expect(run.stderr).toBe(
        `eni-operator: needs Node.js ${ENGINES} (package.json engines); this is Node.js ${old?.version ?? ""}\n`,
      );
      expect(run.status).toBe(1);
      expect(run.stdout).toBe("");
    },
  );
});
