// The story `npm start` tells: bring everything up, apply the samples, watch the operator attach and
// detach, then delete. Each step prints what a user would type and see, and checks the outcome.
import type { EniAttachment } from "../../src/api/eniattachment.ts";
import { resolveBinaries } from "../controlplane/binaries.ts";
import type { ControlPlane } from "../controlplane/control-plane.ts";
import { DEFAULT_CREDENTIAL, type RunningEmulator } from "../emulator/server.ts";
import type { RunningOperator } from "../support/operator.ts";
import {
  checkAllReady,
  checkCallsAfterApply,
  checkDetachedOnDelete,
  checkEvents,
  checkOrphaned,
  type EventJson,
} from "./checks.ts";
import { callsTable, credentialLabels, enisTable } from "./ecm-view.ts";
import { startClusterWithCrds, startDemoOperator, startSeededEmulator } from "./environment.ts";
import { Kubectl } from "./kubectl.ts";
import { duration, say, section } from "./narrator.ts";
import {
  CREDENTIALS_SECRET,
  EDGE_GATEWAY,
  NAMESPACE,
  SAMPLES,
  SAMPLES_DIR,
  WEB_PRIMARY,
  sampleSecretCredential,
  seedEnis,
} from "./samples.ts";
import type { Teardown } from "./teardown.ts";

/** What is running once the walkthrough is done, for the user to try things by hand. */
export interface Running {
  controlPlane: ControlPlane;
  emulator: RunningEmulator;
  operator: RunningOperator;
}

/** Filled in as the parts start, so a failure can show what the operator logged. */
export interface Progress {
  operator?: RunningOperator;
}

export async function walkthrough(
  options: { repoRoot: string; teardown: Teardown; signal: AbortSignal },
  progress: Progress,
): Promise<Running> {
  const { repoRoot, teardown, signal } = options;

  section("Local control plane: etcd, kube-apiserver, kube-controller-manager and the EniAttachment CRD");
  say("kube-apiserver, kube-controller-manager, etcd, kubectl and helm are built from Go modules on the first");
  say("run (that takes a while, progress on stderr) and cached afterwards; KUBEBUILDER_ASSETS or TEST_ASSET_*");
  say("select existing binaries.");
  const began = performance.now();
  const binaries = await resolveBinaries();
  say(`binaries ready in ${duration(performance.now() - began)}; kubectl is ${binaries.kubectl}`);
  const { controlPlane, crds } = await startClusterWithCrds(binaries, repoRoot, teardown);
  const { etcd, kubeApiserver, kubeControllerManager } = controlPlane.pids;
  say(`kube-apiserver serves ${controlPlane.server} (etcd pid ${etcd}, kube-apiserver pid ${kubeApiserver},`);
  say(`kube-controller-manager pid ${kubeControllerManager} for namespace deletion and garbage collection),`);
  say(`started in ${duration(controlPlane.startMs)}; installed CustomResourceDefinition ${crds.join(", ")}\n`);
  const kubectl = new Kubectl({
    binary: binaries.kubectl,
    kubeconfig: controlPlane.adminKubeconfigPath,
    cwd: repoRoot,
    stateDir: controlPlane.dir,
    signal,
  });
  await kubectl.show(["get", "crd"]);

  section("ECM emulator: a local stand-in for the Tencent Cloud ECM API");
  const secretCredential = await sampleSecretCredential(repoRoot);
  const emulator = await startSeededEmulator([DEFAULT_CREDENTIAL, secretCredential], teardown);
  const labels = credentialLabels([
    [DEFAULT_CREDENTIAL, "operator's own"],
    [secretCredential, `Secret ${CREDENTIALS_SECRET}`],
  ]);
  say(`listening on ${emulator.url}; it accepts two credentials:`);
  say(`  SecretId ${DEFAULT_CREDENTIAL.secretId}  (the operator's own, from its environment)`);
  say(`  SecretId ${secretCredential.secretId}  (Secret ${CREDENTIALS_SECRET} in ${SAMPLES_DIR})`);
  say("\nseeded ENIs, set up so that each sample has something to show:\n");
  say(enisTable(await emulator.control.addEnis(seedEnis())));
  say("");
  for (const sample of SAMPLES) say(`  ${sample.resource.padEnd(16)}${sample.eni}: ${sample.story}`);

  section("The operator (src/main.ts), pointed at the emulator");
  const operator = await startDemoOperator(
    {
      kubeconfig: controlPlane.adminKubeconfigPath,
      namespace: NAMESPACE,
      ecmEndpoint: emulator.url,
      credentials: DEFAULT_CREDENTIAL,
    },
    teardown,
  );
  progress.operator = operator;
  say(`pid ${operator.process.pid ?? "?"}, with the admin kubeconfig, --watch-namespace ${NAMESPACE},`);
  say(`--ecm-endpoint ${emulator.url}, --per-resource-credentials, and the emulator's default credentials in`);
  say("TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY (requests are signed exactly as for the real ECM)");
  say(`ready: ${operator.probesUrl}/readyz answers 200; metrics on ${operator.metricsUrl}`);

  section(`Apply the samples into namespace ${NAMESPACE}`);
  await kubectl.show(["create", "namespace", NAMESPACE]);
  await kubectl.show(["apply", "-f", SAMPLES_DIR, "-n", NAMESPACE]);
  const list = (): Promise<EniAttachment[]> =>
    kubectl.json<{ items: EniAttachment[] }>(["get", "enia", "-n", NAMESPACE]).then((l) => l.items);
  const wait = ["wait", "--for=condition=Ready", "enia", "--all", "-n", NAMESPACE, "--timeout=60s"];
  if ((await kubectl.show(wait, { timed: true, allowFailure: true })).code !== 0) {
    await kubectl.show(["get", "enia", "-n", NAMESPACE], { allowFailure: true });
    throw new Error(`not every resource became Ready within 60 s:\n${notReady(await list())}`);
  }
  await kubectl.show(["get", "enia", "-n", NAMESPACE]);
  await kubectl.show(["describe", "enia", "batch-secondary", "-n", NAMESPACE]);
  const applied = await list();
  checkAllReady(applied);

  section("What reached ECM: the emulator's journal");
  const calls = await emulator.control.calls();
  say(callsTable(calls, labels));
  say("");
  checkCallsAfterApply(calls, applied, secretCredential.secretId);
  const lastSeq = calls.at(-1)?.seq ?? 0;

  section("Delete: Detach first (finalizer), or Orphan");
  say(`${WEB_PRIMARY.resource} has deletionPolicy Detach (the default): kubectl returns once ECM confirms.\n`);
  await kubectl.show(["delete", "enia", WEB_PRIMARY.resource, "-n", NAMESPACE], { timed: true });
  checkDetachedOnDelete(await emulator.control.calls(), await list(), await emulator.control.enis());
  say(`\n${EDGE_GATEWAY.resource} has deletionPolicy Orphan: released at once, its ENI stays attached.\n`);
  await kubectl.show(["delete", "enia", EDGE_GATEWAY.resource, "-n", NAMESPACE], { timed: true });
  checkOrphaned(await emulator.control.calls(), await list(), await emulator.control.enis());
  say("");
  await kubectl.show(["get", "events", "-n", NAMESPACE, "--sort-by=.lastTimestamp"]);
  const allCalls = await emulator.control.calls();
  checkEvents((await kubectl.json<{ items: EventJson[] }>(["get", "events", "-n", NAMESPACE])).items, allCalls);
  say("\nECM calls during the deletions:\n");
  say(callsTable(await emulator.control.calls(lastSeq), labels));
  say("\nthe ENIs at ECM now:\n");
  say(enisTable(await emulator.control.enis()));

  return { controlPlane, emulator, operator };
}

/** `  web-primary: Ready False (AttachedElsewhere) eni-... is attached to ...`, one line per resource not Ready. */
function notReady(resources: readonly EniAttachment[]): string {
  return resources
    .map((r) => [r.metadata.name ?? "?", r.status?.conditions?.find((c) => c.type === "Ready")] as const)
    .filter(([, ready]) => ready?.status !== "True")
    .map(([name, ready]) =>
      ready === undefined
        ? `  ${name}: no Ready condition yet (is the operator running?)`
        : `  ${name}: Ready ${ready.status} (${ready.reason}) ${ready.message}`,
    )
    .join("\n");
}
