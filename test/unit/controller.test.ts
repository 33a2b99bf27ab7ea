import type { Secret } from "../../src/kube/secrets.ts";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { EniAttachment } from "../../src/api/eniattachment.ts";
import { Controller, type Informer, type KeyReconciler } from "../../src/controller/controller.ts";
import type { Next, Trigger } from "../../src/controller/decision.ts";
import type { ChangeHandler, ChangeKind } from "../../src/kube/informer.ts";
import { pino } from "pino";
import { DecodeError } from "../../src/api/decode.ts";
import { FencedOffError } from "../../src/api/fence.ts";
import { EcmError } from "../../src/ecm/errors.ts";
import { Metrics } from "../../src/observability/metrics.ts";
import { eniAttachment } from "./fixtures.ts";

class FakeInformer<T extends { metadata?: { name?: string; namespace?: string } }> implements Informer<T> {
  private readonly objects = new Map<string, T>();
  private readonly handlers: ChangeHandler<T>[] = [];
  readonly synced = true;
  onChange(handler: ChangeHandler<T>): void {
    this.handlers.push(handler);
  }
  start(): Promise<void> {
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  list(): readonly T[] {
    return [...this.objects.values()];
  }
  get(name: string, namespace?: string): T | undefined {
    return this.objects.get(`${namespace ?? ""}/${name}`);
  }
  emit(object: T, kind: ChangeKind): void {
    const key = `${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;
    if (kind === "delete") this.objects.delete(key);
    else this.objects.set(key, object);
    for (const handler of this.handlers) handler(object, kind);
  }
}

/** Records each reconcile; answers with `next`, after `gate` resolves when one is set. */
class FakeReconciler implements KeyReconciler {
  readonly runs: ({ key: string } & Trigger)[] = [];
  readonly deliveries: string[] = [];
  next: Next = { kind: "waitForChange" };
  gate: Promise<void> | undefined;
  /** Thrown by every reconcile when set. */
  failure: Error | undefined;
  async reconcile(namespace: string, name: string, _log: unknown, trigger: Trigger): Promise<Next> {
    this.runs.push({ key: `${namespace}/${name}`, ...trigger });
    if (this.gate) await this.gate;
    if (this.failure !== undefined) throw this.failure;
    return this.next;
  }
  /** resourceVersions to answer as own writes already acted on. */
  readonly ownWrites = new Set<string>();
  delivered(resource: EniAttachment, kind: ChangeKind): boolean {
    this.deliveries.push(`${kind} ${resource.metadata.name ?? ""} ${resource.metadata.resourceVersion ?? ""}`);
    return this.ownWrites.has(resource.metadata.resourceVersion ?? "");
  }
}

function resource(name: string, change: (r: EniAttachment) => void = () => undefined): EniAttachment {
  const r = eniAttachment().build();
  r.metadata.name = name;
  change(r);
  return r;
}

function setup(workers = 1) {
  const resources = new FakeInformer<EniAttachment>();
  const secrets = new FakeInformer<Secret>();
  const reconciler = new FakeReconciler();
  const metrics = new Metrics();
  const logs: { level: number; msg: string }[] = [];
  const logger = pino(
    { level: "debug" },
    { write: (line: string) => logs.push(JSON.parse(line) as { level: number; msg: string }) },
  );
  const controller = new Controller({
    informers: [resources],
    secrets: [secrets],
    reconciler,
    workers,
    fullResyncMs: 600_000,
    logger,
    metrics,
  });
  return { resources, secrets, reconciler, controller, metrics, logs };
}

async function total(metric: Metrics["reconcileErrors"] | Metrics["decodeErrors"]): Promise<number> {
  return (await metric.get()).values.reduce((sum, { value }) => sum + value, 0);
}

/** The run times (fake clock, ms from the first) of a key failing over `ms`. */
async function runTimes(s: ReturnType<typeof setup>, ms: number): Promise<number[]> {
  s.controller.startWorkers();
  s.resources.emit(resource("a"), "add");
  const times: number[] = [];
  const t0 = Date.now();
  for (let at = 0; at <= ms; at += 100) {
    const before = s.reconciler.runs.length;
    await vi.advanceTimersByTimeAsync(at === 0 ? 0 : 100);
    for (let i = before; i < s.reconciler.runs.length; i += 1) times.push(Date.now() - t0);
  }
  return times;
}

async function queueAdds(metrics: Metrics): Promise<number> {
  return (await metrics.queueAdds.get()).values.reduce((sum, { value }) => sum + value, 0);
}

describe("the controller", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("merges repeated events for one key into one reconcile", async () => {
    const s = setup();
    const r = resource("a");
    s.resources.emit(r, "add");
    s.resources.emit(
      resource("a", (x) => (x.metadata.generation = 2)),
      "update",
    );
    s.resources.emit(
      resource("a", (x) => (x.metadata.generation = 3)),
      "update",
    );
    s.controller.startWorkers();
    await vi.advanceTimersByTimeAsync(0);
    expect(s.reconciler.runs.map((run) => run.key)).toEqual(["team-a/a"]);
    await s.controller.stop(0);
  });

  it("ignores updates that change only the status (the operator's own writes)", async () => {
    const s = setup();
    s.resources.emit(resource("a"), "add");
    s.controller.startWorkers();
    await vi.advanceTimersByTimeAsync(0);
    s.resources.emit(
      resource("a", (x) => (x.status = { phase: "Attached" })),
      "update",
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(s.reconciler.runs).toHaveLength(1);
    await s.controller.stop(0);
  });

  it("runs no pass for the operator's own finalizer add, which its pass carried on from, but does for a finalizer change by anyone else", async () => {
    const s = setup();
    const bare = resource("a", (x) => (x.metadata.finalizers = []));
    s.resources.emit(bare, "add");
    s.controller.startWorkers();
    await vi.advanceTimersByTimeAsync(0);
    s.reconciler.ownWrites.add("own-add");
    s.resources.emit(
      resource("a", (x) => (x.metadata.resourceVersion = "own-add")),
      "update",
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(s.reconciler.runs).toHaveLength(1);
    s.resources.emit(
      resource("a", (x) => {
        x.metadata.resourceVersion = "theirs";
        x.metadata.finalizers = [...(x.metadata.finalizers ?? []), "example.com/keep"];
      }),
      "update",
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(s.reconciler.runs).toHaveLength(2);
    await s.controller.stop(0);
  });

  it("reconciles again when one of the operator's annotations changes (pause, reconcile request, sync period)", async () => {
    const s = setup();
    s.resources.emit(resource("a"), "add");
    s.controller.startWorkers();
    await vi.advanceTimersByTimeAsync(0);
    s.resources.emit(
      resource("a", (x) => (x.metadata.annotations = { "ecm.eni-operator.io/reconcile-requested-at": "now" })),
      "update",
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(s.reconciler.runs).toHaveLength(2);
    expect(s.reconciler.runs[1]?.changed).toBe(true);
    await s.controller.stop(0);
  });

  it("tells the reconciler of every change the informer caches, status-only ones and deletions too", () => {
    const s = setup();
    const at = (version: string) => (x: EniAttachment) => {
      x.metadata.resourceVersion = version;
    };
    s.resources.emit(resource("a", at("5")), "add");
    s.resources.emit(
      resource("a", (x) => {
        at("6")(x);
        x.status = { phase: "Attached" };
      }),
      "update",
    );
    s.resources.emit(resource("a", at("7")), "delete");
    expect(s.reconciler.deliveries).toEqual(["add a 5", "update a 6", "delete a 7"]);
  });

  it("serves deletions and detaches before routine work", async () => {
    const s = setup();
    s.resources.emit(resource("routine-1"), "add");
    s.resources.emit(resource("routine-2"), "add");
    s.resources.emit(
      resource("deleted", (x) => (x.metadata.deletionTimestamp = new Date())),
      "add",
    );
    s.resources.emit(
      resource("detach", (x) => (x.spec.desiredState = "Detached")),
      "add",
    );
    s.controller.startWorkers();
    await vi.advanceTimersByTimeAsync(0);
    expect(s.reconciler.runs.map((run) => run.key)).toEqual([
      "team-a/deleted",
      "team-a/detach",
      "team-a/routine-1",
      "team-a/routine-2",
    ]);
    await s.controller.stop(0);
  });

  it("never runs one key on two workers at once, and runs it again after an event during its reconcile", async () => {
    const s = setup(4);
    const { promise: gate, resolve: open } = Promise.withResolvers<undefined>();
    s.reconciler.gate = gate;
    s.resources.emit(resource("a"), "add");
    s.controller.startWorkers();
    await vi.advanceTimersByTimeAsync(0);
    s.resources.emit(
      resource("a", (x) => (x.metadata.generation = 2)),
      "update",
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(s.reconciler.runs).toHaveLength(1);
    s.reconciler.gate = undefined;
    open(undefined);
    await vi.advanceTimersByTimeAsync(0);
    expect(s.reconciler.runs).toHaveLength(2);
    await s.controller.stop(0);
  });

  it("follows each reconcile's next step: requeue after the delay it asks for", async () => {
    const s = setup();
    s.reconciler.next = { kind: "requeueAfter", ms: 5000 };
    s.controller.startWorkers();
    s.resources.emit(resource("a"), "add");
    await vi.advanceTimersByTimeAsync(4999);
    expect(s.reconciler.runs).toHaveLength(1);
    s.reconciler.next = { kind: "waitForChange" };
    await vi.advanceTimersByTimeAsync(1);
    expect(s.reconciler.runs).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(s.reconciler.runs).toHaveLength(2);
    // The change is urgent (ECM is asked at once); the scheduled pass after it is not.
    expect(s.reconciler.runs.map((run) => run.changed)).toEqual([true, false]);
    await s.controller.stop(0);
  });

  it("queues every key again at the full resync", async () => {
    const s = setup();
    s.resources.emit(resource("a"), "add");
    s.resources.emit(resource("b"), "add");
    s.controller.startWorkers();
    await vi.advanceTimersByTimeAsync(0);
    expect(s.reconciler.runs).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(s.reconciler.runs.map((run) => run.key)).toEqual(["team-a/a", "team-a/b", "team-a/a", "team-a/b"]);
    await s.controller.stop(0);
  });

  it("retries at once, flagged, the resources whose credentials Secret changed", async () => {
    const s = setup();
    s.resources.emit(
      resource("a", (x) => (x.spec.credentialsSecretRef = { name: "ecm" })),
      "add",
    );
    s.resources.emit(resource("b"), "add");
    s.controller.startWorkers();
    await vi.advanceTimersByTimeAsync(0);
    s.secrets.emit({ metadata: { name: "ecm", namespace: "team-a" } }, "update");
    await vi.advanceTimersByTimeAsync(0);
    expect(s.reconciler.runs.slice(2)).toEqual([{ key: "team-a/a", changed: false, credentialsChanged: true }]);
    await s.controller.stop(0);
  });

  it("backs a failing reconcile off exponentially", async () => {
    const s = setup();
    s.reconciler.next = { kind: "backoff", errorClass: "InTransition" };
    s.resources.emit(resource("a"), "add");
    s.controller.startWorkers();
    await vi.advanceTimersByTimeAsync(0);
    const times: number[] = [Date.now()];
    for (let i = 0; i < 3; i += 1) {
      const before = s.reconciler.runs.length;
      while (s.reconciler.runs.length === before) await vi.advanceTimersByTimeAsync(100);
      times.push(Date.now());
    }
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    expect(gaps[1]).toBeGreaterThan(gaps[0] ?? 0);
    expect(gaps[2]).toBeGreaterThan(gaps[1] ?? 0);
    await s.controller.stop(0);
  });

  it("holds nothing for the queue until it leads, then queues once what the cache holds", async () => {
    const s = setup();
    for (let i = 0; i < 10_000; i += 1) {
      const r = resource(`gone-${i}`);
      s.resources.emit(r, "add");
      s.resources.emit(r, "delete");
    }
    s.resources.emit(
      resource("kept", (x) => (x.spec.credentialsSecretRef = { name: "ecm" })),
      "add",
    );
    s.secrets.emit({ metadata: { name: "ecm", namespace: "team-a" } }, "update");
    await vi.advanceTimersByTimeAsync(0);
    expect(s.reconciler.runs).toEqual([]);
    expect(await queueAdds(s.metrics)).toBe(0);

    s.controller.startWorkers();
    await vi.advanceTimersByTimeAsync(0);
    expect(s.reconciler.runs).toEqual([{ key: "team-a/kept", changed: false, credentialsChanged: false }]);
    expect(await queueAdds(s.metrics)).toBe(1);
    // The promotion remembered what it queued: a status-only update of it does not queue it again.
    s.resources.emit(
      resource("kept", (x) => {
        x.spec.credentialsSecretRef = { name: "ecm" };
        x.status = { phase: "Attached" };
      }),
      "update",
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(s.reconciler.runs).toHaveLength(1);
    await s.controller.stop(0);
  });

  describe("each kind of failure by its own policy", () => {
    const warnings = (s: ReturnType<typeof setup>) => s.logs.filter((l) => l.level >= 40);

    it("a reconcile refused by the fence is no failure: not logged as one, looked at again without back-off", async () => {
      const s = setup();
      s.reconciler.failure = new FencedOffError("status write");
      const times = await runTimes(s, 9_000);
      expect(times).toEqual([0, 2_000, 4_000, 6_000, 8_000]);
      expect(await total(s.metrics.reconcileErrors)).toBe(0);
      expect(warnings(s)).toEqual([]);
      await s.controller.stop(0);
    });

    it("a resource that does not decode is skipped with one warning and a count, and not retried", async () => {
      const s = setup();
      s.reconciler.failure = new DecodeError("EniAttachment", "/spec/networkInterfaceId", "must match pattern");
      const times = await runTimes(s, 60_000);
      expect(times).toEqual([0]);
      expect((await s.metrics.decodeErrors.get()).values).toMatchObject([{ labels: { path: "get" }, value: 1 }]);
      expect(warnings(s).map((l) => l.msg)).toEqual(["EniAttachment does not match its schema; skipped"]);
      await s.controller.stop(0);
    });

    it("an ECM request refused as invalid is terminal: logged once, not retried until the object changes", async () => {
      const s = setup();
      s.reconciler.failure = new EcmError("AttachNetworkInterface", "InvalidParameterValue.Malformed", "bad", "req-1");
      expect(await runTimes(s, 60_000)).toEqual([0]);
      expect(await total(s.metrics.reconcileErrors)).toBe(1);
      s.reconciler.failure = undefined;
      s.resources.emit(
        resource("a", (x) => (x.metadata.generation = 2)),
        "update",
      );
      await vi.advanceTimersByTimeAsync(0);
      expect(s.reconciler.runs).toHaveLength(2);
      await s.controller.stop(0);
    });

    it("a Kubernetes API failure backs off from 200 ms, a throttled ECM call from 1 s", async () => {
      vi.spyOn(Math, "random").mockReturnValue(0.5);
      const api = setup();
      api.reconciler.failure = new Error("fetch failed");
      expect((await runTimes(api, 1_500)).slice(0, 4)).toEqual([0, 200, 600, 1_400]);
      await api.controller.stop(0);
      const ecm = setup();
      ecm.reconciler.failure = new EcmError("DetachNetworkInterface", "RequestLimitExceeded", "slow down", "req-2");
      expect(await runTimes(ecm, 3_500)).toEqual([0, 1_000, 3_000]);
      await ecm.controller.stop(0);
      vi.restoreAllMocks();
    });
  });
});
