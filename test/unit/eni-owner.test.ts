import { describe, expect, it } from "vitest";
import { ownerOf } from "../../src/controller/eni-owner.ts";
import { keyOf } from "../../src/controller/keys.ts";
import { ResourceIndex } from "../../src/controller/resource-index.ts";
import { REGION, eniAttachment } from "./fixtures.ts";

const keys = (resources: readonly { metadata: { namespace?: string; name?: string } }[]) =>
  resources.map((r) => `${r.metadata.namespace ?? ""}/${r.metadata.name ?? ""}`);

describe("the owner of an ENI among the resources that name it", () => {
  it("is the oldest, in any namespace", () => {
    const a = eniAttachment().named("team-b", "a").createdSecondsAgo(60).build();
    const b = eniAttachment().named("team-a", "b").createdSecondsAgo(30).build();
    expect(ownerOf([b, a])).toBe(a);
    expect(ownerOf([a, b])).toBe(a);
  });

  it("among resources created in the same second, is the first by namespace/name", () => {
    const a = eniAttachment().named("team-a", "z").createdSecondsAgo(10).build();
    const b = eniAttachment().named("team-b", "a").createdSecondsAgo(10).build();
    expect(ownerOf([b, a])).toBe(a);
  });

  it("is no one when nothing names the ENI", () => {
    expect(ownerOf([])).toBeUndefined();
  });
});

describe("the index of the informer's resources by ENI and by Secret", () => {
  it("keeps the claimants of one ENI in one region across namespaces, apart from other ENIs", () => {
    const index = new ResourceIndex();
    const a = eniAttachment().named("team-a", "a").createdSecondsAgo(60).build();
    const b = eniAttachment().named("team-b", "b").createdSecondsAgo(30).build();
    const other = eniAttachment().named("team-a", "other").eni("eni-00000001").build();
    for (const r of [a, b, other]) index.update(r, "add");
    expect(keys(index.claimants(REGION, a.spec.networkInterfaceId)).sort()).toEqual(["team-a/a", "team-b/b"]);
    expect(keys(index.claimants(REGION, "eni-00000001"))).toEqual(["team-a/other"]);
    expect(index.claimants("ap-ningbo-ecm", a.spec.networkInterfaceId)).toEqual([]);
  });

  it("leaves observers out: an older resource with managementPolicy Observe neither owns the ENI nor blocks its owner", () => {
    const index = new ResourceIndex();
    const observer = eniAttachment().named("team-a", "watcher").createdSecondsAgo(120).build();
    observer.spec.managementPolicy = "Observe";
    const manager = eniAttachment().named("team-b", "manager").createdSecondsAgo(10).build();
    for (const r of [observer, manager]) index.update(r, "add");
    expect(keys(index.claimants(REGION, manager.spec.networkInterfaceId))).toEqual(["team-b/manager"]);
    // Handed over to Manage, it claims the ENI and, being older, owns it: the manager is told at once.
    const adopted = { ...observer, spec: { ...observer.spec, managementPolicy: "Manage" as const } };
    expect(keys(index.update(adopted, "update").newOwners)).toEqual(["team-b/manager"]);
    const owner = ownerOf(index.claimants(REGION, manager.spec.networkInterfaceId));
    expect(owner && keyOf(owner)).toBe("team-a/watcher");
  });

  it("names the claimants to reconcile at once when the owner leaves, and none when a newer one leaves", () => {
    const index = new ResourceIndex();
    const a = eniAttachment().named("team-a", "a").createdSecondsAgo(60).build();
    const b = eniAttachment().named("team-a", "b").createdSecondsAgo(30).build();
    const c = eniAttachment().named("team-b", "c").createdSecondsAgo(10).build();
    expect(index.update(a, "add").newOwners).toEqual([]);
    // A newer claimant joins behind the owner: nothing changes for the others.
    expect(index.update(b, "add").newOwners).toEqual([]);
    expect(index.update(c, "add").newOwners).toEqual([]);
    expect(index.update(c, "delete").newOwners).toEqual([]);
    index.update(c, "add");
    // The owner goes: b owns it now; b and c are reconciled (c's message names the new owner).
    expect(keys(index.update(a, "delete").newOwners).sort()).toEqual(["team-a/b", "team-b/c"]);
    const owner = ownerOf(index.claimants(REGION, a.spec.networkInterfaceId));
    expect(owner && keyOf(owner)).toBe("team-a/b");
  });

  it("lets a Secret go when its last resource goes, terminating ones counting until they are gone", () => {
    const index = new ResourceIndex();
    const a = eniAttachment().named("team-a", "a").credentials("tenant").build();
    const b = eniAttachment().named("team-a", "b").eni("eni-00000001").credentials("tenant").build();
    index.update(a, "add");
    index.update(b, "add");
    expect(index.namers("team-a", "tenant")).toEqual(["a", "b"]);
    expect(
      index.update(eniAttachment().named("team-a", "a").credentials("tenant").deleting().build(), "update"),
    ).toEqual({ unnamed: [], newOwners: [] });
    expect(index.update(a, "delete").unnamed).toEqual([]);
    expect(index.named("team-a", "tenant")).toBe(true);
    expect(index.update(b, "delete").unnamed).toEqual([{ namespace: "team-a", name: "tenant" }]);
    expect(index.named("team-a", "tenant")).toBe(false);
  });

  it("lets the old Secret go when a reference changes to another, and keeps one another namespace's resource names", () => {
    const index = new ResourceIndex();
    index.update(eniAttachment().named("team-a", "a").credentials("old").build(), "add");
    index.update(eniAttachment().named("team-b", "b").eni("eni-00000001").credentials("old").build(), "add");
    const changed = index.update(eniAttachment().named("team-a", "a").credentials("new").build(), "update");
    expect(changed.unnamed).toEqual([{ namespace: "team-a", name: "old" }]);
    expect(index.named("team-b", "old")).toBe(true);
    expect(index.namers("team-a", "new")).toEqual(["a"]);
  });

  it("holds nothing for resources without a Secret", () => {
    const index = new ResourceIndex();
    const a = eniAttachment().named("team-a", "a").build();
    index.update(a, "add");
    expect(index.update(a, "delete")).toEqual({ unnamed: [], newOwners: [] });
  });
});
