import { AuthenticationV1Api, CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { EniAttachment } from "../api/eniattachment.ts";
import { KUBE_USAGE, parseTarget, parseToolArgs } from "./args.ts";
import { Resources, apiCall } from "./kube-calls.ts";
import { kubeTarget } from "./kube-target.ts";
import type { Tool } from "./tool.ts";
import { ToolError } from "./tool-error.ts";

/** Who the API server says the caller is, from a SelfSubjectReview. */
async function callerIdentity(kc: KubeConfig): Promise<string> {
  const review = await apiCall(kc, "asking the API server who you are (SelfSubjectReview)", () =>
    kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({
      body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
    }),
  );
  const user = review.status?.userInfo;
  if (!user?.username) throw new ToolError("the SelfSubjectReview named no user");
  const groups = (user.groups ?? []).filter((group) => group !== "system:authenticated");
  return groups.length > 0 ? `${user.username} (groups ${groups.join(", ")})` : user.username;
}

async function recordEvent(kc: KubeConfig, resource: EniAttachment, message: string): Promise<void> {
  const { namespace = "", name = "", uid } = resource.metadata;
  const now = new Date();
  await apiCall(kc, `recording the event on ${namespace}/${name}`, () =>
    kc.makeApiClient(CoreV1Api).createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${name}.`, namespace },
        involvedObject: {
          apiVersion: resource.apiVersion,
          kind: resource.kind,
          name,
          namespace,
          ...(uid ? { uid } : {}),
          ...(resource.metadata.resourceVersion ? { resourceVersion: resource.metadata.resourceVersion } : {}),
        },
        type: "Normal",
        reason: "OrphanRequested",
        message,
        source: { component: "kubectl-eni" },
        reportingComponent: "kubectl-eni",
        reportingInstance: "kubectl-eni",
        action: "Orphan",
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    }),
  );
}

export const orphanTool: Tool = {
  usage: `orphan NAMESPACE/NAME | orphan -l SELECTOR [-n NAMESPACE]
  Sets deletionPolicy Orphan, so that deleting the resource (or finishing a deletion stuck on a detach)
  leaves the interface as it is, and records who did it (from a SelfSubjectReview) in an event.
  ${KUBE_USAGE}`,
  async run(argv, env, out) {
    const args = parseToolArgs(argv, { selector: { type: "string", short: "l" } });
    if (args.help) return "help";
    const selector = args.values["selector"];
    const target = kubeTarget(args.kube, env);
    const resources = new Resources(target.kc);
    let chosen: EniAttachment[];
    if (typeof selector === "string") {
      if (args.positionals.length > 0) throw new ToolError("give NAMESPACE/NAME or -l SELECTOR, not both", 2);
      chosen = await resources.list(target.namespace, selector);
      if (chosen.length === 0) throw new ToolError(`no EniAttachment in ${target.namespace} matches ${selector}`);
    } else {
      const { namespace, name } = parseTarget(args.positionals[0], target.namespace);
      chosen = [await resources.get(namespace, name)];
    }
    const who = await callerIdentity(target.kc);
    for (const resource of chosen) {
      const key = `${resource.metadata.namespace ?? ""}/${resource.metadata.name ?? ""}`;
      const was = resource.spec.deletionPolicy ?? "Detach";
      const patched =
        was === "Orphan"
          ? resource
          : await resources.patch(resource, { spec: { deletionPolicy: "Orphan" } }, "setting deletionPolicy Orphan");
      const effect = resource.metadata.deletionTimestamp
        ? "it is terminating: the operator now lets it go without a detach"
        : "deleting it will leave the interface as it is";
      await recordEvent(
        target.kc,
        patched,
        `deletionPolicy set to Orphan (was ${was}) by ${who} with kubectl eni orphan: ${effect}`,
      );
      out(`${key}: deletionPolicy Orphan (was ${was}), recorded as done by ${who}; ${effect}`);
    }
    return 0;
  },
};
