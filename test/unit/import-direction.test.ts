import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// Imports run one way: api <- ecm <- kube <- controller <- the entry points (main, config, the CRD
// generator). observability is usable by every layer and imports none of them.
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");
const LAYERS = ["api", "ecm", "kube", "controller", "entry"] as const;
type Layer = (typeof LAYERS)[number] | "observability";

function layerOf(file: string): Layer {
  const top = relative(SRC, file).split("/")[0] ?? "";
  if (top === "observability") return "observability";
  const layer = LAYERS.find((name) => name === top);
  return layer ?? "entry";
}

function allowed(from: Layer, to: Layer): boolean {
  if (from === to) return true;
  if (from === "observability") return false;
  if (to === "observability") return true;
  const rank = (layer: Layer) => LAYERS.findIndex((name) => name === layer);
  return rank(to) < rank(from);
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

const IMPORT = /(?:import|export)\s[^"';]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function localImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(IMPORT)]
    .map((match) => match[1] ?? match[2] ?? "")
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => resolve(dirname(file), specifier));
}

describe("imports run one way", () => {
  it("finds the layers' files", () => {
    const layers = new Set(sources(SRC).map(layerOf));
    expect([...layers].sort()).toEqual(["api", "controller", "ecm", "entry", "kube", "observability"]);
  });

  it("never import from a layer above, and observability imports no layer", () => {
    const violations = sources(SRC).flatMap((file) =>
      localImports(file)
        .filter((target) => !allowed(layerOf(file), layerOf(target)))
        .map((target) => `${relative(SRC, file)} imports ${relative(SRC, target)}`),
    );
    expect(violations).toEqual([]);
  });

  it("the rule catches an import that runs back up", () => {
    expect(allowed("kube", "controller")).toBe(false);
    expect(allowed("observability", "entry")).toBe(false);
    expect(allowed("ecm", "kube")).toBe(false);
    expect(allowed("controller", "kube")).toBe(true);
    expect(allowed("api", "observability")).toBe(true);
  });
});
