import { stringify } from "yaml";
import { eniAttachmentCrd } from "./crd.ts";

const HEADER = "# Generated from src/api/eniattachment.ts by `npm run crdgen`. Do not edit.\n";

/** The CRD as YAML: `npm run crdgen` writes it to crds/, and a test fails when the two differ. */
export function crdYaml(): string {
  return `${HEADER}${stringify(eniAttachmentCrd())}`;
}

/**
 * The same CRD as the chart's template: behind `crds.enabled`, kept on uninstall when `crds.keep`, so
 * that `helm upgrade` upgrades it and `helm uninstall` leaves users' resources alone.
 */
export function chartCrdTemplate(): string {
  const { metadata, ...rest } = eniAttachmentCrd();
  const head = stringify({ apiVersion: rest.apiVersion, kind: rest.kind });
  const body = stringify({ spec: rest.spec });
  return [
    HEADER,
    "{{- if .Values.crds.enabled }}\n",
    head,
    "metadata:\n",
    `  name: ${metadata?.name ?? ""}\n`,
    "  labels:\n",
    '    {{- include "eni-operator.labels" . | nindent 4 }}\n',
    "  {{- if .Values.crds.keep }}\n",
    "  annotations:\n",
    "    helm.sh/resource-policy: keep\n",
    "  {{- end }}\n",
    body,
    "{{- end }}\n",
  ].join("");
}

if (import.meta.main) process.stdout.write(process.argv.includes("--chart") ? chartCrdTemplate() : crdYaml());
