import { describe, expect, it } from "vitest";
import type { EniAttachment } from "../../src/api/eniattachment.ts";
import { StaleReadGuard } from "../../src/controller/stale-read-guard.ts";
import { eniAttachment } from "./fixtures.ts";

function at(resourceVersion: string, change: (r: EniAttachment) => void = () => undefined): EniAttachment {
  const resource = eniAttachment().build();
  resource.metadata.resourceVersion = resourceVersion;
  change(resource);
  return resource;
}

function setup(cache: EniAttachment | undefined, server: EniAttachment | undefined) {
  const fetched: string[] = [];
  const state = { cache, server };
  const guard = new StaleReadGuard({
    cached: () => state.cache,
    fetch: (_namespace, name) => {
      fetched.push(name);
      return Promise.resolve(state.server);
    },
  });
  return { guard, fetched, state };
}

describe("the stale-read guard", () => {
  it("reads the cache for a key the operator never wrote", async () => {
    const { guard, fetched } = setup(at("5"), at("6"));
    expect((await guard.read("team-a", "web"))?.metadata.resourceVersion).toBe("5");
    expect(fetched).toEqual([]);
  });

  it("reads the API server until the cache shows the version a write produced", async () => {
    const { guard, fetched, state } = setup(at("5"), at("6"));
    guard.wrote(at("6"));
    expect((await guard.read("team-a", "web"))?.metadata.resourceVersion).toBe("6");
    expect(fetched).toEqual(["web"]);
    state.cache = at("6");
    expect((await guard.read("team-a", "web"))?.metadata.resourceVersion).toBe("6");
    expect(fetched).toEqual(["web"]);
  });

  it("forgets a write that let the object go", async () => {
    const { guard, fetched } = setup(at("5"), undefined);
    guard.wrote(
      at("9", (r) => {
        r.metadata.deletionTimestamp = new Date();
        r.metadata.finalizers = [];
      }),
    );
    await guard.read("team-a", "web");
    expect(fetched).toEqual([]);
  });

  it("trusts the cache once the informer delivered the version a write produced, whatever comes after", async () => {
    const { guard, fetched, state } = setup(at("5"), at("7"));
    guard.wrote(at("6"));
    guard.delivered(at("6"), "update");
    // Someone's kubectl delete, right after the operator's write.
    state.cache = at("7", (r) => (r.metadata.deletionTimestamp = new Date()));
    guard.delivered(state.cache, "update");
    expect((await guard.read("team-a", "web"))?.metadata.resourceVersion).toBe("7");
    expect(fetched).toEqual([]);
  });

  it("reads the API server when the informer delivered another version without having shown the write's", async () => {
    const { guard, fetched, state } = setup(at("5"), at("7"));
    guard.wrote(at("6"));
    state.cache = at("7");
    guard.delivered(state.cache, "update");
    expect((await guard.read("team-a", "web"))?.metadata.resourceVersion).toBe("7");
    expect(fetched).toEqual(["web"]);
  });

  it("forgets what it expected of an object the informer saw deleted", async () => {
    const { guard, fetched, state } = setup(at("5"), at("7"));
    guard.wrote(at("6"));
    guard.delivered(at("5"), "delete");
    state.cache = at("8");
    expect((await guard.read("team-a", "web"))?.metadata.resourceVersion).toBe("8");
    expect(fetched).toEqual([]);
  });

  it("after someone else's write, expects what the API server returned", async () => {
    const { guard, fetched, state } = setup(at("5"), at("7"));
    guard.wrote(at("6"));
    await guard.read("team-a", "web");
    state.cache = at("7");
    expect((await guard.read("team-a", "web"))?.metadata.resourceVersion).toBe("7");
    expect(fetched).toEqual(["web"]);
  });
});
