import { describe, expect, it } from "vitest";
import { cachedCopy, decodeEniAttachment } from "../../src/api/eniattachment.ts";
import { eniAttachment } from "./fixtures.ts";

describe("the informer's copy of a resource", () => {
  it("keeps the metadata the operator reads (creation time included, for the ENI's owner), the spec and the status, and drops managedFields and annotations", () => {
    const full = eniAttachment().build();
    const raw: unknown = JSON.parse(JSON.stringify(full));
    if (typeof raw !== "object" || raw === null) throw new Error("not an object");
    // What the operator reads of the metadata, then what it does not.
    const read = {
      name: full.metadata.name,
      namespace: full.metadata.namespace,
      finalizers: full.metadata.finalizers,
      uid: "u-1",
      resourceVersion: "42",
      generation: 3,
      creationTimestamp: "2026-12-01T00:00:00Z",
    };
    const fromServer = decodeEniAttachment({
      ...raw,
      metadata: {
        ...read,
        annotations: { "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify(full) },
        labels: { tier: "backend" },
        managedFields: [{ manager: "kubectl", operation: "Apply", fieldsV1: { "f:spec": {} } }],
      },
    });
    const kept = cachedCopy(fromServer);
    expect(kept.metadata).toEqual(read);
    expect(kept.spec).toEqual(fromServer.spec);
    expect(kept.status).toEqual(fromServer.status);
    expect(JSON.stringify(kept)).not.toMatch(/managedFields|last-applied|tier|backend/);
  });
});
