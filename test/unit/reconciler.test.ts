import { describe, expect, it } from "vitest";
import type { Trigger } from "../../src/controller/decision.ts";
import { Reconciler, type ReconcilerDeps } from "../../src/controller/reconciler.ts";
import type { EniAttachment } from "../../src/api/eniattachment.ts";
import { ENI, INSTANCE, NOW, attachedToUs, eniAttachment, secondsAgo, unattached } from "./fixtures.ts";
import { FakeCalls, FakeEvents, FakeObserver, FakeStore, Journal, credentials, silentLogger } from "./fakes.ts";

// Scenario tests: each asserts every read of the API server, ECM call, status write and event, in
// order, and that nothing else was done.

const ATTACH = "AttachNetworkInterface" as const;
const DETACH = "DetachNetworkInterface" as const;

function setup(resource: EniAttachment, owner?: EniAttachment, lastUse?: ReconcilerDeps["lastUse"]) {
  const journal = new Journal();
  const store = new FakeStore(journal);
  const events = new FakeEvents(journal);
  const calls = new FakeCalls(journal);
  const observer = new FakeObserver(journal);
  const stored = store.put(resource);
  let cache: EniAttachment | undefined = stored;
  const reconciler = new Reconciler({
    resources: store,
    events,
    calls,
    observer,
    credentialsFor: () => credentials,
    cached: () => cache && structuredClone(cache),
    ...(owner ? { ownerOf: () => owner } : {}),
    ...(lastUse ? { lastUse } : {}),
    now: () => NOW,
    jitter: () => 0.5,
  });
  const reconcile = (trigger: Trigger = CHANGED) => reconciler.reconcile("team-a", "web", silentLogger, trigger);
  return {
    reconciler,
    journal,
    store,
    events,
    calls,
    observer,
    reconcile,
    /** The informer catches up with the API server, and tells of the version it now holds. */
    syncCache: () => {
      cache = store.current("web");
      if (cache) reconciler.delivered(cache, "update");
    },
  };
}

/** Queued by a change of the object, and by its own scheduled next pass. */
const CHANGED: Trigger = { changed: true, credentialsChanged: false };
const SCHEDULED: Trigger = { changed: false, credentialsChanged: false };

const detachAccepted = {
  phase: "Detaching" as const,
  operation: { action: DETACH, requestId: "req-d", time: secondsAgo(1), outcome: "Accepted" as const, attempts: 1 },
};

describe("the reconciler", () => {
  it("asks ECM at once after a change, and lets a scheduled look wait to share a Describe call", async () => {
    const s = setup(eniAttachment().build());
    s.observer.shows = attachedToUs;
    await s.reconcile(CHANGED);
    s.syncCache();
    await s.reconcile(SCHEDULED);
    expect(s.observer.urgencies).toEqual(["now", "soon"]);
  });

  it("adds the finalizer before anything else, then attaches a free interface and records the RequestId", async () => {
    const s = setup(eniAttachment().withoutFinalizer().build());
    s.observer.shows = unattached;
    s.calls.answers.push({ requestId: "req-1" });
    expect(await s.reconcile()).toEqual({ kind: "requeueAfter", ms: 300 });
    expect(s.journal.entries).toEqual([
      "addFinalizer",
      `describe ${ENI}`,
      `${ATTACH} ${ENI}`,
      "status Attaching",
      "event AttachRequested",
    ]);
    expect(s.store.current("web")?.status?.operation).toMatchObject({
      requestId: "req-1",
      action: ATTACH,
      outcome: "Accepted",
    });
  });

  it("knows the informer's delivery of its own finalizer add, and only that version, as already acted on", async () => {
    const s = setup(eniAttachment().withoutFinalizer().build());
    s.observer.shows = attachedToUs;
    const added: EniAttachment[] = [];
    const addFinalizer = s.store.addFinalizer.bind(s.store);
    s.store.addFinalizer = async (r) => {
      const result = await addFinalizer(r);
      added.push(result);
      return result;
    };
    await s.reconcile();
    const [own] = added;
    const after = s.store.current("web");
    if (!own || !after) throw new Error("no finalizer added");
    expect(s.reconciler.delivered(own, "update")).toBe(true);
    expect(s.reconciler.delivered(after, "update")).toBe(false);
    // Delivered once: the same version again, or a later one first, is news.
    expect(s.reconciler.delivered(own, "update")).toBe(false);
  });

  it("calls nothing and writes nothing new for a settled resource", async () => {
    const s = setup(eniAttachment().build());
    s.observer.shows = attachedToUs;
    await s.reconcile();
    s.syncCache();
    s.journal.entries.length = 0;
    expect(await s.reconcile()).toEqual({ kind: "requeueAfter", ms: 300_000 });
    expect(s.journal.entries).toEqual([`describe ${ENI}`, "release team-a/web"]);
  });

  it("lets a deleted resource go once Describe shows it detached, writing only the RequestId and the finalizer", async () => {
    const s = setup(eniAttachment().build());
    s.observer.shows = attachedToUs;
    await s.reconcile();
    s.syncCache();
    const deleted = s.store.current("web");
    if (!deleted) throw new Error("no resource");
    deleted.metadata.deletionTimestamp = NOW;
    s.store.put(deleted);
    s.syncCache();
    s.journal.entries.length = 0;
    s.calls.answers.push({ requestId: "req-d" });
    expect(await s.reconcile()).toEqual({ kind: "requeueAfter", ms: 300 });
    // The informer showed the operator's last write before the deletion: the cache is trusted.
    expect(s.journal.entries).toEqual([
      `describe ${ENI}`,
      `${DETACH} ${ENI}`,
      "status Detaching",
      "event DetachRequested",
    ]);
    expect(s.store.current("web")?.status?.operation?.requestId).toBe("req-d");

    s.syncCache();
    s.journal.entries.length = 0;
    s.observer.shows = { found: true, state: "DETACHING", attachedInstanceId: INSTANCE };
    expect(await s.reconcile()).toEqual({ kind: "requeueAfter", ms: 300 });
    // ECM on its way to the result the status already waits for: nothing to write.
    expect(s.journal.entries).toEqual([`describe ${ENI}`, "release team-a/web"]);

    s.journal.entries.length = 0;
    s.observer.shows = unattached;
    expect(await s.reconcile()).toEqual({ kind: "waitForChange" });
    expect(s.journal.entries).toEqual([`describe ${ENI}`, "release team-a/web", "event Detached", "removeFinalizer"]);
    expect(s.events.recorded.at(-1)?.message).toContain("req-d");
    expect(s.store.current("web")).toBeUndefined();
  });

  it("as the last user of its credentials Secret, writes its settled status and releases the Secret before letting go", async () => {
    const deleted = eniAttachment().deleting().credentials("tenant").withStatus(detachAccepted).build();
    const lastOf =
      (last: boolean): NonNullable<ReconcilerDeps["lastUse"]> =>
      async (_resource, persist, letGo) => {
        if (last && !(await persist())) return false;
        if (last) s.journal.note("release Secret team-a/tenant");
        await letGo();
        return true;
      };
    let s = setup(deleted, undefined, lastOf(true));
    s.observer.shows = unattached;
    expect(await s.reconcile()).toEqual({ kind: "waitForChange" });
    expect(s.journal.entries).toEqual([
      `describe ${ENI}`,
      "release team-a/web",
      "event Detached",
      "status Detached",
      "release Secret team-a/tenant",
      "removeFinalizer",
    ]);

    // Another resource still needs the Secret: nothing is written before the finalizer goes.
    s = setup(deleted, undefined, lastOf(false));
    s.observer.shows = unattached;
    await s.reconcile();
    expect(s.journal.entries).toEqual([`describe ${ENI}`, "release team-a/web", "event Detached", "removeFinalizer"]);
  });

  it("writes the settled status after letting go when another finalizer keeps the object", async () => {
    const kept = eniAttachment().deleting().withStatus(detachAccepted).build();
    kept.metadata.finalizers = [...(kept.metadata.finalizers ?? []), "example.com/keep"];
    const s = setup(kept);
    s.observer.shows = unattached;
    expect(await s.reconcile()).toEqual({ kind: "waitForChange" });
    expect(s.journal.entries).toEqual([
      `describe ${ENI}`,
      "release team-a/web",
      "event Detached",
      "removeFinalizer",
      "status Detached",
    ]);
    expect(s.store.current("web")).toMatchObject({
      metadata: { finalizers: ["example.com/keep"] },
      status: { phase: "Detached", operation: { requestId: "req-d", outcome: "Confirmed" } },
    });
  });

  it("lets an Orphan resource go without observing or calling ECM", async () => {
    const s = setup(eniAttachment().orphan().deleting().build());
    expect(await s.reconcile()).toEqual({ kind: "waitForChange" });
    expect(s.journal.entries).toEqual(["release team-a/web", "event Orphaned", "removeFinalizer"]);
  });

  it("gives the worker back when the ECM turn is far, writing nothing", async () => {
    const s = setup(eniAttachment().detached().build());
    s.observer.shows = attachedToUs;
    s.calls.answers.push({ comeBackMs: 1200 });
    expect(await s.reconcile()).toEqual({ kind: "requeueAfter", ms: 1200 });
    expect(s.journal.entries).toEqual([`describe ${ENI}`, `${DETACH} later`]);
  });

  it("records a failed call's code in status and a Warning event", async () => {
    const s = setup(eniAttachment().detached().build());
    s.observer.shows = attachedToUs;
    s.calls.answers.push({ code: "InternalError" });
    expect(await s.reconcile()).toEqual({ kind: "requeueAfter", ms: 5000 });
    expect(s.journal.entries).toEqual([
      `describe ${ENI}`,
      `${DETACH} ${ENI}`,
      "status Detaching",
      "event DetachFailed",
    ]);
    expect(s.store.current("web")?.status?.operation).toMatchObject({
      errorCode: "InternalError",
      requestId: "req-failed",
      outcome: "Failed",
    });
  });

  it("backs off in the queue when Describe fails, calling nothing", async () => {
    const s = setup(eniAttachment().detached().build());
    s.observer.shows = { code: "InternalError" };
    expect(await s.reconcile()).toEqual({ kind: "backoff", errorClass: "ServiceFault" });
    expect(s.journal.entries).toEqual([
      `describe ${ENI}`,
      "release team-a/web",
      "status Pending",
      "event DetachFailed",
    ]);
  });

  it("on a status conflict re-reads and decides again, never writing a status computed from the old object", async () => {
    const s = setup(eniAttachment().detached().build());
    s.observer.shows = attachedToUs;
    s.calls.answers.push({ requestId: "req-1" });
    // Someone changes deletionPolicy meanwhile: the status written must come from the object they wrote.
    s.store.concurrentWrites.push((r) => {
      r.spec.deletionPolicy = "Orphan";
      r.metadata.generation = 2;
    });
    await s.reconcile();
    expect(s.journal.entries).toEqual([
      `describe ${ENI}`,
      `${DETACH} ${ENI}`,
      "status Detaching (conflict)",
      "get web",
      "status Detaching",
      "event DetachRequested",
    ]);
    const written = s.store.current("web");
    expect(written?.spec.deletionPolicy).toBe("Orphan");
    expect(written?.status).toMatchObject({ operation: { requestId: "req-1" }, observedGeneration: 2 });
  });

  it("records an accepted call whose status write keeps conflicting: one call, its RequestId in an event now and in status at the next pass", async () => {
    const s = setup(eniAttachment().detached().build());
    s.observer.shows = attachedToUs;
    s.calls.answers.push({ requestId: "req-1" });
    // Every attempt of this pass loses to another writer.
    for (let i = 0; i < 3; i += 1) s.store.concurrentWrites.push((r) => (r.metadata.labels = { touched: String(i) }));
    expect(await s.reconcile()).toEqual({ kind: "requeueAfter", ms: 0 });
    expect(s.journal.entries).toEqual([
      `describe ${ENI}`,
      `${DETACH} ${ENI}`,
      "status Detaching (conflict)",
      "get web",
      "status Detaching (conflict)",
      "get web",
      "status Detaching (conflict)",
      "event DetachRequested",
    ]);
    expect(s.events.recorded.at(-1)?.message).toContain("req-1");
    expect(s.store.current("web")?.status?.operation).toBeUndefined();

    // Describe does not show the detach yet: the next pass writes the record and calls nothing.
    s.syncCache();
    s.journal.entries.length = 0;
    expect(await s.reconcile(SCHEDULED)).toEqual({ kind: "requeueAfter", ms: 300 });
    // (The cache moved past the version last read without showing it: one read from the API server.)
    expect(s.journal.entries).toEqual(["get web", `describe ${ENI}`, "release team-a/web", "status Detaching"]);
    expect(s.store.current("web")?.status?.operation).toMatchObject({
      action: DETACH,
      requestId: "req-1",
      outcome: "Accepted",
      time: NOW.toISOString(),
    });
    expect(s.calls.answers).toEqual([]);
  });

  it("records an accepted call whose status write throws: its event goes out, the next pass writes it without calling again", async () => {
    const s = setup(eniAttachment().detached().build());
    s.observer.shows = attachedToUs;
    s.calls.answers.push({ requestId: "req-1" });
    s.store.failingWrites.push(new Error("API server unavailable"));
    await expect(s.reconcile()).rejects.toThrow("API server unavailable");
    expect(s.journal.entries).toEqual([
      `describe ${ENI}`,
      `${DETACH} ${ENI}`,
      "status (failed)",
      "event DetachRequested",
    ]);
    expect(s.events.recorded.at(-1)?.message).toContain("req-1");

    s.journal.entries.length = 0;
    await s.reconcile(SCHEDULED);
    expect(s.journal.entries).toEqual([`describe ${ENI}`, "release team-a/web", "status Detaching"]);
    expect(s.store.current("web")?.status?.operation?.requestId).toBe("req-1");
  });

  it("forgets an unwritten call when its resource is gone", async () => {
    const s = setup(eniAttachment().detached().build());
    s.observer.shows = attachedToUs;
    s.calls.answers.push({ requestId: "req-1" });
    s.store.failingWrites.push(new Error("API server unavailable"));
    await expect(s.reconcile()).rejects.toThrow();
    s.store.remove("web");
    s.syncCache();
    await s.reconcile();
    // Created again under the same name: a new resource, whose first pass calls ECM afresh.
    s.store.put(eniAttachment().detached().build());
    s.syncCache();
    s.calls.answers.push({ requestId: "req-2" });
    s.journal.entries.length = 0;
    await s.reconcile();
    expect(s.journal.entries).toEqual([
      `describe ${ENI}`,
      `${DETACH} ${ENI}`,
      "status Detaching",
      "event DetachRequested",
    ]);
  });

  it("reads from the API server while the cache has not caught up with its own write", async () => {
    const s = setup(eniAttachment().detached().build());
    s.observer.shows = attachedToUs;
    s.calls.answers.push({ requestId: "req-1" });
    await s.reconcile();
    s.journal.entries.length = 0;
    // The cache still holds the object from before the status write: the accepted call is not repeated.
    await s.reconcile();
    // The status written after the call already holds what this pass sees: nothing to write.
    expect(s.journal.entries).toEqual(["get web", `describe ${ENI}`, "release team-a/web"]);
    expect(s.calls.answers).toEqual([]);
  });

  it("forgets a resource that is gone", async () => {
    const s = setup(eniAttachment().build());
    s.store.concurrentWrites.length = 0;
    const gone = new Reconciler({
      resources: s.store,
      events: s.events,
      calls: s.calls,
      observer: s.observer,
      credentialsFor: () => credentials,
      cached: () => undefined,
    });
    expect(await gone.reconcile("team-a", "missing", silentLogger, CHANGED)).toEqual({ kind: "waitForChange" });
    expect(s.journal.entries).toEqual(["get missing", "release team-a/missing"]);
  });
});

describe("the reconciler, for a resource whose ENI an older resource owns", () => {
  const owner = eniAttachment().named("team-b", "first").createdSecondsAgo(600).build();

  it("makes no ECM call, not even a Describe, and says once who owns the ENI", async () => {
    const s = setup(eniAttachment().detached().withoutFinalizer().createdSecondsAgo(60).build(), owner);
    expect(await s.reconcile()).toEqual({ kind: "waitForChange" });
    s.syncCache();
    await s.reconcile(SCHEDULED);
    expect(s.journal.entries).toEqual([
      "release team-a/web",
      "status Pending",
      "event DuplicateClaim",
      "release team-a/web",
    ]);
    const ready = s.store.current("web")?.status?.conditions?.find((c) => c.type === "Ready");
    expect(ready).toMatchObject({ status: "False", reason: "DuplicateClaim" });
    expect(ready?.message).toContain("EniAttachment team-b/first");
  });

  it("lets a deleted one go at once without a call", async () => {
    const s = setup(eniAttachment().deleting().createdSecondsAgo(60).build(), owner);
    expect(await s.reconcile()).toEqual({ kind: "waitForChange" });
    expect(s.journal.entries).toEqual(["release team-a/web", "removeFinalizer"]);
  });

  it("reconciles as usual once it is the owner", async () => {
    const self = eniAttachment().build();
    const s = setup(self, self);
    s.observer.shows = attachedToUs;
    await s.reconcile();
    expect(s.journal.entries[0]).toBe(`describe ${ENI}`);
  });
});
