// The least the operator needs, written out by hand: the chart's rendered RBAC must equal it, and tests
// that run the operator outside the chart grant exactly this.
import type { PolicyRule } from "./chart.ts";

/**
 * The operator's rules on EniAttachments and Events; with per-resource credentials, Secrets `get` (one
 * named Secret) and `patch` (its credentials-in-use finalizer), never list or watch.
 */
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
export const SECRET_RULE: PolicyRule = { apiGroups: [""], resources: ["secrets"], verbs: ["get", "patch"] };
/** Its Lease: create cannot be limited by name, the rest can. */
export const leaseRules = (lease: string): PolicyRule[] => [
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], resourceNames: [lease], verbs: ["get", "update"] },
];

/** The chart's ClusterRoles for users, aggregated into view, edit and admin, as rulesOf() keys them. */
export const userRoles = (fullname: string): Record<string, PolicyRule[]> => ({
  [`ClusterRole /${fullname}-view`]: [
    {
      apiGroups: ["ecm.eni-operator.io"],
      resources: ["eniattachments", "eniattachments/status"],
      verbs: ["get", "list", "watch"],
    },
  ],
  [`ClusterRole /${fullname}-edit`]: [
    {
      apiGroups: ["ecm.eni-operator.io"],
      resources: ["eniattachments"],
      verbs: ["create", "update", "patch", "delete", "deletecollection"],
    },
  ],
});

/** Who a RoleBinding grants the operator's Role to. */
export type RbacSubject =
  | { readonly kind: "User"; readonly name: string }
  | { readonly kind: "ServiceAccount"; readonly name: string; readonly namespace: string };

/** A Role eni-operator with these rules in the namespace, and its binding to one subject, for `kubectl apply`. */
export function boundRole(namespace: string, rules: readonly PolicyRule[], subject: RbacSubject): object[] {
  const metadata = { name: "eni-operator", namespace };
  return [
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata, rules },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata,
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "eni-operator" },
      // A user is named in the RBAC API group; a ServiceAccount, a core object, by its namespace.
      subjects: [subject.kind === "User" ? { apiGroup: "rbac.authorization.k8s.io", ...subject } : subject],
    },
  ];
}
