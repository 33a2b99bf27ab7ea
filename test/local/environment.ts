// Starts the three parts of the local environment, each registered with the teardown as soon as it runs.
import { KubeConfig } from "@kubernetes/client-node";
import { join } from "node:path";
import type { Binaries } from "../controlplane/binaries.ts";
import { startControlPlane, type ControlPlane } from "../controlplane/control-plane.ts";
import { applyCrds, loadCrdFiles } from "../controlplane/crds.ts";
import { isPortFree } from "../controlplane/ports.ts";
import type { Credential } from "../emulator/authenticate.ts";
import { startEmulator, type RunningEmulator } from "../emulator/server.ts";
import { startOperator, type RunningOperator } from "../support/operator.ts";
import type { Teardown } from "./teardown.ts";

/** Everything that listens on loopback: checked to be free once the teardown has run. */
const listenerPorts = new Set<number>();

/** etcd, kube-apiserver and kube-controller-manager on loopback ports, in a temporary directory removed on stop, with the CRDs installed. */
export async function startClusterWithCrds(
  binaries: Binaries,
  repoRoot: string,
  teardown: Teardown,
): Promise<{ controlPlane: ControlPlane; crds: string[] }> {
  const controlPlane = await startControlPlane({ binaries });
  teardown.add("the control plane (etcd, kube-apiserver, kube-controller-manager)", async () => {
    await controlPlane.stop();
    return "ports released, temporary directory removed";
  });
  const kc = new KubeConfig();
  kc.loadFromFile(controlPlane.adminKubeconfigPath);
  const crds = await loadCrdFiles(join(repoRoot, "crds"));
  if (crds.length === 0) throw new Error("crds/ holds no CustomResourceDefinition");
  await applyCrds(kc, crds);
  return { controlPlane, crds: crds.map((crd) => crd.metadata?.name ?? "?") };
}

export async function startSeededEmulator(
  credentials: readonly Credential[],
  teardown: Teardown,
): Promise<RunningEmulator> {
  const emulator = await startEmulator({ credentials });
  listenerPorts.add(emulator.port);
  teardown.add(`the ECM emulator (${emulator.url})`, async () => {
    await emulator.close();
    return undefined;
  });
  return emulator;
}

/** The real operator (src/main.ts) as a child process, resolved once /readyz answers. */
export async function startDemoOperator(
  options: { kubeconfig: string; namespace: string; ecmEndpoint: string; credentials: Credential },
  teardown: Teardown,
): Promise<RunningOperator> {
  // The with-credentials sample shows per-resource credentials, which an installation enables explicitly.
  const operator = await startOperator({ ...options, extraArgs: ["--log-level=info", "--per-resource-credentials"] });
  for (const url of [operator.metricsUrl, operator.probesUrl]) listenerPorts.add(Number(new URL(url).port));
  teardown.add(`the operator (pid ${operator.process.pid ?? "?"})`, async () => {
    const code = await operator.stop();
    return code === null ? "ended by a signal" : `exit code ${code}`;
  });
  return operator;
}

/** Ports this process started a listener on that something still listens on (the control plane checks its own). */
export async function portsStillInUse(): Promise<number[]> {
  const ports = [...listenerPorts];
  const free = await Promise.all(ports.map(isPortFree));
  return ports.filter((_, i) => free[i] !== true);
}
