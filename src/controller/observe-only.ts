import type { EventSpec } from "../api/event-spec.ts";
import { classify } from "../ecm/errors.ts";
import { SETTLED_RECHECK_MS } from "./backoff.ts";
import type { Decision } from "./decision.ts";
import { findCondition } from "./conditions.ts";
import * as text from "./messages.ts";
import { status, type Context } from "./status.ts";

const TRANSITIONS: Readonly<Record<string, "Attaching" | "Detaching">> = {
  PENDING: "Attaching",
  ATTACHING: "Attaching",
  DETACHING: "Detaching",
  DELETING: "Detaching",
};

/**
 * managementPolicy Observe: report what Describe shows and never attach or detach. The next look is
 * on the drift interval; a failed Describe shows its code and is retried with the work queue's backoff.
 */
export function observeOnly(ctx: Context): Decision {
  const { input, resource } = ctx;
  const { networkInterfaceId } = resource.spec;
  const period = input.syncPeriodMs ?? SETTLED_RECHECK_MS;
  if (!input.observed.ok) {
    const { failure } = input.observed;
    const errorClass = classify(failure.code, "DescribeNetworkInterfaces").class;
    const detail = text.callFailed("DescribeNetworkInterfaces", failure);
    const ready = findCondition(ctx.prev.conditions, "Ready");
    const events: EventSpec[] =
      errorClass === "Throttled" ? [] : [{ type: "Warning", reason: "ObserveFailed", message: detail }];
    return {
      step: { kind: "none" },
      status: status(
        ctx,
        { phase: ctx.prev.phase ?? "Pending", observation: { errorCode: failure.code, errorMessage: failure.message } },
        [
          ready
            ? { ...ready, type: "Ready" }
            : { type: "Ready", status: "Unknown", reason: "Observing", message: detail },
          { type: "Synced", status: "False", reason: failure.code, message: detail },
        ],
      ),
      events,
      next: errorClass === "InvalidRequest" ? { kind: "waitForChange" } : { kind: "backoff", errorClass },
    };
  }
  const { eni } = input.observed;
  const attachedTo = eni.found ? (eni.attachedInstanceId ?? "") : "";
  const phase = !eni.found ? "Pending" : (TRANSITIONS[eni.state] ?? (attachedTo ? "Attached" : "Detached"));
  const shows = !eni.found
    ? `ECM shows no interface ${networkInterfaceId}`
    : attachedTo
      ? `ECM shows ${networkInterfaceId} ${eni.state} on ${attachedTo}`
      : `ECM shows ${networkInterfaceId} ${eni.state}, attached to no instance`;
  const message = `${shows} (managementPolicy Observe: no attach or detach is made)`;
  const firstSeen = findCondition(ctx.prev.conditions, "Ready")?.reason !== "Observed";
  return {
    step: { kind: "none" },
    status: status(ctx, { phase, attachedInstanceId: attachedTo }, [
      eni.found
        ? { type: "Ready", status: "True", reason: "Observed", message }
        : { type: "Ready", status: "False", reason: "NotFound", message },
      { type: "Synced", status: "True", reason: "Success", message: "DescribeNetworkInterfaces answered" },
    ]),
    events: firstSeen && eni.found ? [{ type: "Normal", reason: "Observed", message }] : [],
    next: { kind: "requeueAfter", ms: period },
  };
}
