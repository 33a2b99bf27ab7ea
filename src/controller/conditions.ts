import type { Condition } from "../api/eniattachment.ts";

export type ConditionType = "Ready" | "Synced";
export type ConditionInput = Omit<Condition, "lastTransitionTime" | "observedGeneration" | "type"> & {
  type: ConditionType;
};

/**
 * Builds the fixed set of conditions, keeping each one's lastTransitionTime unless its status changed,
 * as metav1.Condition users expect.
 */
export function buildConditions(
  previous: readonly Condition[] | undefined,
  next: readonly ConditionInput[],
  generation: number,
  now: Date,
): Condition[] {
  return next.map((condition) => {
    const before = previous?.find((c) => c.type === condition.type);
    const lastTransitionTime =
      before && before.status === condition.status ? before.lastTransitionTime : now.toISOString();
    return { ...condition, lastTransitionTime, observedGeneration: generation };
  });
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: ConditionType,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
