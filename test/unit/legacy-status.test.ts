import { describe, expect, it } from "vitest";
import { decodeEniAttachment, type EniAttachment } from "../../src/api/eniattachment.ts";
import { decide } from "../../src/controller/decide.ts";
import { NOW, attachedToUs, eniAttachment, secondsAgo, unattached } from "./fixtures.ts";

// Objects an operator wrote before status.operation existed are read without a migration step.

function stored(status: Record<string, unknown>): unknown {
  return {
    ...JSON.parse(JSON.stringify(eniAttachment().detached().build())),
    status: { observedGeneration: 1, ...status },
  };
}

const DETACH = "DetachNetworkInterface";

describe("a status written before status.operation", () => {
  it("is read into the record: an accepted call awaiting confirmation", () => {
    const resource = decodeEniAttachment(
      stored({
        phase: "Detaching",
        action: DETACH,
        requestId: "req-old",
        errorCode: "",
        attempts: 1,
        lastAttemptTime: secondsAgo(1),
      }),
    );
    expect(resource.status).toEqual({
      observedGeneration: 1,
      phase: "Detaching",
      operation: { action: DETACH, requestId: "req-old", time: secondsAgo(1), outcome: "Accepted", attempts: 1 },
    });
    // Understood as accepted: Describe not showing it yet makes no second call.
    expect(decide({ resource, observed: { ok: true, eni: attachedToUs }, now: NOW, jitter: 0.5 }).step).toEqual({
      kind: "none",
    });
  });

  it("is read into the record: a failed call with its retry time, and a settled one", () => {
    const failing = decodeEniAttachment(
      stored({
        phase: "Detaching",
        action: DETACH,
        requestId: "req-old",
        errorCode: "InternalError",
        errorMessage: "oops",
        attempts: 2,
        lastAttemptTime: secondsAgo(10),
        nextAttemptTime: secondsAgo(-10),
      }),
    );
    expect(failing.status?.operation).toEqual({
      action: DETACH,
      requestId: "req-old",
      time: secondsAgo(10),
      outcome: "Failed",
      errorCode: "InternalError",
      errorMessage: "oops",
      attempts: 2,
      nextAttemptTime: secondsAgo(-10),
    });
    const settled = decodeEniAttachment(
      stored({
        phase: "Detached",
        action: DETACH,
        requestId: "req-old",
        errorCode: "",
        lastAttemptTime: secondsAgo(60),
      }),
    );
    expect(settled.status?.operation).toMatchObject({ outcome: "Confirmed", attempts: 0 });
  });

  it("reads an error with no call recorded as a failed Describe", () => {
    const resource = decodeEniAttachment(
      stored({ phase: "Failed", errorCode: "AuthFailure.SignatureFailure", errorMessage: "bad" }),
    );
    expect(resource.status?.observation).toEqual({ errorCode: "AuthFailure.SignatureFailure", errorMessage: "bad" });
    expect(resource.status?.operation).toBeUndefined();
  });

  it("is dropped by the next status write, which carries the record instead", () => {
    const resource: EniAttachment = decodeEniAttachment(
      stored({
        phase: "Detaching",
        action: DETACH,
        requestId: "req-old",
        errorCode: "",
        attempts: 1,
        lastAttemptTime: secondsAgo(1),
      }),
    );
    const decision = decide({ resource, observed: { ok: true, eni: unattached }, now: NOW, jitter: 0.5 });
    expect(Object.keys(decision.status).sort()).toEqual([
      "attachedInstanceId",
      "conditions",
      "observedGeneration",
      "operation",
      "phase",
    ]);
    expect(decision.status.operation).toMatchObject({ requestId: "req-old", outcome: "Confirmed" });
    expect(decision.status.conditions?.find((c) => c.type === "Ready")).toMatchObject({ reason: "Detached" });
  });

  it("is left alone once the object carries the record", () => {
    const current = eniAttachment()
      .detached()
      .withStatus({
        phase: "Detaching",
        operation: { action: DETACH, requestId: "req-new", time: secondsAgo(1), outcome: "Accepted", attempts: 1 },
      })
      .build();
    const both = { ...current, status: { ...current.status, requestId: "req-old" } };
    expect(decodeEniAttachment(both).status).toEqual(current.status);
  });
});
