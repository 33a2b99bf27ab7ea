import { RECONCILE_REQUESTED_ANNOTATION } from "../api/eniattachment.ts";
import { KUBE_USAGE, humanDuration, parseDurationMs, parseTarget, parseToolArgs } from "./args.ts";
import { Resources } from "./kube-calls.ts";
import { kubeTarget } from "./kube-target.ts";
import type { Tool } from "./tool.ts";
import { ToolError } from "./tool-error.ts";

const POLL_MS = 500;

export const reconcileTool: Tool = {
  usage: `reconcile NAMESPACE/NAME [--wait] [--timeout 2m]
  Asks the operator to reconcile the EniAttachment now, with a fresh Describe, by setting the annotation
  ${RECONCILE_REQUESTED_ANNOTATION}; with --wait, waits until status.lastHandledReconcileAt echoes it.
  ${KUBE_USAGE}`,
  async run(argv, env, out) {
    const args = parseToolArgs(argv, { wait: { type: "boolean" }, timeout: { type: "string" } });
    if (args.help) return "help";
    const timeoutMs = parseDurationMs("timeout", String(args.values["timeout"] ?? "2m"));
    const target = kubeTarget(args.kube, env);
    const { namespace, name } = parseTarget(args.positionals[0], target.namespace);
    const resources = new Resources(target.kc);
    const resource = await resources.get(namespace, name);
    const requestedAt = new Date().toISOString();
    await resources.patch(
      resource,
      { metadata: { annotations: { [RECONCILE_REQUESTED_ANNOTATION]: requestedAt } } },
      `setting ${RECONCILE_REQUESTED_ANNOTATION}`,
    );
    out(`requested a reconcile of ${namespace}/${name} (${RECONCILE_REQUESTED_ANNOTATION}=${requestedAt})`);
    if (args.values["wait"] !== true) return 0;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = await resources.get(namespace, name);
      const status = current.status ?? {};
      if (status.lastHandledReconcileAt === requestedAt) {
        const ready = status.conditions?.find((c) => c.type === "Ready");
        const synced = status.conditions?.find((c) => c.type === "Synced");
        out(
          `the operator handled it: phase ${status.phase ?? "none"}, Ready ${ready?.status ?? "Unknown"} (${ready?.reason ?? ""}), Synced ${synced?.status ?? "Unknown"} (${synced?.reason ?? ""})`,
        );
        return 0;
      }
      if (Date.now() > deadline) {
        throw new ToolError(
          `the operator did not acknowledge the request within ${humanDuration(timeoutMs)} (status.lastHandledReconcileAt is ${JSON.stringify(status.lastHandledReconcileAt ?? "")}): is it running? kubectl eni check`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  },
};
