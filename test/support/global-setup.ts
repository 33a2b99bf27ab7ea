// vitest globalSetup of the integration project: one control plane (etcd, kube-apiserver and
// kube-controller-manager) for the whole run, built or reused by test/controlplane/build-binaries.sh.
// Tests reach it through inject() or the helpers in cluster.ts.
import { fileURLToPath } from "node:url";
import { KubeConfig } from "@kubernetes/client-node";
import type { TestProject } from "vitest/node";
import { resolveBinaries } from "../controlplane/binaries.ts";
import { startControlPlane } from "../controlplane/control-plane.ts";
import { applyCrds, loadCrdFiles } from "../controlplane/crds.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Admin (system:masters) kubeconfig. */
    kubeconfigPath: string;
    kubectlPath: string;
    helmPath: string;
    /** https://127.0.0.1:<port> */
    apiServerUrl: string;
    /** etcd's client URL, where the API server's every write can be watched (etcd-history.ts). */
    etcdUrl: string;
    /** Holds the control plane's PKI: userKubeconfig() in cluster.ts issues client certificates from it. */
    controlPlaneDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const controlPlane = await startControlPlane({ binaries: await resolveBinaries() });
  const rssMiB = ((await controlPlane.rssBytes()) / 2 ** 20).toFixed(0);
  console.log(
    `control plane ${controlPlane.server} ready in ${controlPlane.startMs} ms; ` +
      `etcd + kube-apiserver + kube-controller-manager resident: ${rssMiB} MiB`,
  );
  // The product's own CRDs, as committed: every integration test runs against them.
  const crdDir = fileURLToPath(new URL("../../crds", import.meta.url));
  const kc = new KubeConfig();
  kc.loadFromFile(controlPlane.adminKubeconfigPath);
  await applyCrds(kc, await loadCrdFiles(crdDir));
  project.provide("kubeconfigPath", controlPlane.adminKubeconfigPath);
  project.provide("kubectlPath", controlPlane.kubectl);
  project.provide("helmPath", controlPlane.helm);
  project.provide("apiServerUrl", controlPlane.server);
  project.provide("controlPlaneDir", controlPlane.dir);
  project.provide("etcdUrl", controlPlane.etcdUrl);
  return () => controlPlane.stop();
}
