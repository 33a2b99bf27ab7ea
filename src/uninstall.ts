import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import { currentFailure } from "./api/current-failure.ts";
import { GROUP, PLURAL, VERSION, type EniAttachment } from "./api/eniattachment.ts";
import type { UninstallConfig } from "./config.ts";
import { keyOf } from "./controller/keys.ts";
import { isNotFound } from "./kube/api-errors.ts";
import type { Logger } from "./observability/logger.ts";
import { Metrics } from "./observability/metrics.ts";
import { createController } from "./operator.ts";

const POLL_MS = 500;
const PROGRESS_EVERY_MS = 5_000;
const STOP_GRACE_MS = 20_000;
const CACHE_WAIT_MS = 30_000;

async function waitUntil(check: () => boolean, timeoutMs: number, failure: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${failure} within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * `eni-operator uninstall`: sets every EniAttachment's deletionPolicy to the chosen policy, deletes
 * them all, and runs the operator's own controller until none is left, so each one goes exactly as the
 * operator would let it go: Detach calls ECM and removes the finalizer only once ECM shows the ENI
 * detached; Orphan removes it with no ECM call. Resources are deleted before any worker starts, so an
 * Orphan uninstall never observes, let alone detaches, an ENI. Returns the exit code: 0 only when no
 * EniAttachment is left.
 */
export async function uninstall(
  config: UninstallConfig,
  kc: KubeConfig,
  logger: Logger,
  progress: (line: string) => void,
): Promise<number> {
  const api = kc.makeApiClient(CustomObjectsApi);
  // No leader election: the command does the work itself, whether or not an operator runs.
  const { controller, resources } = createController(
    config,
    kc,
    logger,
    new Metrics(),
    () => !config.dryRun,
    config.labelSelector,
  );
  const scope = `${config.watchNamespaces.length > 0 ? `namespaces ${config.watchNamespaces.join(", ")}` : "all namespaces"}${config.labelSelector ? ` matching ${config.labelSelector}` : ""}`;
  await controller.startInformers();
  const initial = resources();
  if (config.dryRun) {
    await controller.stop(0);
    progress(
      `dry run: would delete ${initial.length} EniAttachment(s) in ${scope} with deletionPolicy ${config.policy}:`,
    );
    for (const resource of initial) progress(`  ${describe(resource)}`);
    return 0;
  }
  progress(`${initial.length} EniAttachment(s) in ${scope}; deleting them with deletionPolicy ${config.policy}`);
  for (const resource of initial) await release(api, resource, config.policy);
  // Workers read the cache: they start once it shows every deletion, or they would reconcile the
  // resource as it was, observing (or attaching) an ENI that is to be let go.
  await waitUntil(
    () => resources().every((r) => r.metadata.deletionTimestamp && r.spec.deletionPolicy === config.policy),
    CACHE_WAIT_MS,
    "the informer cache did not show the deletions",
  );
  controller.startWorkers();

  const deadline = Date.now() + config.timeoutMs;
  let lastProgress = Date.now();
  let left = resources();
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    left = resources();
    if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = Date.now();
      progress(`${left.length} left: ${left.map(describe).join("; ")}`);
    }
  }
  await controller.stop(STOP_GRACE_MS);
  const gone = initial.length - left.length;
  const how = config.policy === "Detach" ? "each ENI detached and confirmed by ECM" : "no ECM call made";
  if (left.length === 0) {
    progress(`done: ${gone} EniAttachment(s) removed (${how}); none left in ${scope}`);
    return 0;
  }
  progress(`gave up after ${Math.round(config.timeoutMs / 1000)} s: ${gone} removed, ${left.length} left:`);
  for (const resource of left) progress(`  ${describe(resource)}`);
  progress(
    config.policy === "Detach"
      ? "fix what status names and run it again, or run it with --policy Orphan to let them go without a detach"
      : "the operator's ServiceAccount or kubeconfig may lack update on eniattachments: see the log lines above",
  );
  return 1;
}

/** Sets the policy where it differs, then deletes; the finalizer holds the resource for the controller. */
async function release(
  api: CustomObjectsApi,
  resource: EniAttachment,
  policy: UninstallConfig["policy"],
): Promise<void> {
  const { namespace = "", name = "" } = resource.metadata;
  try {
    if (resource.spec.deletionPolicy !== policy) {
      await api.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: { spec: { deletionPolicy: policy } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    }
    if (!resource.metadata.deletionTimestamp) {
      await api.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name });
    }
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** What a user needs to know of a resource still there: its key and what its status says. */
function describe(resource: EniAttachment): string {
  const { phase, conditions } = resource.status ?? {};
  const errorCode = currentFailure(resource.status)?.code;
  const ready = conditions?.find((c) => c.type === "Ready");
  const why = errorCode ? `${errorCode}: ${ready?.message ?? ""}` : (ready?.message ?? "not reconciled yet");
  return `${keyOf(resource)} (${resource.metadata.deletionTimestamp ? "Terminating" : "not deleted"}, phase ${phase ?? "none"}, ${why})`;
}
