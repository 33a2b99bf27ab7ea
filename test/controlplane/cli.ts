// `npm run cluster:up` / `npm run cluster:down`: one local etcd + kube-apiserver + kube-controller-manager
// that outlives the command, for trying the operator by hand. The admin kubeconfig's path is the last line `up` prints.
import { KubeConfig } from "@kubernetes/client-node";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { resolveBinaries } from "./binaries.ts";
import { clusterDir, readClusterState, writeClusterState } from "./cluster-state.ts";
import { ControlPlane, SERVERS, startControlPlane, type ServerName } from "./control-plane.ts";
import { applyCrds, loadCrdFiles } from "./crds.ts";

const CRD_DIR = fileURLToPath(new URL("../../crds/", import.meta.url));

const describeServers = (controlPlane: ControlPlane, names: readonly ServerName[]): string =>
  names.map((name) => `${controlPlane.info.processes[name].name} pid ${controlPlane.pids[name]}`).join(", ");

async function up(): Promise<void> {
  const dir = clusterDir();
  const recorded = await readClusterState(dir);
  let controlPlane = recorded === undefined ? undefined : new ControlPlane(recorded);
  if (controlPlane?.isRunning() === true) {
    console.log(`reusing the control plane at ${controlPlane.server} (state in ${dir})`);
  } else if (controlPlane?.canRestart() === true) {
    // A server that stopped (killed, crashed) comes back on the same port, certificates and data.
    const began = performance.now();
    const restarted = await controlPlane.startStopped();
    await writeClusterState(controlPlane.info);
    const which = describeServers(controlPlane, restarted);
    console.log(
      `started again ${which} in ${Math.round(performance.now() - began)} ms, with the same port, ` +
        `certificates and etcd data (${controlPlane.server}; state in ${dir})`,
    );
  } else {
    // Whatever is left of an earlier run (a half-written directory) goes first.
    await controlPlane?.stop();
    await rm(dir, { recursive: true, force: true });
    controlPlane = await startControlPlane({ binaries: await resolveBinaries(), dir, survivesParent: true });
    await writeClusterState(controlPlane.info);
    const which = describeServers(controlPlane, SERVERS);
    const rssMiB = Math.round((await controlPlane.rssBytes()) / 2 ** 20);
    console.log(
      `started ${controlPlane.server} in ${controlPlane.startMs} ms ` +
        `(${which}; ${rssMiB} MiB resident; state in ${dir})`,
    );
  }
  try {
    await installCrds(controlPlane.adminKubeconfigPath);
  } catch (cause) {
    const hint = "it keeps running: fix the CRDs and run `npm run cluster:up` again, or `npm run cluster:down`";
    throw new Error(
      `${cause instanceof Error ? cause.message : String(cause)}\n(control plane ${controlPlane.server}: ${hint})`,
      {
        cause,
      },
    );
  }
  console.log(`try: ${controlPlane.kubectl} --kubeconfig ${controlPlane.adminKubeconfigPath} get ns`);
  console.log(controlPlane.adminKubeconfigPath);
}

async function installCrds(kubeconfigPath: string): Promise<void> {
  const crds = existsSync(CRD_DIR) ? await loadCrdFiles(CRD_DIR) : [];
  if (crds.length === 0) {
    console.log(`no CustomResourceDefinitions in ${CRD_DIR}: none installed`);
    return;
  }
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  await applyCrds(kc, crds);
  console.log(`applied ${crds.map((crd) => crd.metadata?.name ?? "?").join(", ")}`);
}

async function down(): Promise<void> {
  const dir = clusterDir();
  const recorded = await readClusterState(dir);
  if (recorded === undefined) {
    await rm(dir, { recursive: true, force: true });
    console.log(`no control plane recorded in ${dir}: nothing to stop`);
    return;
  }
  const controlPlane = new ControlPlane(recorded);
  await controlPlane.stop();
  const stopped = Object.values(recorded.processes)
    .map((p) => `${p.name} (pid ${p.pid})`)
    .join(" and ");
  console.log(
    `stopped ${stopped} serving ${recorded.server}; ports ${recorded.ports.join(", ")} released; removed ${dir}`,
  );
}

const commands: Record<string, () => Promise<void>> = { up, down };
const command = commands[process.argv[2] ?? ""];
if (command === undefined) {
  console.error("usage: node test/controlplane/cli.ts up|down");
  process.exitCode = 2;
} else {
  try {
    await command();
  } catch (err) {
    // Every failure here carries a complete message (log tails, API messages): stack traces add nothing.
    console.error(`cluster:${process.argv[2] ?? ""} failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
