// The outcomes the walkthrough promises, checked against the cluster and the emulator's journal, so a run
// that merely printed something plausible still fails.
import type { EniAttachment } from "../../src/api/eniattachment.ts";
import type { EniView } from "../emulator/eni-store.ts";
import type { JournalEntry } from "../emulator/journal.ts";
import { callsFor } from "./ecm-view.ts";
import { checked, expect } from "./narrator.ts";
import { EDGE_GATEWAY, SAMPLES, WEB_PRIMARY, BATCH_SECONDARY, type Sample } from "./samples.ts";

const ATTACH = "AttachNetworkInterface";
const DETACH = "DetachNetworkInterface";
const DESCRIBE = "DescribeNetworkInterfaces";

/** A core/v1 Event as `kubectl get events -o json` prints it: only what the checks read. */
export interface EventJson {
  reason?: string;
  message?: string;
  involvedObject: { name?: string };
}

function find(resources: readonly EniAttachment[], sample: Sample): EniAttachment {
  const resource = resources.find((r) => r.metadata.name === sample.resource);
  expect(resource !== undefined, `${sample.resource} is missing from the namespace`);
  return resource;
}

/** Every sample Ready for its current generation, in the phase its story leads to. */
export function checkAllReady(resources: readonly EniAttachment[]): void {
  for (const sample of SAMPLES) {
    const resource = find(resources, sample);
    const ready = resource.status?.conditions?.find((c) => c.type === "Ready");
    expect(
      ready?.status === "True" && ready.observedGeneration === resource.metadata.generation,
      `${sample.resource} is not Ready for generation ${resource.metadata.generation ?? "?"}: ${JSON.stringify(ready)}`,
    );
  }
  const phases = SAMPLES.map((s) => [s, find(resources, s).status] as const);
  for (const [sample, status] of phases) {
    const wanted = sample === BATCH_SECONDARY ? "Detached" : "Attached";
    expect(status?.phase === wanted, `${sample.resource} is ${status?.phase ?? "without phase"}, not ${wanted}`);
    const attachedTo = wanted === "Attached" ? sample.instance : "";
    expect(
      (status.attachedInstanceId ?? "") === attachedTo,
      `${sample.resource} reports attachedInstanceId ${JSON.stringify(status.attachedInstanceId)}, not ${JSON.stringify(attachedTo)}`,
    );
  }
  checked("all three resources are Ready: web-primary and edge-gateway Attached, batch-secondary Detached");
}

/** One successful call of `action` for the sample's ENI, whose RequestId is the one in the resource's status. */
function checkOneCall(calls: readonly JournalEntry[], action: string, resource: EniAttachment, sample: Sample): void {
  const made = callsFor(calls, action, sample.eni);
  expect(
    made.length === 1 && made[0]?.code === "Success",
    `expected one successful ${action} for ${sample.eni}, the journal has: ${JSON.stringify(made.map((c) => c.code))}`,
  );
  const requestId = made[0].requestId;
  expect(
    resource.status?.operation?.requestId === requestId,
    `${sample.resource} shows RequestId ${resource.status?.operation?.requestId ?? "none"}, ECM answered ${requestId ?? "none"}`,
  );
  checked(`${action} ${sample.eni} succeeded once; ${sample.resource} shows its RequestId ${requestId}`);
}

export function checkCallsAfterApply(
  calls: readonly JournalEntry[],
  resources: readonly EniAttachment[],
  secretCredentialId: string,
): void {
  checkOneCall(calls, ATTACH, find(resources, WEB_PRIMARY), WEB_PRIMARY);
  checkOneCall(calls, DETACH, find(resources, BATCH_SECONDARY), BATCH_SECONDARY);
  expect(
    callsFor(calls, DETACH, WEB_PRIMARY.eni).length === 0 && callsFor(calls, ATTACH, BATCH_SECONDARY.eni).length === 0,
    "the operator made a call that the story does not need",
  );
  const edge = EDGE_GATEWAY.eni;
  expect(
    [...callsFor(calls, ATTACH, edge), ...callsFor(calls, DETACH, edge)].length === 0,
    `${edge} was already attached, yet the journal has an Attach or Detach for it`,
  );
  const described = callsFor(calls, DESCRIBE, edge);
  expect(
    described.length > 0 && described.every((c) => c.secretId === secretCredentialId && c.code === "Success"),
    `${edge} should be described with the credentials of Secret ecm-credentials and succeed`,
  );
  checked(`${edge} was only described, signed with the Secret's credentials, and never attached or detached`);
}

/** web-primary is gone, and `kubectl delete` returned only once ECM had detached its ENI. */
export function checkDetachedOnDelete(
  calls: readonly JournalEntry[],
  resources: readonly EniAttachment[],
  enis: readonly EniView[],
): void {
  const { resource, eni, instance } = WEB_PRIMARY;
  expect(!resources.some((r) => r.metadata.name === resource), `${resource} still exists after kubectl delete`);
  const attach = callsFor(calls, ATTACH, eni)[0];
  const detaches = callsFor(calls, DETACH, eni);
  expect(
    attach !== undefined && detaches.length === 1 && detaches[0]?.code === "Success" && detaches[0].seq > attach.seq,
    `expected one successful DetachNetworkInterface for ${eni} after its attach, the journal has ${detaches.length}`,
  );
  const state = enis.find((e) => e.networkInterfaceId === eni);
  expect(
    state?.state === "AVAILABLE" && state.attachedInstanceId === null,
    `${eni} is ${JSON.stringify(state)} at ECM, not detached from ${instance}`,
  );
  const requestId = detaches[0].requestId ?? "none";
  checked(`${resource} is gone; ECM had detached ${eni} (RequestId ${requestId}) before kubectl delete returned`);
}

/** edge-gateway is gone without a call, and its ENI is still attached. */
export function checkOrphaned(
  calls: readonly JournalEntry[],
  resources: readonly EniAttachment[],
  enis: readonly EniView[],
): void {
  const { resource, eni, instance } = EDGE_GATEWAY;
  expect(!resources.some((r) => r.metadata.name === resource), `${resource} still exists after kubectl delete`);
  expect(callsFor(calls, DETACH, eni).length === 0, `deletionPolicy Orphan, yet ${eni} got a DetachNetworkInterface`);
  const state = enis.find((e) => e.networkInterfaceId === eni);
  expect(state?.attachedInstanceId === instance, `${eni} should still be attached to ${instance}`);
  checked(`${resource} is gone without any ECM call; ${eni} is still attached to ${instance}`);
}

/** The events name the RequestIds of the calls, and the orphaning. */
export function checkEvents(events: readonly EventJson[], calls: readonly JournalEntry[]): void {
  const has = (sample: Sample, reason: string, text: string): boolean =>
    events.some(
      (e) => e.involvedObject.name === sample.resource && e.reason === reason && (e.message ?? "").includes(text),
    );
  const expected: [Sample, string, string][] = [
    [WEB_PRIMARY, "AttachRequested", callsFor(calls, ATTACH, WEB_PRIMARY.eni)[0]?.requestId ?? "?"],
    [WEB_PRIMARY, "DetachRequested", callsFor(calls, DETACH, WEB_PRIMARY.eni)[0]?.requestId ?? "?"],
    [BATCH_SECONDARY, "DetachRequested", callsFor(calls, DETACH, BATCH_SECONDARY.eni)[0]?.requestId ?? "?"],
    [EDGE_GATEWAY, "Orphaned", "no DetachNetworkInterface call was made"],
  ];
  for (const [sample, reason, text] of expected) {
    expect(has(sample, reason, text), `no ${reason} event for ${sample.resource} mentioning ${text}`);
  }
  checked("events: AttachRequested/DetachRequested name the RequestIds ECM answered; edge-gateway was Orphaned");
}
