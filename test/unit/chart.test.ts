import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { chartCrdTemplate } from "../../src/api/crdgen.ts";

const CHART = new URL("../../deploy/helm/eni-operator/", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, CHART), "utf8");

/** Dotted paths of values.yaml's leaves: scalars, lists and empty maps. */
function leaves(value: unknown, path: string): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value) || Object.keys(value).length === 0) {
    return [path];
  }
  return Object.entries(value).flatMap(([key, child]) => leaves(child, path ? `${path}.${key}` : key));
}

function at(value: unknown, path: string): unknown {
  return path
    .split(".")
    .reduce<unknown>(
      (node, key) => (typeof node === "object" && node !== null ? Reflect.get(node, key) : undefined),
      value,
    );
}

/** The chart README's rows: value path and its default as JSON. */
function documented(): Map<string, string> {
  const rows = [...read("README.md").matchAll(/^\| `([^`]+)` +\| `([^`]*)` +\|/gm)];
  return new Map(rows.map(([, path = "", json = ""]) => [path, json]));
}

describe("the Helm chart", () => {
  it("ships the CRD template that the TypeScript schema generates (run `npm run crdgen` after changing it)", () => {
    expect(read("templates/crd.yaml")).toBe(chartCrdTemplate());
  });

  it("has appVersion and version equal to the package version", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    const chart = parse(read("Chart.yaml")) as { appVersion: string; version: string };
    expect(chart.appVersion).toBe(pkg.version);
    expect(chart.version).toBe(pkg.version);
  });

  it("documents every value of values.yaml in its README, with the default values.yaml gives it", () => {
    const values: unknown = parse(read("values.yaml"));
    const rows = documented();
    const undocumented = leaves(values, "").filter(
      (leaf) => ![...rows.keys()].some((path) => leaf === path || leaf.startsWith(`${path}.`)),
    );
    expect(undocumented).toEqual([]);
    const wrong = [...rows].filter(([path, json]) => !isDeepStrictEqual(at(values, path), JSON.parse(json)));
    expect(wrong).toEqual([]);
  });

  it("types every documented value in values.schema.json", () => {
    const schema = JSON.parse(read("values.schema.json")) as unknown;
    const untyped = [...documented().keys()].filter((path) => {
      const node = at(schema, `properties.${path.split(".").join(".properties.")}`);
      return typeof node !== "object" || node === null;
    });
    expect(untyped).toEqual([]);
  });

  it("ships a per-resource credentials sample that says what it needs and does not take the operator's Secret name", () => {
    const sample = readFileSync(new URL("../../deploy/samples/with-credentials.yaml", import.meta.url), "utf8");
    const [secret, attachment] = sample.split(/^---$/m).map((doc) => parse(doc) as Record<string, unknown>);
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const operatorSecret = /create secret generic (\S+) --from-literal=secretId/.exec(readme)?.[1];
    expect(operatorSecret).toBe("ecm-credentials");
    const name = (secret?.["metadata"] as { name: string }).name;
    expect(name).not.toBe(operatorSecret);
    expect(attachment?.["spec"]).toMatchObject({ credentialsSecretRef: { name } });
    expect(sample).toContain("perResourceCredentials.enabled=true");
  });
});
