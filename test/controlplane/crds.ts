import {
  ApiException,
  ApiextensionsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { waitFor } from "./wait.ts";

const FIELD_MANAGER = "eni-operator-test-harness";

/** The CustomResourceDefinitions in the *.yaml and *.yml files of dir (other kinds are ignored). */
export async function loadCrdFiles(dir: string): Promise<KubernetesObject[]> {
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const crds: KubernetesObject[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(join(dir, file), "utf8"))) {
      if (doc.errors.length > 0) throw new Error(`${join(dir, file)} is not valid YAML`, { cause: doc.errors[0] });
      const value = doc.toJS() as KubernetesObject | null;
      if (value?.kind === "CustomResourceDefinition") crds.push(value);
    }
  }
  return crds;
}

/**
 * Server-side applies the CRDs (so re-applying a changed file updates it) and waits until each is
 * Established. They are sent as written, with the wire's field names: the client's typed
 * V1CustomResourceDefinition would drop keys such as `x-kubernetes-validations` on serialisation.
 */
export async function applyCrds(kc: KubeConfig, crds: readonly KubernetesObject[]): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const apply = setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply);
  const names: string[] = [];
  for (const crd of crds) {
    const name = crd.metadata?.name;
    if (name === undefined) throw new Error("a CustomResourceDefinition has no metadata.name");
    try {
      await api.patchCustomResourceDefinition({ name, body: crd, fieldManager: FIELD_MANAGER, force: true }, apply);
    } catch (cause) {
      throw new Error(`the apiserver rejected CustomResourceDefinition ${name}: ${rejection(cause)}`, { cause });
    }
    names.push(name);
  }
  await Promise.all(names.map((name) => waitForCrdEstablished(kc, name)));
}

/** The status code and message of an API error (client-node leaves the Status body as raw text). */
function rejection(err: unknown): string {
  if (!(err instanceof ApiException)) return err instanceof Error ? err.message : String(err);
  const { code, body } = err as ApiException<unknown>;
  try {
    const status = JSON.parse(typeof body === "string" ? body : "") as { message?: unknown };
    if (typeof status.message === "string") return `HTTP ${code}: ${status.message}`;
  } catch {
    // Not a Status object: the code alone has to do.
  }
  return `HTTP ${code}`;
}

/** Resolves once the CRD's Established condition is True: from then on its resources can be served. */
export async function waitForCrdEstablished(kc: KubeConfig, name: string, timeoutMs = 30_000): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  await waitFor(
    async () => {
      const crd = await api.readCustomResourceDefinition({ name });
      const established = crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
      return established === true ? true : undefined;
    },
    { what: `CustomResourceDefinition ${name} to be Established`, timeoutMs },
  );
}
