import { describe, expect, it } from "vitest";
import {
  PAUSED_ANNOTATION,
  SYNC_PERIOD_ANNOTATION,
  cachedCopy,
  decodeEniAttachment,
} from "../../src/api/eniattachment.ts";
import { eniAttachment } from "./fixtures.ts";

describe("the informer's copy of a resource", () => {
  it("keeps the metadata the operator reads (creation time included, for the ENI's owner), its own annotations, the spec and the status, and drops the rest", () => {
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
        annotations: {
          "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify(full),
          [PAUSED_ANNOTATION]: "true",
          [SYNC_PERIOD_ANNOTATION]: "90s",
        },
        labels: { tier: "backend" },
        managedFields: [{ manager: "kubectl", operation: "Apply", fieldsV1: { "f:spec": {} } }],
      },
    });
    const kept = cachedCopy(fromServer);
    expect(kept.metadata).toEqual({
      ...read,
      annotations: { [PAUSED_ANNOTATION]: "true", [SYNC_PERIOD_ANNOTATION]: "90s" },
    });
    expect(kept.spec).toEqual(fromServer.spec);
    expect(kept.status).toEqual(fromServer.status);
    expect(JSON.stringify(kept)).not.toMatch(/managedFields|last-applied|tier|backend/);
  });
});
