import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { isNamespaceTerminating } from "../../src/kube/api-errors.ts";

/** The API server's answer to an event created in a namespace being deleted. */
const TERMINATING = JSON.stringify({
  kind: "Status",
  apiVersion: "v1",
  status: "Failure",
  message:
    'events "web.1" is forbidden: unable to create new content in namespace team-a because it is being terminated',
  reason: "Forbidden",
  details: {
    name: "web.1",
    kind: "events",
    causes: [
      { reason: "NamespaceTerminating", message: "namespace team-a is being terminated", field: "metadata.namespace" },
    ],
  },
  code: 403,
});

describe("a write refused because its namespace is being deleted", () => {
  it("is told apart by the NamespaceTerminating cause of a 403", () => {
    expect(isNamespaceTerminating(new ApiException(403, "Forbidden", TERMINATING, {}))).toBe(true);
  });

  it("is not any other 403, nor another failure", () => {
    const rbac = JSON.stringify({ kind: "Status", reason: "Forbidden", code: 403, details: { kind: "events" } });
    expect(isNamespaceTerminating(new ApiException(403, "Forbidden", rbac, {}))).toBe(false);
    expect(isNamespaceTerminating(new ApiException(403, "Forbidden", "not json", {}))).toBe(false);
    expect(isNamespaceTerminating(new ApiException(500, "Internal", TERMINATING, {}))).toBe(false);
    expect(isNamespaceTerminating(new Error("NamespaceTerminating"))).toBe(false);
  });
});
