import { readFileSync } from "node:fs";
import type { V1JSONSchemaProps } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { eniAttachmentCrd } from "../../src/api/crd.ts";
import { crdYaml } from "../../src/api/crdgen.ts";

/** Paths of properties that lack a description, which `kubectl explain` would show empty. */
function undocumented(schema: V1JSONSchemaProps, path: string): string[] {
  const own = Object.entries(schema.properties ?? {}).flatMap(([name, child]) => [
    ...(child.description ? [] : [`${path}.${name}`]),
    ...undocumented(child, `${path}.${name}`),
  ]);
  return schema.items ? [...own, ...undocumented(schema.items as V1JSONSchemaProps, `${path}[]`)] : own;
}

describe("the CRD", () => {
  it("in crds/ is exactly what the TypeScript schema generates (run `npm run crdgen` after changing it)", () => {
    const committed = readFileSync(
      new URL("../../crds/ecm.eni-operator.io_eniattachments.yaml", import.meta.url),
      "utf8",
    );
    expect(committed).toBe(crdYaml());
  });

  it("describes every spec and status field for kubectl explain", () => {
    const root = eniAttachmentCrd().spec.versions[0]?.schema?.openAPIV3Schema ?? {};
    expect(undocumented(root, "").filter((path) => path !== ".metadata")).toEqual([]);
  });
});
