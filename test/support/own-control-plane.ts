// A control plane of one test file's own, for tests that stop kube-apiserver or otherwise break the
// cluster: the suite's shared one stays untouched for every other file.
import { fileURLToPath } from "node:url";
import { resolveBinaries } from "../controlplane/binaries.ts";
import { startControlPlane, type ControlPlane } from "../controlplane/control-plane.ts";
import { applyCrds, loadCrdFiles } from "../controlplane/crds.ts";
import { loadKubeConfig } from "./cluster.ts";

const CRD_DIR = fileURLToPath(new URL("../../crds", import.meta.url));

/** etcd, kube-apiserver and kube-controller-manager with the product's CRDs, dying with the test process. */
export async function startOwnControlPlane(): Promise<ControlPlane> {
  const controlPlane = await startControlPlane({ binaries: await resolveBinaries() });
  try {
    await applyCrds(loadKubeConfig(controlPlane.adminKubeconfigPath), await loadCrdFiles(CRD_DIR));
  } catch (cause) {
    await controlPlane.stop();
    throw cause;
  }
  return controlPlane;
}
