import type { CoreV1Event } from "@kubernetes/client-node";
import {
  FINALIZER,
  PAUSED_ANNOTATION,
  RECONCILE_REQUESTED_ANNOTATION,
  SYNC_PERIOD_ANNOTATION,
  type EniAttachment,
  type EniAttachmentStatus,
} from "../api/eniattachment.ts";
import { DESCRIBE, DETACH, type EcmAction } from "../ecm/actions.ts";
import { classify } from "../ecm/errors.ts";
import { KUBE_USAGE, humanDuration, parseTarget, parseToolArgs } from "./args.ts";
import { Resources, eventTime } from "./kube-calls.ts";
import { kubeTarget } from "./kube-target.ts";
import type { Tool } from "./tool.ts";
import { ToolError } from "./tool-error.ts";

const RECENT_EVENTS = 8;

export interface StatusReport {
  readonly resource: string;
  readonly spec: EniAttachment["spec"];
  readonly annotations: Readonly<Record<string, string>>;
  readonly phase: string;
  readonly conditions: readonly {
    type: string;
    status: string;
    reason: string;
    message: string;
    age: string;
  }[];
  readonly lastCall?: {
    action: string;
    requestId: string;
    result: string;
    ago: string | undefined;
  };
  readonly attempts: number;
  readonly nextAttempt?: { at: string; in: string };
  readonly terminating?: { for: string; heldBy: readonly string[] };
  readonly events: readonly { age: string; type: string; reason: string; message: string }[];
  readonly nextStep: string;
}

const ago = (iso: string | undefined, now: Date) =>
  iso ? `${humanDuration(now.getTime() - Date.parse(iso))} ago` : undefined;

/** Everything `status` says of one resource, decided from the resource, its events and the time. */
export function statusReport(resource: EniAttachment, events: readonly CoreV1Event[], now: Date): StatusReport {
  const { namespace = "", name = "", annotations = {}, deletionTimestamp, finalizers = [] } = resource.metadata;
  const status = resource.status ?? {};
  const key = `${namespace}/${name}`;
  const paused = annotations[PAUSED_ANNOTATION] === "true";
  const own = Object.fromEntries(
    [PAUSED_ANNOTATION, RECONCILE_REQUESTED_ANNOTATION, SYNC_PERIOD_ANNOTATION].flatMap((k) =>
      annotations[k] === undefined ? [] : [[k, annotations[k]]],
    ),
  );
  const conditions = (status.conditions ?? []).map((c) => ({
    type: c.type,
    status: c.status,
    reason: c.reason,
    message: c.message,
    age: humanDuration(now.getTime() - Date.parse(c.lastTransitionTime)),
  }));
  const op = status.operation;
  const failure = failureOf(status);
  const errorClass = failure ? classify(failure.code, failure.action).class : undefined;
  const lastCall = op
    ? {
        action: op.action,
        requestId: op.requestId ?? "",
        result: op.errorCode ? `${op.outcome}: ${op.errorCode} ${op.errorMessage ?? ""}`.trim() : op.outcome,
        ago: ago(op.time, now),
      }
    : undefined;
  const nextAt = op?.nextAttemptTime && Date.parse(op.nextAttemptTime) > now.getTime() ? op.nextAttemptTime : undefined;

  const heldBy: string[] = [];
  if (deletionTimestamp) {
    for (const finalizer of finalizers) {
      heldBy.push(
        finalizer === FINALIZER
          ? `finalizer ${finalizer} (the operator's: it detaches first)`
          : `finalizer ${finalizer} (not the operator's)`,
      );
    }
    if (paused) heldBy.push("nothing from the pause: a deletion of a paused resource proceeds");
    if (errorClass === "Credentials")
      heldBy.push(`credentials: the last ${failure?.action ?? "call"} failed with ${failure?.code ?? ""}`);
    const ready = status.conditions?.find((c) => c.type === "Ready");
    if (ready?.reason === "DuplicateClaim") heldBy.push(`duplicate claim: ${ready.message}`);
  }

  return {
    resource: key,
    spec: resource.spec,
    annotations: own,
    phase: status.phase ?? "none yet",
    conditions,
    ...(lastCall ? { lastCall } : {}),
    attempts: op?.attempts ?? 0,
    ...(nextAt ? { nextAttempt: { at: nextAt, in: humanDuration(Date.parse(nextAt) - now.getTime()) } } : {}),
    ...(deletionTimestamp
      ? { terminating: { for: humanDuration(now.getTime() - new Date(deletionTimestamp).getTime()), heldBy } }
      : {}),
    events: events.slice(-RECENT_EVENTS).map((e) => ({
      age: humanDuration(now.getTime() - eventTime(e)),
      type: e.type ?? "",
      reason: e.reason ?? "",
      message: e.message ?? "",
    })),
    nextStep: nextStep(resource, key, paused, failure, errorClass, nextAt),
  };
}

interface Failure {
  readonly action: EcmAction;
  readonly code: string;
}

/** What failed last: the recorded call, else the last Describe. */
function failureOf(status: EniAttachmentStatus): Failure | undefined {
  const op = status.operation;
  if (op?.outcome === "Failed" && op.errorCode) return { action: op.action, code: op.errorCode };
  if (status.observation) return { action: DESCRIBE, code: status.observation.errorCode };
  return undefined;
}

/** The one thing a person can do next, or why nothing is needed. */
function nextStep(
  resource: EniAttachment,
  key: string,
  paused: boolean,
  failure: Failure | undefined,
  errorClass: string | undefined,
  nextAt: string | undefined,
): string {
  const code = failure?.code ?? "";
  const status = resource.status ?? {};
  const ready = status.conditions?.find((c) => c.type === "Ready");
  const generation = resource.metadata.generation ?? 0;
  const terminating = Boolean(resource.metadata.deletionTimestamp);
  if (terminating && !resource.metadata.finalizers?.includes(FINALIZER)) {
    return "none from the operator: other finalizers hold it; their owners release them";
  }
  if (terminating && errorClass !== undefined && failure?.action === DETACH) {
    return `fix what the last detach failed on (${code}), or let it go without a detach: kubectl eni orphan ${key}`;
  }
  if (paused) {
    return `it is paused: resume with kubectl annotate eniattachment -n ${resource.metadata.namespace ?? ""} ${resource.metadata.name ?? ""} ${PAUSED_ANNOTATION}-`;
  }
  if (resource.spec.managementPolicy === "Observe") {
    return "none needed: it is observed only; set spec.managementPolicy to Manage to have the operator act on desiredState";
  }
  if (!resource.status || (status.observedGeneration ?? 0) < generation) {
    return "the operator has not handled this generation yet: is it running? kubectl eni check";
  }
  if (errorClass === "Credentials") {
    return `fix the ECM credentials (${code}), then retry at once: kubectl eni reconcile ${key}`;
  }
  if (errorClass === "InvalidRequest" && status.phase === "Failed") {
    return `ECM refused the request as invalid (${code}): correct the spec; nothing is retried until it changes`;
  }
  if (ready?.reason === "AttachedElsewhere") {
    return "the interface is attached to another instance: detach it there, or change this resource's instanceId by recreating it";
  }
  if (nextAt) return `it retries by itself at ${nextAt}; to retry now: kubectl eni reconcile ${key}`;
  if (ready?.status === "True") return "nothing: ECM shows it as declared";
  return "wait: the operator is working on it (phase and conditions above say on what)";
}

function render(report: StatusReport): string {
  const { spec } = report;
  const lines = [
    `EniAttachment ${report.resource}`,
    `  Spec:         ${spec.networkInterfaceId} on ${spec.instanceId} in ${spec.ecmRegion}, desiredState ${spec.desiredState ?? "Attached"}, deletionPolicy ${spec.deletionPolicy ?? "Detach"}, managementPolicy ${spec.managementPolicy ?? "Manage"}`,
  ];
  for (const [key, value] of Object.entries(report.annotations)) lines.push(`  Annotation:   ${key}=${value}`);
  lines.push(`  Phase:        ${report.phase}`);
  lines.push("  Conditions:");
  if (report.conditions.length === 0) lines.push("    none yet");
  for (const c of report.conditions) {
    lines.push(`    ${c.type.padEnd(6)} ${c.status.padEnd(7)} ${c.reason} (for ${c.age}): ${c.message}`);
  }
  const call = report.lastCall;
  lines.push(
    call
      ? `  Last call:    ${call.action} ${call.result}, RequestId ${call.requestId || "none"}${call.ago ? `, ${call.ago}` : ""}`
      : "  Last call:    none (no attach or detach made yet)",
  );
  lines.push(
    `  Attempts:     ${report.attempts}${report.nextAttempt ? `, next at ${report.nextAttempt.at} (in ${report.nextAttempt.in})` : ""}`,
  );
  if (report.terminating) {
    lines.push(`  Terminating:  for ${report.terminating.for}, held by:`);
    for (const hold of report.terminating.heldBy) lines.push(`    ${hold}`);
  }
  lines.push("  Events:");
  if (report.events.length === 0) lines.push("    none");
  for (const e of report.events) lines.push(`    ${e.age} ago  ${e.type.padEnd(7)} ${e.reason}: ${e.message}`);
  lines.push(`  Next step:    ${report.nextStep}`);
  return lines.join("\n");
}

export const statusTool: Tool = {
  usage: `status NAMESPACE/NAME [-o json]   (or: status -n NAMESPACE NAME)
  Explains one EniAttachment: spec, phase, conditions and their ages, the last call and its RequestId,
  attempts and the next one, what holds it while terminating, its recent events, and the next step.
  ${KUBE_USAGE}`,
  async run(argv, env, out) {
    const args = parseToolArgs(argv, { output: { type: "string", short: "o" } });
    if (args.help) return "help";
    const output = args.values["output"] ?? "text";
    if (output !== "text" && output !== "json")
      throw new ToolError(`-o must be json, got ${JSON.stringify(output)}`, 2);
    const target = kubeTarget(args.kube, env);
    const { namespace, name } = parseTarget(args.positionals[0], target.namespace);
    const resources = new Resources(target.kc);
    const resource = await resources.get(namespace, name);
    const report = statusReport(resource, await resources.events(resource), new Date());
    out(output === "json" ? JSON.stringify(report, null, 2) : render(report));
    return 0;
  },
};
