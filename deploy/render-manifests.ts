// Renders the chart with its defaults into plain manifests for `kubectl apply -f crds/ -f deploy/manifests/`:
// `npm run manifests` writes deploy/manifests/eni-operator.yaml, and a test fails when it is stale.
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseAllDocuments, stringify } from "yaml";
import { resolveBinaries } from "../test/controlplane/binaries.ts";

export const MANIFESTS_NAMESPACE = "eni-system";
export const MANIFESTS_FILE = fileURLToPath(new URL("manifests/eni-operator.yaml", import.meta.url));
const CHART = fileURLToPath(new URL("helm/eni-operator", import.meta.url));

/** Labels that say Helm manages an object: not true of objects applied with kubectl. */
const HELM_LABELS = ["helm.sh/chart", "app.kubernetes.io/managed-by"];

function withoutHelmLabels(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutHelmLabels);
  if (typeof node !== "object" || node === null) return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]: [string, unknown]) => [
      key,
      key === "labels" && typeof value === "object" && value !== null
        ? Object.fromEntries(Object.entries(value).filter(([label]) => !HELM_LABELS.includes(label)))
        : withoutHelmLabels(value),
    ]),
  );
}

/** The default install as one multi-document YAML: the namespace, then the chart without its CRD (that is crds/). */
export async function renderManifests(helm: string): Promise<string> {
  const { stdout } = await promisify(execFile)(helm, [
    "template",
    "eni-operator",
    CHART,
    "--namespace",
    MANIFESTS_NAMESPACE,
    "--set",
    "crds.enabled=false",
    // Never a hook: applied with kubectl, a pre-delete hook would run at once.
    "--no-hooks",
  ]);
  const objects = parseAllDocuments(stdout)
    .map((doc) => doc.toJS() as unknown)
    .filter((object) => object !== null)
    .map(withoutHelmLabels);
  const namespace = { apiVersion: "v1", kind: "Namespace", metadata: { name: MANIFESTS_NAMESPACE } };
  const header =
    "# Generated from deploy/helm/eni-operator with its default values by `npm run manifests`. Do not edit.\n" +
    "# kubectl apply -f crds/ -f deploy/manifests/\n";
  return header + [namespace, ...objects].map((object) => `---\n${stringify(object)}`).join("");
}

if (import.meta.main) {
  const { helm } = await resolveBinaries();
  await writeFile(MANIFESTS_FILE, await renderManifests(helm));
}
