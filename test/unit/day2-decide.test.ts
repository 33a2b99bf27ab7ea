import { describe, expect, it } from "vitest";
import type { EniAttachment } from "../../src/api/eniattachment.ts";
import { decide, lifecycle, orphanedEvent } from "../../src/controller/decide.ts";
import type { Decision, DecisionInput } from "../../src/controller/decision.ts";
import { isPaused, pausedDecision, pendingReconcileRequest } from "../../src/controller/pause.ts";
import type { EniObservation } from "../../src/ecm/observation.ts";
import { NOT_FOUND } from "../../src/ecm/observation.ts";
import {
  ENI,
  NOW,
  attachedElsewhere,
  attachedToUs,
  eniAttachment,
  secondsAgo,
  secondsFromNow,
  unattached,
} from "./fixtures.ts";

function run(resource: EniAttachment, eni: EniObservation, extra: Partial<DecisionInput> = {}): Decision {
  return decide({ resource, observed: { ok: true, eni }, now: NOW, jitter: 0.5, ...extra });
}

function condition(decision: Decision, type: "Ready" | "Synced") {
  return decision.status.conditions?.find((c) => c.type === type);
}

function observing(build = eniAttachment()): EniAttachment {
  const resource = build.build();
  resource.spec.managementPolicy = "Observe";
  return resource;
}

describe("managementPolicy Observe", () => {
  it("never calls ECM to attach or detach, whatever desiredState says, and reports what Describe shows", () => {
    for (const [build, eni] of [
      [eniAttachment(), unattached],
      [eniAttachment().detached(), attachedToUs],
      [eniAttachment(), attachedElsewhere],
    ] as const) {
      const decision = run(observing(build), eni, { syncPeriodMs: 90_000 });
      expect(decision.step).toEqual({ kind: "none" });
      expect(decision.next).toEqual({ kind: "requeueAfter", ms: 90_000 });
      expect(condition(decision, "Ready")).toMatchObject({ status: "True", reason: "Observed" });
    }
    const attached = run(observing(), attachedElsewhere);
    expect(attached.status).toMatchObject({
      phase: "Attached",
      attachedInstanceId: attachedElsewhere.found ? attachedElsewhere.attachedInstanceId : "",
    });
    expect(attached.events).toEqual([expect.objectContaining({ reason: "Observed" }) as unknown]);
    expect(run(observing(), unattached).status).toMatchObject({ phase: "Detached", attachedInstanceId: "" });
    expect(condition(run(observing(), NOT_FOUND), "Ready")).toMatchObject({ status: "False", reason: "NotFound" });
  });

  it("shows a failed Describe's code and retries it with the backoff", () => {
    const decision = decide({
      resource: observing(),
      observed: { ok: false, failure: { code: "InternalError", message: "boom", requestId: "r-1" } },
      now: NOW,
      jitter: 0.5,
    });
    expect(decision.status.observation?.errorCode).toBe("InternalError");
    expect(condition(decision, "Synced")).toMatchObject({ status: "False", reason: "InternalError" });
    expect(decision.next).toEqual({ kind: "backoff", errorClass: "ServiceFault" });
  });

  it("lets a deleted resource go without a detach, with the event Released", () => {
    const resource = observing(eniAttachment().deleting());
    expect(lifecycle(resource)).toBe("orphan");
    expect(orphanedEvent(resource)).toMatchObject({ type: "Normal", reason: "Released" });
    expect(orphanedEvent(resource).message).toContain(ENI);
  });

  it("adopts on the switch to Manage: the next pass attaches as for any resource", () => {
    const observed = run(observing(), unattached);
    const adopted = eniAttachment().withStatus(observed.status).build();
    expect(run(adopted, unattached).step).toEqual({ kind: "call", action: "AttachNetworkInterface" });
  });
});

describe("the drift interval and a reconcile request", () => {
  it("looks at a settled resource again after its sync period", () => {
    expect(run(eniAttachment().build(), attachedToUs, { syncPeriodMs: 45_000 }).next).toEqual({
      kind: "requeueAfter",
      ms: 45_000,
    });
  });

  it("polls another actor's long transition once per sync period", () => {
    const stuck = eniAttachment()
      .withStatus({ phase: "Pending", transition: { state: "PENDING", since: secondsAgo(600) } })
      .build();
    const pending: EniObservation = { found: true, state: "PENDING", attachedInstanceId: undefined };
    expect(run(stuck, pending, { syncPeriodMs: 45_000 }).next).toEqual({ kind: "requeueAfter", ms: 45_000 });
  });

  it("retries at once a failure waiting for its retry when a reconcile is requested", () => {
    const waiting = eniAttachment()
      .withStatus({
        phase: "Attaching",
        operation: {
          action: "AttachNetworkInterface",
          requestId: "r",
          outcome: "Failed",
          errorCode: "InternalError",
          attempts: 5,
          time: secondsAgo(10),
          nextAttemptTime: secondsFromNow(280),
        },
      })
      .build();
    expect(run(waiting, unattached).step).toEqual({ kind: "none" });
    expect(run(waiting, unattached, { reconcileRequested: true }).step).toEqual({
      kind: "call",
      action: "AttachNetworkInterface",
    });
  });

  it("a request is pending until status.lastHandledReconcileAt echoes its value", () => {
    const resource = eniAttachment().build();
    expect(pendingReconcileRequest(resource)).toBeUndefined();
    resource.metadata.annotations = { "ecm.eni-operator.io/reconcile-requested-at": "t1" };
    expect(pendingReconcileRequest(resource)).toBe("t1");
    resource.status = { lastHandledReconcileAt: "t1" };
    expect(pendingReconcileRequest(resource)).toBeUndefined();
  });
});

describe("pause", () => {
  it("keeps Ready, sets Synced False reason Paused, tells once, and waits for a change", () => {
    const resource = eniAttachment()
      .withStatus({
        phase: "Attached",
        conditions: [
          { type: "Ready", status: "True", reason: "Attached", message: "m", lastTransitionTime: secondsAgo(60) },
        ],
      })
      .build();
    resource.metadata.annotations = { "ecm.eni-operator.io/paused": "true" };
    expect(isPaused(resource)).toBe(true);
    const decision = pausedDecision(resource, NOW);
    expect(decision.step).toEqual({ kind: "none" });
    expect(decision.next).toEqual({ kind: "waitForChange" });
    expect(condition(decision, "Ready")).toMatchObject({ status: "True", reason: "Attached" });
    expect(condition(decision, "Synced")).toMatchObject({ status: "False", reason: "Paused" });
    expect(decision.events.map((e) => e.reason)).toEqual(["Paused"]);
    const again = pausedDecision(eniAttachment().withStatus(decision.status).build(), NOW);
    expect(again.events).toEqual([]);
    expect(isPaused(eniAttachment().build())).toBe(false);
  });
});
