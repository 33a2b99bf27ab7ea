// Helpers for tests of the Helm chart: render it with helm, read the objects it renders.
import { fileURLToPath } from "node:url";
import type { KubernetesObject } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { helm, type ToolOptions } from "./cluster.ts";

export const CHART = fileURLToPath(new URL("../../deploy/helm/eni-operator", import.meta.url));
export const fixture = (name: string) => fileURLToPath(new URL(`../integration/fixtures/${name}`, import.meta.url));

/** A rendered object, with the fields tests read. */
export interface Rendered extends KubernetesObject {
  spec?: Record<string, unknown>;
  rules?: PolicyRule[];
  [key: string]: unknown;
}

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}

/** `helm template RELEASE CHART -n NAMESPACE ...args`; throws with helm's message when it refuses. */
export async function renderChart(
  release: string,
  namespace: string,
  args: readonly string[] = [],
  options: ToolOptions = {},
): Promise<string> {
  const result = await helm(["template", release, CHART, "--namespace", namespace, ...args], options);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return result.stdout;
}

export function objectsOf(yaml: string): Rendered[] {
  return parseAllDocuments(yaml)
    .map((doc) => doc.toJS() as Rendered | null)
    .filter((object): object is Rendered => object !== null);
}

export function only(objects: readonly Rendered[], kind: string): Rendered {
  const found = objects.filter((object) => object.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`);
  return found[0] as Rendered;
}

/** Back to YAML documents, e.g. to `kubectl apply -f -` a subset. */
export function toYamlStream(objects: readonly Rendered[]): string {
  return objects.map((object) => JSON.stringify(object)).join("\n---\n");
}

export const RBAC_KINDS = ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"];
