import { describe, expect, it } from "vitest";
import { FINALIZER, type EniAttachment } from "../../src/api/eniattachment.ts";
import { ResourceIndex } from "../../src/controller/resource-index.ts";
import { eniAttachment } from "./fixtures.ts";

const naming = (name: string, uid = `uid-${name}`): EniAttachment => {
  const resource = eniAttachment().named("team-a", name).credentials("tenant").build();
  resource.metadata.uid = uid;
  return resource;
};

const deleted = (resource: EniAttachment, finalizers: string[] = [FINALIZER]): EniAttachment => {
  const copy = structuredClone(resource);
  copy.metadata.deletionTimestamp = new Date();
  copy.metadata.finalizers = finalizers;
  return copy;
};

describe("which resources still need a credentials Secret", () => {
  it("counts every resource naming it, but not the one asking, nor one let go", () => {
    const index = new ResourceIndex();
    const a = naming("a");
    const b = naming("b");
    index.update(a, "add");
    index.update(b, "add");
    expect(index.needed("team-a", "tenant")).toBe(true);
    expect(index.needed("team-a", "tenant", a)).toBe(true);
    index.update(deleted(b), "update");
    // Deleted but still holding the detach finalizer: its detach may still need the Secret.
    expect(index.needed("team-a", "tenant", a)).toBe(true);
    index.letGo(deleted(b));
    expect(index.needed("team-a", "tenant", a)).toBe(false);
    expect(index.needed("team-a", "tenant")).toBe(true);
    // A late write of b, with the finalizer it had, does not bring its need back.
    index.update(deleted(b), "update");
    expect(index.needed("team-a", "tenant", a)).toBe(false);
    expect(index.named("team-a", "tenant")).toBe(true);
  });

  it("takes a deleted resource without the detach finalizer as let go, and forgets a mark for an older object of the same name", () => {
    const index = new ResourceIndex();
    index.update(deleted(naming("a"), ["example.com/keep"]), "add");
    expect(index.needed("team-a", "tenant")).toBe(false);

    index.update(naming("b"), "add");
    index.letGo(naming("b", "uid-other"));
    expect(index.needed("team-a", "tenant")).toBe(true);
  });

  it("follows a reference changed to another Secret, and a resource gone", () => {
    const index = new ResourceIndex();
    const a = naming("a");
    index.update(a, "add");
    index.update(a, "update");
    const moved = structuredClone(a);
    moved.spec.credentialsSecretRef = { name: "other" };
    index.update(moved, "update");
    expect([index.needed("team-a", "tenant"), index.needed("team-a", "other")]).toEqual([false, true]);
    index.update(moved, "delete");
    expect(index.needed("team-a", "other")).toBe(false);
    // Letting go twice, or after it is gone, counts nothing twice.
    index.update(a, "add");
    index.update(naming("b"), "add");
    index.letGo(a);
    index.letGo(a);
    expect(index.needed("team-a", "tenant")).toBe(true);
    index.update(deleted(a, []), "update");
    index.update(a, "delete");
    expect([index.needed("team-a", "tenant"), index.needed("team-a", "tenant", naming("b"))]).toEqual([true, false]);
  });
});
