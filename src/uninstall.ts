import { monotonic } from "./api/clock.ts";
import { currentFailure } from "./api/current-failure.ts";
import type { EniAttachment } from "./api/eniattachment.ts";
import type { Fence } from "./api/fence.ts";
import type { UninstallConfig } from "./config.ts";
import { keyOf } from "./controller/keys.ts";
import { CONTENT, type KubeApi } from "./kube/api-client.ts";
import { isNotFound } from "./kube/api-errors.ts";
import { EniAttachmentClient } from "./kube/eniattachment-client.ts";
import { LeaderElector, kubeLeases } from "./kube/leader-election.ts";
import { DEFAULT_TIMINGS } from "./kube/lease-timings.ts";
import { podNamespace } from "./kube/pod-namespace.ts";
import type { Logger } from "./observability/logger.ts";
import { Metrics } from "./observability/metrics.ts";
import { createController } from "./operator.ts";

const POLL_MS = 500;
const PROGRESS_EVERY_MS = 5_000;
const STOP_GRACE_MS = 20_000;
const CACHE_WAIT_MS = 30_000;

async function waitUntil(check: () => boolean, timeoutMs: number, failure: string): Promise<void> {
  const deadline = monotonic() + timeoutMs;
  while (!check()) {
    if (monotonic() > deadline) throw new Error(`${failure} within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * `eni-operator uninstall`: deletes every EniAttachment, sets each one's deletionPolicy to the chosen
 * policy, and runs the operator's own controller until none is left, so each one goes exactly as the
 * operator would let it go: Detach calls ECM and removes the finalizer only once ECM shows the ENI
 * detached; Orphan removes it with no ECM call.
 *
 * It does all that as the operator's leader: it takes the operator's Lease first (from a running
 * leader too, which then stops at once and waits as a follower until the command gives the Lease
 * back), and every write and ECM call is fenced by it, so one process alone calls ECM. Holding the
 * Lease, nothing reconciles between its two writes; deleting first means a command stopped between
 * them leaves a resource terminating under its own policy, never a live one set to Orphan. Workers
 * start only once the cache shows every deletion and policy, so an Orphan uninstall never observes,
 * let alone detaches, an ENI. Returns the exit code: 0 only when no EniAttachment is left.
 */
export async function uninstall(
  config: UninstallConfig,
  api: KubeApi,
  logger: Logger,
  progress: (line: string) => void,
): Promise<number> {
  let lost = false;
  const leaseNamespace = config.leaderElectionNamespace || podNamespace() || "default";
  const elector = new LeaderElector(kubeLeases(api), {
    ...DEFAULT_TIMINGS,
    namespace: leaseNamespace,
    name: config.leaderElectionId,
    logger,
    takeOver: true,
    onStartedLeading: () => undefined,
    onStoppedLeading: () => (lost = true),
  });
  const fence: Fence = () => elector.holdsLease;
  // A dry run only reads: it takes no Lease, so a running operator goes on undisturbed.
  const {
    controller,
    cachedResources: resources,
    holds,
  } = createController(config, api, logger, new Metrics(), config.dryRun ? () => false : fence, config.labelSelector);
  const scope = `${config.watchNamespaces.length > 0 ? `namespaces ${config.watchNamespaces.join(", ")}` : "all namespaces"}${config.labelSelector ? ` matching ${config.labelSelector}` : ""}`;
  await controller.startInformers();
  if (config.dryRun) {
    await controller.stop(0);
    const initial = resources();
    progress(
      `dry run: would delete ${initial.length} EniAttachment(s) in ${scope} with deletionPolicy ${config.policy}:`,
    );
    for (const resource of initial) progress(`  ${describe(resource)}`);
    return 0;
  }
  elector.start();
  try {
    progress(`taking the operator's Lease ${leaseNamespace}/${config.leaderElectionId}`);
    await waitUntil(() => elector.holdsLease || lost, config.timeoutMs, "the operator's Lease was not taken");
    return await releaseAll(config, api, controller, resources, fence, () => lost, scope, progress);
  } finally {
    await controller.stop(STOP_GRACE_MS);
    // The last resources' Secrets are released as their deletions arrive: let those fenced patches end.
    await holds?.idle();
    await elector.stop();
  }
}

async function releaseAll(
  config: UninstallConfig,
  api: KubeApi,
  controller: ReturnType<typeof createController>["controller"],
  resources: () => readonly EniAttachment[],
  fence: Fence,
  lost: () => boolean,
  scope: string,
  progress: (line: string) => void,
): Promise<number> {
  const initial = resources();
  progress(`${initial.length} EniAttachment(s) in ${scope}; deleting them with deletionPolicy ${config.policy}`);
  for (const resource of initial) await release(api, resource, config.policy, fence);
  // Workers read the cache: they start once it shows every deletion, or they would reconcile the
  // resource as it was, observing (or attaching) an ENI that is to be let go.
  await waitUntil(
    () => resources().every((r) => r.metadata.deletionTimestamp && r.spec.deletionPolicy === config.policy),
    CACHE_WAIT_MS,
    "the informer cache did not show the deletions",
  );
  controller.startWorkers();

  const deadline = monotonic() + config.timeoutMs;
  let lastProgress = monotonic();
  let left = resources();
  while (left.length > 0 && monotonic() < deadline && !lost()) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    left = resources();
    if (monotonic() - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = monotonic();
      progress(`${left.length} left: ${left.map(describe).join("; ")}`);
    }
  }
  if (lost()) {
    progress(`stopped: another replica took the operator's Lease; ${left.length} left, which it releases`);
    return 1;
  }
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

/**
 * Deletes, then sets the policy on the terminating object where it differs (the CRD allows that); the
 * finalizer holds the resource for the controller. Both writes are fenced by the Lease.
 */
async function release(
  api: KubeApi,
  resource: EniAttachment,
  policy: UninstallConfig["policy"],
  fence: Fence,
): Promise<void> {
  const { namespace = "", name = "" } = resource.metadata;
  const path = `${EniAttachmentClient.path(namespace)}/${encodeURIComponent(name)}`;
  try {
    if (!resource.metadata.deletionTimestamp) {
      await api.request("DELETE", path, { fence, what: "EniAttachment delete" });
    }
    if (resource.spec.deletionPolicy !== policy) {
      await api.request("PATCH", path, {
        body: { spec: { deletionPolicy: policy } },
        contentType: CONTENT.mergePatch,
        fence,
        what: "deletionPolicy patch",
      });
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
