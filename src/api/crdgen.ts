import { stringify } from "yaml";
import { eniAttachmentCrd } from "./crd.ts";

/** Prints the CRD as YAML: `npm run crdgen` writes it to crds/, and a test fails when the two differ. */
export function crdYaml(): string {
  return `# Generated from src/api/eniattachment.ts by \`npm run crdgen\`. Do not edit.\n${stringify(eniAttachmentCrd())}`;
}

if (import.meta.main) process.stdout.write(crdYaml());
