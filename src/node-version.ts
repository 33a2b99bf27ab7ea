// Imported first by the entry point, so it runs before any module that needs a newer Node.js
// (client-node's undici fails on Node 20 with a TypeError far from the cause).
import { readFileSync } from "node:fs";
import { satisfies } from "semver";

/** The `engines.node` range of package.json, which sits one directory above src/ and dist/. */
function requiredRange(): string | undefined {
  const pkg: unknown = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  if (typeof pkg !== "object" || pkg === null || !("engines" in pkg)) return undefined;
  const { engines } = pkg;
  if (typeof engines !== "object" || engines === null || !("node" in engines)) return undefined;
  return typeof engines.node === "string" ? engines.node : undefined;
}

const range = requiredRange();
if (range !== undefined && !satisfies(process.version, range)) {
  process.stderr.write(
    `eni-operator: needs Node.js ${range} (package.json engines); this is Node.js ${process.version}\n`,
  );
  process.exit(1);
}
