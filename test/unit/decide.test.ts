import { describe, expect, it } from "vitest";
import { decide, lifecycle, orphanedEvent } from "../../src/controller/decide.ts";
import type { CallResult, Decision, DecisionInput } from "../../src/controller/decision.ts";
import { CONFIRM_TIMEOUT_MS, SETTLED_RECHECK_MS } from "../../src/controller/backoff.ts";
import type { EniAttachment, EniAttachmentStatus } from "../../src/api/eniattachment.ts";
import type { EniObservation } from "../../src/ecm/observation.ts";
import { NOT_FOUND } from "../../src/ecm/observation.ts";
import {
  ENI,
  INSTANCE,
  NOW,
  attachedElsewhere,
  attachedToUs,
  attaching,
  detaching,
  eniAttachment,
  secondsAgo,
  secondsFromNow,
  unattached,
} from "./fixtures.ts";

const DETACH = "DetachNetworkInterface" as const;
const ATTACH = "AttachNetworkInterface" as const;

function run(resource: EniAttachment, eni: EniObservation, extra: Partial<DecisionInput> = {}): Decision {
  return decide({ resource, observed: { ok: true, eni }, now: NOW, jitter: 0.5, ...extra });
}

function failed(code: string, requestId = "req-failed"): CallResult {
  return { ok: false, failure: { code, message: `message for ${code}`, requestId } };
}

function condition(decision: Decision, type: "Ready" | "Synced") {
  return decision.status.conditions?.find((c) => c.type === type);
}

describe("the finalizer comes first", () => {
  it("adds the finalizer before anything else on a new resource", () => {
    expect(lifecycle(eniAttachment().withoutFinalizer().build())).toBe("addFinalizer");
  });
  it("reconciles a resource that has the finalizer", () => {
    expect(lifecycle(eniAttachment().build())).toBe("reconcile");
    expect(lifecycle(eniAttachment().deleting().build())).toBe("reconcile");
  });
  it("releases a deleted resource with deletionPolicy Orphan without detaching", () => {
    const resource = eniAttachment().orphan().deleting().build();
    expect(lifecycle(resource)).toBe("orphan");
    expect(orphanedEvent(resource)).toMatchObject({ type: "Normal", reason: "Orphaned" });
    expect(orphanedEvent(resource).message).toContain(ENI);
  });
  it("leaves alone a deleted resource whose finalizer is already gone", () => {
    expect(lifecycle(eniAttachment().deleting().withoutFinalizer().build())).toBe("released");
  });
});

describe("an attached resource", () => {
  it("is Ready with no ECM call when the interface is already attached to its instance", () => {
    const decision = run(eniAttachment().build(), attachedToUs);
    expect(decision.step).toEqual({ kind: "none" });
    expect(decision.status.phase).toBe("Attached");
    expect(condition(decision, "Ready")).toMatchObject({ status: "True", reason: "Attached" });
    expect(decision.events).toEqual([expect.objectContaining({ reason: "Attached" })]);
    expect(decision.next).toEqual({ kind: "requeueAfter", ms: SETTLED_RECHECK_MS });
  });

  it("says in Synced that its credentials Secret is being deleted and kept while it names it", () => {
    const note = "Secret team-a/tenant (spec.credentialsSecretRef) is being deleted; it is kept while ...";
    const decision = run(eniAttachment().credentials("tenant").build(), attachedToUs, { heldSecret: note });
    expect(condition(decision, "Synced")).toMatchObject({ status: "True", reason: "Success" });
    expect(condition(decision, "Synced")?.message).toContain(note);
    expect(condition(run(eniAttachment().build(), attachedToUs), "Synced")?.message).not.toContain("Secret");
  });

  it("emits no second Attached event once settled", () => {
    const settled = run(eniAttachment().build(), attachedToUs);
    const again = run(eniAttachment().withStatus(settled.status).build(), attachedToUs);
    expect(again.events).toEqual([]);
    expect(again.status).toEqual(settled.status);
  });

  it("calls AttachNetworkInterface when the interface is free", () => {
    expect(run(eniAttachment().build(), unattached).step).toEqual({ kind: "call", action: ATTACH });
  });

  it("records the Attach RequestId and polls for confirmation", () => {
    const decision = run(eniAttachment().build(), unattached, { lastCall: { ok: true, requestId: "req-attach" } });
    expect(decision.status).toMatchObject({
      phase: "Attaching",
      operation: { action: ATTACH, requestId: "req-attach", time: NOW.toISOString(), outcome: "Accepted", attempts: 1 },
    });
    expect(decision.status.operation?.errorCode).toBeUndefined();
    expect(decision.events).toEqual([
      expect.objectContaining({ reason: "AttachRequested", message: expect.stringContaining("req-attach") as string }),
    ]);
    expect(decision.next).toEqual({ kind: "requeueAfter", ms: 300 });
  });

  it("calls nothing and says so when the interface is attached to another instance", () => {
    const decision = run(eniAttachment().build(), attachedElsewhere);
    expect(decision.step).toEqual({ kind: "none" });
    expect(condition(decision, "Ready")).toMatchObject({ status: "False", reason: "AttachedElsewhere" });
    expect(decision.events).toEqual([expect.objectContaining({ type: "Warning", reason: "AttachedElsewhere" })]);
    const again = run(eniAttachment().withStatus(decision.status).build(), attachedElsewhere);
    expect(again.events).toEqual([]);
  });

  it("waits while ECM shows the interface ATTACHING", () => {
    const decision = run(eniAttachment().build(), attaching);
    expect(decision.step).toEqual({ kind: "none" });
    expect(decision.status.phase).toBe("Attaching");
  });

  it("re-attaches an interface someone detached behind its back", () => {
    const settled = run(eniAttachment().build(), attachedToUs).status;
    expect(run(eniAttachment().withStatus(settled).build(), unattached).step).toEqual({ kind: "call", action: ATTACH });
  });
});

describe("detaching (desiredState Detached or deletion)", () => {
  const detachRequested = (time = secondsAgo(1)): EniAttachmentStatus => ({
    phase: "Detaching",
    operation: { action: DETACH, requestId: "req-detach", time, outcome: "Accepted", attempts: 1 },
  });

  it("makes exactly one DetachNetworkInterface call when the interface is attached", () => {
    expect(run(eniAttachment().detached().build(), attachedToUs).step).toEqual({ kind: "call", action: DETACH });
    expect(run(eniAttachment().deleting().build(), attachedToUs).step).toEqual({ kind: "call", action: DETACH });
  });

  it("writes the RequestId to status and to a DetachRequested event", () => {
    const decision = run(eniAttachment().detached().build(), attachedToUs, {
      lastCall: { ok: true, requestId: "req-detach" },
    });
    expect(decision.status).toMatchObject({
      phase: "Detaching",
      operation: { requestId: "req-detach", attempts: 1, outcome: "Accepted" },
    });
    expect(condition(decision, "Synced")).toMatchObject({ status: "True" });
    expect(condition(decision, "Ready")).toMatchObject({ status: "False", reason: "Detaching" });
    expect(decision.events[0]).toMatchObject({ type: "Normal", reason: "DetachRequested" });
    expect(decision.events[0]?.message).toContain("req-detach");
  });

  it("does not call again while ECM shows DETACHING, polling at growing intervals", () => {
    const soon = run(eniAttachment().detached().withStatus(detachRequested()).build(), detaching);
    expect(soon.step).toEqual({ kind: "none" });
    expect(soon.next).toEqual({ kind: "requeueAfter", ms: 1000 });
    const later = run(
      eniAttachment()
        .detached()
        .withStatus(detachRequested(secondsAgo(4)))
        .build(),
      detaching,
    );
    expect(later.next).toEqual({ kind: "requeueAfter", ms: 4000 });
  });

  it("does not call again while an accepted detach has not shown in Describe yet", () => {
    const decision = run(eniAttachment().detached().withStatus(detachRequested()).build(), attachedToUs);
    expect(decision.step).toEqual({ kind: "none" });
  });

  it("calls again when an accepted detach never showed within the confirmation timeout", () => {
    const stale = detachRequested(secondsAgo(CONFIRM_TIMEOUT_MS / 1000 + 1));
    const decision = run(eniAttachment().detached().withStatus(stale).build(), attachedToUs);
    expect(decision.step).toEqual({ kind: "call", action: DETACH });
  });

  it("becomes Detached only when Describe confirms, with an event naming the RequestId", () => {
    const decision = run(eniAttachment().detached().withStatus(detachRequested()).build(), unattached);
    expect(decision.status).toMatchObject({
      phase: "Detached",
      operation: { requestId: "req-detach", outcome: "Confirmed" },
      attachedInstanceId: "",
    });
    expect(condition(decision, "Ready")).toMatchObject({ status: "True", reason: "Detached" });
    expect(decision.events).toEqual([
      expect.objectContaining({ reason: "Detached", message: expect.stringContaining("req-detach") as string }),
    ]);
    expect(decision.step).toEqual({ kind: "none" });
  });

  it("releases the finalizer of a deleted resource once the detach is confirmed", () => {
    const decision = run(eniAttachment().deleting().withStatus(detachRequested()).build(), unattached);
    expect(decision.step).toEqual({ kind: "removeFinalizer" });
    expect(decision.next).toEqual({ kind: "waitForChange" });
  });

  it("treats an interface attached elsewhere, or gone, as already detached", () => {
    for (const eni of [attachedElsewhere, NOT_FOUND, unattached]) {
      const decision = run(eniAttachment().deleting().build(), eni);
      expect(decision.step).toEqual({ kind: "removeFinalizer" });
      expect(condition(decision, "Ready")).toMatchObject({ status: "True", reason: "AlreadyDetached" });
    }
  });
});

describe("a deleted resource whose credentials Secret is gone", () => {
  const secretGone = {
    ok: false as const,
    failure: { code: "Credentials.SecretNotFound", message: "gone", requestId: "" },
  };
  const look = (resource: EniAttachment, failure = secretGone) =>
    decide({ resource, observed: failure, now: NOW, jitter: 0.5 });
  const detachRequested: EniAttachmentStatus = {
    phase: "Detaching",
    operation: { action: DETACH, requestId: "req-detach", time: secondsAgo(1), outcome: "Accepted", attempts: 1 },
  };
  const settled = run(eniAttachment().deleting().withStatus(detachRequested).build(), unattached).status;

  it("is let go as its status records it when that says Detached for this spec", () => {
    const resource = eniAttachment().deleting().withStatus(settled).build();
    const decision = look(resource);
    expect(decision.step).toEqual({ kind: "removeFinalizer" });
    expect(decision.status).toEqual(resource.status);
    expect(decision.events).toEqual([
      {
        type: "Normal",
        reason: "Detached",
        message: `${ENI} was last seen not attached to ${INSTANCE}, and the credentials Secret is gone: released as the status records it`,
      },
    ]);
  });

  it("waits, saying why, when the status says anything else or another failure stops the look", () => {
    const stillAttached = run(eniAttachment().build(), attachedToUs).status;
    const cases = [
      eniAttachment().deleting().withStatus(detachRequested).build(),
      eniAttachment().deleting().withStatus(stillAttached).build(),
      // The spec changed since the record: it describes another generation.
      eniAttachment()
        .deleting()
        .generation(2)
        .withStatus({ ...settled, observedGeneration: 1 })
        .build(),
      // Not deleted: a Detached resource keeps looking.
      eniAttachment().detached().withStatus(settled).build(),
    ];
    for (const resource of cases) {
      const decision = look(resource);
      expect(decision.step).toEqual({ kind: "none" });
      expect(condition(decision, "Synced")).toMatchObject({ status: "False", reason: "Credentials.SecretNotFound" });
    }
    const wrongKey = {
      ok: false as const,
      failure: { code: "AuthFailure.SecretIdNotFound", message: "", requestId: "r" },
    };
    expect(look(eniAttachment().deleting().withStatus(settled).build(), wrongKey).step).toEqual({ kind: "none" });
  });
});

describe("ECM errors follow the error table", () => {
  const detachResource = () => eniAttachment().detached().build();

  it("already-detached codes are confirmed with Describe, then release the finalizer", () => {
    for (const code of ["UnsupportedOperation.AttachmentNotFound", "ResourceNotFound", "ResourceNotFound.Eni"]) {
      const afterCall = run(eniAttachment().deleting().build(), attachedToUs, { lastCall: failed(code) });
      expect(afterCall.status.operation).toMatchObject({ errorCode: code, requestId: "req-failed", outcome: "Failed" });
      expect(condition(afterCall, "Synced")).toMatchObject({ status: "False", reason: code });
      expect(afterCall.next).toEqual({ kind: "requeueAfter", ms: 0 });
      const confirmed = run(eniAttachment().deleting().withStatus(afterCall.status).build(), unattached);
      expect(confirmed.step).toEqual({ kind: "removeFinalizer" });
      expect(condition(confirmed, "Ready")).toMatchObject({ status: "True", reason: "AlreadyDetached" });
      expect(confirmed.status.operation).toMatchObject({ errorCode: code, outcome: "Confirmed" });
      const again = run(eniAttachment().deleting().withStatus(confirmed.status).build(), unattached);
      expect(condition(again, "Ready")).toMatchObject({ status: "True", reason: "AlreadyDetached" });
    }
  });

  it("retries in-transition codes within seconds, with a Warning event naming code and RequestId", () => {
    for (const code of ["UnsupportedOperation.InvalidState", "ResourceInUse", "FailedOperation.OperationConflict"]) {
      const decision = run(detachResource(), attachedToUs, { lastCall: failed(code, "req-busy") });
      expect(decision.status).toMatchObject({ phase: "Detaching", operation: { errorCode: code, attempts: 1 } });
      expect(condition(decision, "Synced")).toMatchObject({ status: "False", reason: code });
      expect(decision.next).toEqual({ kind: "requeueAfter", ms: 2000 });
      expect(decision.status.operation?.nextAttemptTime).toBe(secondsFromNow(2));
      expect(decision.events[0]).toMatchObject({ type: "Warning", reason: "DetachFailed" });
      expect(decision.events[0]?.message).toContain(code);
      expect(decision.events[0]?.message).toContain("req-busy");
    }
  });

  it("does not count throttling as a failure of the resource", () => {
    const decision = run(detachResource(), attachedToUs, { lastCall: failed("RequestLimitExceeded") });
    expect(decision.status).toMatchObject({
      phase: "Detaching",
      operation: { errorCode: "RequestLimitExceeded", attempts: 0, outcome: "Failed" },
    });
    expect(decision.events).toEqual([]);
    expect(decision.next).toEqual({ kind: "requeueAfter", ms: 1000 });
  });

  it("backs service faults off exponentially", () => {
    const first = run(detachResource(), attachedToUs, { lastCall: failed("InternalError") });
    expect(first.next).toEqual({ kind: "requeueAfter", ms: 5000 });
    const operation = first.status.operation;
    if (!operation) throw new Error("no operation recorded");
    const failedTwice = { ...first.status, operation: { ...operation, attempts: 2 } };
    const third = run(eniAttachment().detached().withStatus(failedTwice).build(), attachedToUs, {
      lastCall: failed("InternalError"),
    });
    expect(third.status.operation?.attempts).toBe(3);
    expect(third.next).toEqual({ kind: "requeueAfter", ms: 20000 });
  });

  it("waits for nextAttemptTime before calling again", () => {
    const first = run(detachResource(), attachedToUs, { lastCall: failed("InternalError") });
    const early = run(eniAttachment().detached().withStatus(first.status).build(), attachedToUs, {
      now: new Date(NOW.getTime() + 1000),
    });
    expect(early.step).toEqual({ kind: "none" });
    expect(early.next).toEqual({ kind: "requeueAfter", ms: 4000 });
    const due = run(eniAttachment().detached().withStatus(first.status).build(), attachedToUs, {
      now: new Date(NOW.getTime() + 5000),
    });
    expect(due.step).toEqual({ kind: "call", action: DETACH });
  });

  it("retries credential failures slowly, and at once when the credentials Secret changes", () => {
    const decision = run(detachResource(), attachedToUs, { lastCall: failed("AuthFailure.SecretIdNotFound") });
    expect(decision.status.phase).toBe("Failed");
    expect(condition(decision, "Synced")).toMatchObject({ status: "False", reason: "AuthFailure.SecretIdNotFound" });
    expect(decision.next).toEqual({ kind: "requeueAfter", ms: 30000 });
    const resource = eniAttachment().detached().withStatus(decision.status).build();
    expect(run(resource, attachedToUs).step).toEqual({ kind: "none" });
    expect(run(resource, attachedToUs, { credentialsChanged: true }).step).toEqual({ kind: "call", action: DETACH });
  });

  it("never retries an invalid request until the spec changes", () => {
    const decision = run(detachResource(), attachedToUs, { lastCall: failed("InvalidParameterValue.Malformed") });
    expect(decision.status.phase).toBe("Failed");
    expect(decision.next).toEqual({ kind: "waitForChange" });
    expect(condition(decision, "Ready")).toMatchObject({ status: "False", reason: "DetachFailed" });
    const same = run(eniAttachment().detached().withStatus(decision.status).build(), attachedToUs);
    expect(same.step).toEqual({ kind: "none" });
    expect(same.next).toEqual({ kind: "waitForChange" });
    const changed = run(eniAttachment().detached().generation(2).withStatus(decision.status).build(), attachedToUs);
    expect(changed.step).toEqual({ kind: "call", action: DETACH });
  });

  it("tells a user stuck deleting that deletionPolicy Orphan lets the resource go", () => {
    const decision = run(eniAttachment().deleting().build(), attachedToUs, {
      lastCall: failed("UnsupportedOperation"),
    });
    expect(condition(decision, "Ready")?.message).toContain("deletionPolicy: Orphan");
  });

  it("treats an unknown code as a service fault", () => {
    const decision = run(detachResource(), attachedToUs, { lastCall: failed("SomethingNew.Unheard") });
    expect(decision.next).toEqual({ kind: "requeueAfter", ms: 5000 });
    expect(decision.status.phase).toBe("Detaching");
  });

  it("puts a failed Describe's code in Synced and backs off in the queue", () => {
    const observed = {
      ok: false as const,
      failure: { code: "AuthFailure.SignatureFailure", message: "bad", requestId: "r" },
    };
    const decision = decide({ resource: detachResource(), observed, now: NOW, jitter: 0.5 });
    expect(decision.step).toEqual({ kind: "none" });
    expect(condition(decision, "Synced")).toMatchObject({ status: "False", reason: "AuthFailure.SignatureFailure" });
    expect(decision.status.observation).toEqual({ errorCode: "AuthFailure.SignatureFailure", errorMessage: "bad" });
    expect(decision.status.operation).toBeUndefined();
    expect(decision.next).toEqual({ kind: "backoff", errorClass: "Credentials" });
    const invalid = decide({
      resource: detachResource(),
      observed: { ok: false, failure: { code: "InvalidParameterValue.InvalidRegion", message: "", requestId: "r" } },
      now: NOW,
      jitter: 0.5,
    });
    expect(invalid.next).toEqual({ kind: "waitForChange" });
  });
});

describe("a failed Describe while an accepted detach awaits confirmation", () => {
  it("shows in Synced, and does not make the detach look failed and repeat it", () => {
    const accepted = run(eniAttachment().detached().build(), attachedToUs, {
      lastCall: { ok: true, requestId: "req-1" },
    });
    const observed = { ok: false as const, failure: { code: "InternalError", message: "oops", requestId: "req-2" } };
    const failedDescribe = decide({
      resource: eniAttachment().detached().withStatus(accepted.status).build(),
      observed,
      now: NOW,
      jitter: 0.5,
    });
    expect(condition(failedDescribe, "Synced")).toMatchObject({ status: "False", reason: "InternalError" });
    expect(failedDescribe.status.operation).toEqual(accepted.status.operation);
    expect(failedDescribe.status.observation).toEqual({ errorCode: "InternalError", errorMessage: "oops" });
    const recovered = run(eniAttachment().detached().withStatus(failedDescribe.status).build(), attachedToUs);
    expect(recovered.step).toEqual({ kind: "none" });
  });
});

describe("while an accepted detach awaits confirmation", () => {
  /** The status written when the detach of a deleted, attached resource was accepted. */
  function acceptedDetach(): EniAttachment {
    const settled = run(eniAttachment().build(), attachedToUs).status;
    const resource = eniAttachment().deleting().withStatus(settled).build();
    const accepted = run(resource, attachedToUs, { lastCall: { ok: true, requestId: "req-1" } });
    return eniAttachment().deleting().withStatus(accepted.status).build();
  }

  it("leaves the status as it is while ECM shows DETACHING or does not show the detach yet", () => {
    const resource = acceptedDetach();
    for (const eni of [detaching, attachedToUs]) {
      const decision = run(resource, eni);
      expect(decision.step).toEqual({ kind: "none" });
      expect(decision.status).toEqual(resource.status);
      expect(condition(decision, "Ready")?.message).toContain("req-1");
      expect(decision.next.kind).toBe("requeueAfter");
    }
  });

  it("still writes a real change: the instance ECM shows, or Synced recovering from a failed Describe", () => {
    const resource = acceptedDetach();
    const elsewhere = run(resource, { found: true, state: "DETACHING", attachedInstanceId: "ein-00000000" });
    expect(elsewhere.status).toEqual({ ...resource.status, attachedInstanceId: "ein-00000000" });

    const observed = { ok: false as const, failure: { code: "InternalError", message: "oops", requestId: "req-2" } };
    const failedDescribe = decide({ resource, observed, now: NOW, jitter: 0.5 });
    const recovered = run(eniAttachment().deleting().withStatus(failedDescribe.status).build(), detaching);
    expect(condition(recovered, "Synced")).toMatchObject({ status: "True", reason: "Success" });
    expect(condition(recovered, "Ready")).toEqual(condition(failedDescribe, "Ready"));
  });

  it("reports the transition when no call of this operation was accepted", () => {
    const decision = run(eniAttachment().deleting().build(), detaching);
    expect(condition(decision, "Ready")).toMatchObject({
      status: "False",
      reason: "Detaching",
      message: `ECM reports ${ENI} as DETACHING`,
    });
  });

  it("settles with the RequestId in the Detached event once Describe confirms", () => {
    const decision = run(acceptedDetach(), unattached);
    expect(decision.step).toEqual({ kind: "removeFinalizer" });
    expect(decision.status).toMatchObject({
      phase: "Detached",
      operation: { requestId: "req-1", outcome: "Confirmed" },
    });
    expect(decision.events).toEqual([
      expect.objectContaining({ reason: "Detached", message: expect.stringContaining("req-1") as string }),
    ]);
  });
});

describe("conditions", () => {
  it("keep lastTransitionTime while their status does not change, and carry observedGeneration", () => {
    const first = run(eniAttachment().detached().build(), attachedToUs, { lastCall: failed("InternalError") });
    const later = new Date(NOW.getTime() + 60_000);
    const second = run(eniAttachment().detached().generation(1).withStatus(first.status).build(), attachedToUs, {
      lastCall: failed("InternalError"),
      now: later,
    });
    expect(condition(second, "Synced")?.lastTransitionTime).toBe(NOW.toISOString());
    const settled = run(eniAttachment().detached().withStatus(second.status).build(), unattached, { now: later });
    expect(condition(settled, "Ready")).toMatchObject({ status: "True", lastTransitionTime: later.toISOString() });
    expect(condition(settled, "Ready")?.observedGeneration).toBe(1);
    expect(settled.status.observedGeneration).toBe(1);
  });

  it("report the instance ECM last saw the interface attached to", () => {
    expect(run(eniAttachment().build(), attachedToUs).status.attachedInstanceId).toBe(INSTANCE);
    expect(run(eniAttachment().build(), attachedElsewhere).status.attachedInstanceId).toBe("ein-00000000");
  });
});

describe("a failed Describe never rewrites what the last call was", () => {
  const describeFailed = {
    ok: false as const,
    failure: { code: "InternalError", message: "oops", requestId: "req-2" },
  };

  it("a settled Detached resource stays Ready reason Detached through a transient failure, and then writes nothing more", () => {
    const accepted = run(eniAttachment().detached().build(), attachedToUs, {
      lastCall: { ok: true, requestId: "req-1" },
    });
    const settled = run(eniAttachment().detached().withStatus(accepted.status).build(), unattached);
    expect(condition(settled, "Ready")).toMatchObject({ status: "True", reason: "Detached" });

    const later = new Date(NOW.getTime() + 300_000);
    const failedDescribe = decide({
      resource: eniAttachment().detached().withStatus(settled.status).build(),
      observed: describeFailed,
      now: later,
      jitter: 0.5,
    });
    expect(failedDescribe.status.operation).toEqual(settled.status.operation);
    expect(failedDescribe.status.observation).toEqual({ errorCode: "InternalError", errorMessage: "oops" });
    expect(condition(failedDescribe, "Ready")).toEqual(condition(settled, "Ready"));

    const muchLater = new Date(NOW.getTime() + 600_000);
    const recovered = run(eniAttachment().detached().withStatus(failedDescribe.status).build(), unattached, {
      now: muchLater,
    });
    expect(condition(recovered, "Ready")).toEqual(condition(settled, "Ready"));
    expect(recovered.status.observation).toBeUndefined();
    expect(recovered.status.operation).toEqual(settled.status.operation);
    expect(recovered.events).toEqual([]);
    // The pass after that has nothing to write: no reason flapping back.
    const next = run(eniAttachment().detached().withStatus(recovered.status).build(), unattached, {
      now: new Date(NOW.getTime() + 900_000),
    });
    expect(next.status).toEqual(recovered.status);
  });

  it("a failed call stays the record, and its retry stays scheduled", () => {
    const first = run(eniAttachment().detached().build(), attachedToUs, { lastCall: failed("InternalError") });
    const failedDescribe = decide({
      resource: eniAttachment().detached().withStatus(first.status).build(),
      observed: describeFailed,
      now: NOW,
      jitter: 0.5,
    });
    expect(failedDescribe.status.operation).toEqual(first.status.operation);
  });
});

describe("a transition the operator did not start", () => {
  const pending: EniObservation = { found: true, state: "PENDING", attachedInstanceId: undefined };

  it("is polled less and less often from when it was first seen, up to the drift interval, writing nothing new", () => {
    const first = run(eniAttachment().build(), pending);
    expect(first.step).toEqual({ kind: "none" });
    expect(first.status.transition).toEqual({ state: "PENDING", since: NOW.toISOString() });
    expect(first.next).toEqual({ kind: "requeueAfter", ms: 1000 });

    const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
    const resource = eniAttachment().withStatus(first.status).build();
    const later = run(resource, pending, { now: at(8) });
    expect(later.next).toEqual({ kind: "requeueAfter", ms: 8000 });
    expect(later.status).toEqual(first.status);
    expect(run(resource, pending, { now: at(3600) }).next).toEqual({ kind: "requeueAfter", ms: SETTLED_RECHECK_MS });
  });

  it("keeps its start through a failed Describe, and is forgotten once it ends", () => {
    const first = run(eniAttachment().build(), pending);
    const failedDescribe = decide({
      resource: eniAttachment().withStatus(first.status).build(),
      observed: { ok: false, failure: { code: "InternalError", message: "oops", requestId: "r" } },
      now: NOW,
      jitter: 0.5,
    });
    expect(failedDescribe.status.transition).toEqual(first.status.transition);
    const ended = run(eniAttachment().withStatus(failedDescribe.status).build(), attachedToUs);
    expect(ended.status.transition).toBeUndefined();
  });

  it("is not this resource's own call, which is polled as its confirmation", () => {
    const accepted = run(eniAttachment().detached().build(), attachedToUs, {
      lastCall: { ok: true, requestId: "req-1" },
    });
    const decision = run(eniAttachment().detached().withStatus(accepted.status).build(), detaching, {
      now: new Date(NOW.getTime() + 60_000),
    });
    expect(decision.status.transition).toBeUndefined();
    expect(decision.next).toEqual({ kind: "requeueAfter", ms: 15_000 });
  });
});

describe("an already-detached answer while Describe still shows the interface attached", () => {
  it("waits for Describe instead of calling again, and writes nothing new while it waits", () => {
    const code = "UnsupportedOperation.AttachmentNotFound";
    const afterCall = run(eniAttachment().deleting().build(), attachedToUs, { lastCall: failed(code) });
    const resource = eniAttachment().deleting().withStatus(afterCall.status).build();
    const lagging = run(resource, attachedToUs, { now: new Date(NOW.getTime() + 1000) });
    expect(lagging.step).toEqual({ kind: "none" });
    expect(lagging.status).toEqual(afterCall.status);
    expect(lagging.next).toEqual({ kind: "requeueAfter", ms: 1000 });
    const late = run(resource, attachedToUs, { now: new Date(NOW.getTime() + CONFIRM_TIMEOUT_MS) });
    expect(late.step).toEqual({ kind: "call", action: DETACH });
  });
});
