import { describe, expect, it } from "vitest";
import { decide } from "../../src/controller/decide.ts";
import type { Decision } from "../../src/controller/decision.ts";
import type { EniAttachment, EniAttachmentStatus } from "../../src/api/eniattachment.ts";
import type { EniObservation, EniState } from "../../src/ecm/observation.ts";
import { NOT_FOUND } from "../../src/ecm/observation.ts";
import { INSTANCE, NOW, eniAttachment, secondsAgo } from "./fixtures.ts";

// Every combination of (target, ECM state, whom the interface is attached to, the last call): a
// transition, or a call accepted and not yet shown, is never the desired state reached.

const DETACH = "DetachNetworkInterface" as const;
const ATTACH = "AttachNetworkInterface" as const;
type Action = typeof DETACH | typeof ATTACH;

const TARGETS = {
  attached: () => eniAttachment(),
  detached: () => eniAttachment().detached(),
  deleted: () => eniAttachment().deleting(),
} as const;
type TargetName = keyof typeof TARGETS;

const STATES: readonly EniState[] = ["AVAILABLE", "ATTACHING", "DETACHING", "PENDING", "DELETING"];
const ATTACHMENTS = { ours: INSTANCE, other: "ein-00000000", none: undefined } as const;
type AttachmentName = keyof typeof ATTACHMENTS;

function accepted(action: Action): EniAttachmentStatus {
  return {
    phase: action === ATTACH ? "Attaching" : "Detaching",
    operation: { action, requestId: "req-accepted", time: secondsAgo(1), outcome: "Accepted", attempts: 1 },
  };
}

/** A failure of the target's own call whose retry is due. */
function failed(action: Action): EniAttachmentStatus {
  return {
    phase: action === ATTACH ? "Attaching" : "Detaching",
    operation: {
      action,
      requestId: "req-failed",
      time: secondsAgo(10),
      outcome: "Failed",
      errorCode: "InternalError",
      errorMessage: "internal error",
      attempts: 1,
      nextAttemptTime: secondsAgo(5),
    },
  };
}

const LAST_CALLS = ["none", "attach accepted", "detach accepted", "failed"] as const;
type LastCall = (typeof LAST_CALLS)[number];

function actionOf(target: TargetName): Action {
  return target === "attached" ? ATTACH : DETACH;
}

function resourceFor(target: TargetName, last: LastCall): EniAttachment {
  const builder = TARGETS[target]();
  if (last === "attach accepted") builder.withStatus(accepted(ATTACH));
  if (last === "detach accepted") builder.withStatus(accepted(DETACH));
  if (last === "failed") builder.withStatus(failed(actionOf(target)));
  return builder.build();
}

type Outcome = "reached" | "wait" | "call" | "attachedElsewhere";

/** The contract, written as a rule: first the transition, then an accepted call not yet shown. */
function expected(target: TargetName, state: EniState, attached: AttachmentName, last: LastCall): Outcome {
  if (state !== "AVAILABLE") return "wait";
  if (last === "detach accepted" && attached === "ours") return "wait";
  if (last === "attach accepted" && attached === "none") return "wait";
  const reached = target === "attached" ? attached === "ours" : attached !== "ours";
  if (reached) return "reached";
  return target === "attached" && attached === "other" ? "attachedElsewhere" : "call";
}

function ready(decision: Decision) {
  return decision.status.conditions?.find((c) => c.type === "Ready");
}

function check(decision: Decision, outcome: Outcome, target: TargetName): void {
  if (outcome !== "reached") expect(decision.step.kind).not.toBe("removeFinalizer");
  switch (outcome) {
    case "reached":
      expect(ready(decision)?.status).toBe("True");
      expect(decision.step).toEqual(target === "deleted" ? { kind: "removeFinalizer" } : { kind: "none" });
      break;
    case "wait":
      expect(decision.step).toEqual({ kind: "none" });
      expect(ready(decision)?.status).toBe("False");
      expect(decision.status.phase).toBe(target === "attached" ? "Attaching" : "Detaching");
      expect(decision.next.kind).toBe("requeueAfter");
      break;
    case "call":
      expect(decision.step).toEqual({ kind: "call", action: actionOf(target) });
      break;
    case "attachedElsewhere":
      expect(decision.step).toEqual({ kind: "none" });
      expect(ready(decision)).toMatchObject({ status: "False", reason: "AttachedElsewhere" });
      break;
  }
}

describe("the desired state is reached only when ECM shows it settled", () => {
  for (const target of Object.keys(TARGETS) as TargetName[]) {
    for (const state of STATES) {
      for (const attached of Object.keys(ATTACHMENTS) as AttachmentName[]) {
        for (const last of LAST_CALLS) {
          const outcome = expected(target, state, attached, last);
          it(`${target}, ${state}, attached to ${attached}, last call ${last}: ${outcome}`, () => {
            const eni: EniObservation = { found: true, state, attachedInstanceId: ATTACHMENTS[attached] };
            const decision = decide({
              resource: resourceFor(target, last),
              observed: { ok: true, eni },
              now: NOW,
              jitter: 0.5,
            });
            check(decision, outcome, target);
          });
        }
      }
    }
  }

  for (const target of Object.keys(TARGETS) as TargetName[]) {
    for (const last of LAST_CALLS) {
      const outcome: Outcome = target === "attached" ? "call" : "reached";
      it(`${target}, interface not found, last call ${last}: ${outcome}`, () => {
        const decision = decide({
          resource: resourceFor(target, last),
          observed: { ok: true, eni: NOT_FOUND },
          now: NOW,
          jitter: 0.5,
        });
        check(decision, outcome, target);
      });
    }
  }
});

describe("a resource deleted while its interface attaches", () => {
  it("waits through ATTACHING and the attach's arrival, then detaches, then lets go", () => {
    const deleted = (status: EniAttachmentStatus) => eniAttachment().deleting().withStatus(status).build();
    const attaching: EniObservation = { found: true, state: "ATTACHING", attachedInstanceId: undefined };
    const during = decide({
      resource: deleted(accepted(ATTACH)),
      observed: { ok: true, eni: attaching },
      now: NOW,
      jitter: 0,
    });
    expect(during.step).toEqual({ kind: "none" });
    const notShownYet: EniObservation = { found: true, state: "AVAILABLE", attachedInstanceId: undefined };
    const early = decide({
      resource: deleted(during.status),
      observed: { ok: true, eni: notShownYet },
      now: NOW,
      jitter: 0,
    });
    expect(early.step).toEqual({ kind: "none" });
    const arrived: EniObservation = { found: true, state: "AVAILABLE", attachedInstanceId: INSTANCE };
    const detach = decide({
      resource: deleted(early.status),
      observed: { ok: true, eni: arrived },
      now: NOW,
      jitter: 0,
    });
    expect(detach.step).toEqual({ kind: "call", action: DETACH });
  });

  it("lets go once the confirmation window passed without the attach showing", () => {
    const late = new Date(NOW.getTime() + 121_000);
    const decision = decide({
      resource: eniAttachment().deleting().withStatus(accepted(ATTACH)).build(),
      observed: { ok: true, eni: { found: true, state: "AVAILABLE", attachedInstanceId: undefined } },
      now: late,
      jitter: 0,
    });
    expect(decision.step).toEqual({ kind: "removeFinalizer" });
  });
});
