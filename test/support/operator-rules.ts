// The least the operator needs, written out by hand: the chart's rendered RBAC must equal it, and tests
// that run the operator outside the chart grant exactly this.
import type { PolicyRule } from "./chart.ts";

/** The operator's rules on EniAttachments and Events; Secrets `get` only with per-resource credentials. */
export const RESOURCE_RULES: PolicyRule[] = [
  {
    apiGroups: ["ecm.eni-operator.io"],
    resources: ["eniattachments"],
    verbs: ["get", "list", "watch", "update", "patch"],
  },
  { apiGroups: ["ecm.eni-operator.io"], resources: ["eniattachments/status"], verbs: ["update", "patch"] },
  { apiGroups: ["ecm.eni-operator.io"], resources: ["eniattachments/finalizers"], verbs: ["update"] },
  { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
];
export const SECRET_RULE: PolicyRule = { apiGroups: [""], resources: ["secrets"], verbs: ["get"] };
/** Its Lease: create cannot be limited by name, the rest can. */
export const leaseRules = (lease: string): PolicyRule[] => [
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: [lease], verbs: ["get", "update"] },
];
