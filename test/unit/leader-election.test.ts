import { ApiException } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LeaderElector, type Lease, type LeaseApi } from "../../src/kube/leader-election.ts";
import { DEFAULT_TIMINGS } from "../../src/kube/lease-timings.ts";
import { silentLogger } from "./fakes.ts";

const options = {
  ...DEFAULT_TIMINGS,
  namespace: "ns",
  name: "lease",
  logger: silentLogger,
  onStartedLeading: () => undefined,
  onStoppedLeading: () => undefined,
};

/** One Lease kept as the API server keeps it: resourceVersion-guarded replaces, 404 when absent. */
class FakeLeases implements LeaseApi {
  lease: Lease | undefined;
  failing = false;
  private version = 0;

  read(): Promise<Lease> {
    if (this.failing) return Promise.reject(new Error("connection refused"));
    if (!this.lease) return Promise.reject(new ApiException(404, "not found", {}, {}));
    return Promise.resolve(structuredClone(this.lease));
  }
  create(_ref: unknown, body: Lease): Promise<Lease> {
    if (this.lease) return Promise.reject(new ApiException(409, "exists", {}, {}));
    return Promise.resolve(this.store(body));
  }
  replace(_ref: unknown, body: Lease): Promise<Lease> {
    if (this.failing) return Promise.reject(new Error("connection refused"));
    if (body.metadata.resourceVersion !== this.lease?.metadata.resourceVersion) {
      return Promise.reject(new ApiException(409, "conflict", {}, {}));
    }
    return Promise.resolve(this.store(body));
  }
  /** Another replica renews the lease under its name. */
  heldBy(holder: string): void {
    this.store({
      metadata: { name: "lease", namespace: "ns", resourceVersion: this.lease?.metadata.resourceVersion ?? "" },
      spec: { holderIdentity: holder, leaseDurationSeconds: 15, renewTime: new Date(Date.now()).toISOString() },
    });
  }
  private store(body: Lease): Lease {
    this.version += 1;
    const stored = structuredClone(body);
    stored.metadata = { name: "lease", namespace: "ns", resourceVersion: String(this.version) };
    this.lease = stored;
    return structuredClone(stored);
  }
}

describe("leader election", () => {
  it("refuses timings that could let two replicas lead, or hide a lost lease", () => {
    expect(() => new LeaderElector(new FakeLeases(), { ...options, leaseDurationMs: 10_000 })).toThrow(/leaseDuration/);
    expect(() => new LeaderElector(new FakeLeases(), { ...options, retryPeriodMs: 9_000 })).toThrow(/renewDeadline/);
    expect(() => new LeaderElector(new FakeLeases(), { ...options, requestTimeoutMs: 10_000 })).toThrow(
      /requestTimeout/,
    );
  });

  it("holds no lease before it has won one", () => {
    expect(new LeaderElector(new FakeLeases(), options).holdsLease).toBe(false);
  });

  describe("on a monotonic clock", () => {
    // The elector's clock is this counter: timers fire as it moves, and a frozen process is the
    // counter moving with no timer run. The wall clock (Date) is faked apart from it, to be stepped.
    let mono = 0;
    const clock = () => mono;
    const advance = async (ms: number) => {
      for (let left = ms; left > 0; left -= 100) {
        mono += Math.min(100, left);
        await vi.advanceTimersByTimeAsync(Math.min(100, left));
      }
    };
    beforeEach(() => {
      mono = 1_000_000;
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    function elector(leases: FakeLeases, takeOver = false) {
      const events: string[] = [];
      const le = new LeaderElector(leases, {
        ...options,
        takeOver,
        clock,
        onStartedLeading: () => events.push("started"),
        onStoppedLeading: () => events.push("stopped"),
      });
      return { le, events };
    }

    it("takes a free lease, renews it every retry period and holds it while renewals succeed", async () => {
      const leases = new FakeLeases();
      const { le, events } = elector(leases);
      le.start();
      await advance(100);
      expect(le.holdsLease).toBe(true);
      expect(leases.lease?.spec?.holderIdentity).toBe(le.identity);
      const first = leases.lease?.metadata.resourceVersion;
      await advance(60_000);
      expect(Number(leases.lease?.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(first) + 25);
      expect(le.holdsLease).toBe(true);
      expect(events).toEqual(["started"]);
      await le.stop();
    });

    it("stops holding the lease at the renew deadline, even frozen with no timer run", async () => {
      const { le } = elector(new FakeLeases());
      le.start();
      await advance(100);
      expect(le.holdsLease).toBe(true);
      mono += DEFAULT_TIMINGS.renewDeadlineMs - 200;
      expect(le.holdsLease).toBe(true);
      mono += 200;
      expect(le.holdsLease).toBe(false);
      await le.stop();
    });

    it("gives leadership up once when renewals keep failing past the renew deadline", async () => {
      const leases = new FakeLeases();
      const { le, events } = elector(leases);
      le.start();
      await advance(100);
      leases.failing = true;
      await advance(DEFAULT_TIMINGS.renewDeadlineMs - 2_100);
      expect(events).toEqual(["started"]);
      await advance(DEFAULT_TIMINGS.retryPeriodMs * 2);
      expect(events).toEqual(["started", "stopped"]);
      expect(le.holdsLease).toBe(false);
      await advance(60_000);
      expect(events).toEqual(["started", "stopped"]);
    });

    it("gives leadership up at once when another replica holds the lease", async () => {
      const leases = new FakeLeases();
      const { le, events } = elector(leases);
      le.start();
      await advance(100);
      leases.heldBy("other");
      await advance(DEFAULT_TIMINGS.retryPeriodMs + 100);
      expect(events).toEqual(["started", "stopped"]);
      expect(le.holdsLease).toBe(false);
    });

    it("takes another holder's lease only a lease duration after it last saw it renewed", async () => {
      const leases = new FakeLeases();
      leases.heldBy("other");
      const { le, events } = elector(leases);
      le.start();
      await advance(DEFAULT_TIMINGS.leaseDurationMs - 500);
      expect(events).toEqual([]);
      await advance(DEFAULT_TIMINGS.retryPeriodMs * 2);
      expect(events).toEqual(["started"]);
      expect(leases.lease?.spec?.holderIdentity).toBe(le.identity);
      await le.stop();
    });

    it("keeps its deadlines when the wall clock is stepped back or forward", async () => {
      const leases = new FakeLeases();
      const { le } = elector(leases);
      le.start();
      await advance(100);
      leases.failing = true;
      // Stepped back an hour: the fence still closes at the renew deadline.
      vi.setSystemTime(Date.now() - 3_600_000);
      mono += DEFAULT_TIMINGS.renewDeadlineMs;
      expect(le.holdsLease).toBe(false);

      // Stepped forward an hour: a follower does not take a lease its holder keeps renewing.
      const held = new FakeLeases();
      held.heldBy("other");
      const follower = elector(held);
      follower.le.start();
      await advance(1_000);
      vi.setSystemTime(Date.now() + 3_600_000);
      for (let i = 0; i < 10; i += 1) {
        held.heldBy("other");
        await advance(DEFAULT_TIMINGS.retryPeriodMs * 1.2);
      }
      expect(follower.events).toEqual([]);
      expect(held.lease?.spec?.holderIdentity).toBe("other");
      await follower.le.stop();
    });

    it("taking over a live lease, holds it only once the previous holder's fence has closed for sure", async () => {
      const leases = new FakeLeases();
      leases.heldBy("other");
      const { le, events } = elector(leases, true);
      le.start();
      await advance(100);
      expect(events).toEqual(["started"]);
      expect(leases.lease?.spec?.holderIdentity).toBe(le.identity);
      expect(le.holdsLease).toBe(false);
      await advance(DEFAULT_TIMINGS.leaseDurationMs - 200);
      expect(le.holdsLease).toBe(false);
      await advance(200);
      expect(le.holdsLease).toBe(true);
      await le.stop();
    });
  });
});
