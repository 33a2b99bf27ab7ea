import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { Type, type Static } from "typebox";
import { monotonic, type Clock } from "../api/clock.ts";
import { decode } from "../api/decode.ts";
import type { Logger } from "../observability/logger.ts";
import type { KubeApi } from "./api-client.ts";
import { isConflict, isNotFound } from "./api-errors.ts";

export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  /** Each Lease request is abandoned after this long, well inside the renew deadline. */
  readonly requestTimeoutMs: number;
  readonly onStartedLeading: () => void;
  /** Called once when leadership is lost: all reconciling must stop at once. */
  readonly onStoppedLeading: () => void;
  readonly onLeaderChange?: (isLeader: boolean) => void;
  readonly logger: Logger;
  /** Measures the lease's deadlines; monotonic, so a stepped wall clock moves none of them. */
  readonly clock?: Clock;
  /**
   * Takes the lease even from a live holder (`eni-operator uninstall`): the holder's next renewal
   * finds it gone and it stops at once. `holdsLease` then waits one leaseDuration, by when the
   * holder's own fence has closed for sure (it is open only within renewDeadline of its last renewal).
   */
  readonly takeOver?: boolean;
}

/**
 * What the elector reads and writes of a Lease. The whole object read is written back (a replace), so
 * fields it does not know are kept: the schema lets them through.
 */
const LeaseSchema = Type.Object({
  metadata: Type.Object({
    name: Type.Optional(Type.String()),
    namespace: Type.Optional(Type.String()),
    resourceVersion: Type.Optional(Type.String()),
  }),
  spec: Type.Optional(
    Type.Object({
      holderIdentity: Type.Optional(Type.String()),
      leaseDurationSeconds: Type.Optional(Type.Number()),
      acquireTime: Type.Optional(Type.String()),
      renewTime: Type.Optional(Type.String()),
      leaseTransitions: Type.Optional(Type.Number()),
    }),
  ),
});
export type Lease = Static<typeof LeaseSchema>;

/** A name, a namespace, and the bound on one request's time. */
interface LeaseRef {
  readonly name: string;
  readonly namespace: string;
  readonly timeoutMs: number;
}

/** The Lease requests the elector makes. */
export interface LeaseApi {
  read(ref: LeaseRef): Promise<Lease>;
  create(ref: LeaseRef, lease: Lease): Promise<unknown>;
  replace(ref: LeaseRef, lease: Lease): Promise<unknown>;
}

const leasePath = ({ namespace, name }: { namespace: string; name?: string }): string =>
  `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases${name === undefined ? "" : `/${encodeURIComponent(name)}`}`;

/** The Lease requests over the operator's API client. */
export function kubeLeases(api: KubeApi): LeaseApi {
  return {
    read: async (ref) =>
      decode(LeaseSchema, await api.request("GET", leasePath(ref), { timeoutMs: ref.timeoutMs }), "Lease"),
    create: (ref, lease) =>
      api.request("POST", leasePath({ namespace: ref.namespace }), { body: lease, timeoutMs: ref.timeoutMs }),
    replace: (ref, lease) => api.request("PUT", leasePath(ref), { body: lease, timeoutMs: ref.timeoutMs }),
  };
}

/** A Lease's MicroTime: RFC 3339 with microseconds, as client-go writes it. */
function microTime(date: Date): string {
  return date.toISOString().replace("Z", "000Z");
}

const JITTER_FACTOR = 1.2;

type Outcome = "acquired" | "heldByOther" | "failed";

/**
 * Lease-based leader election (coordination.k8s.io/v1), after client-go's LeaderElector. Another
 * holder's lease counts as expired only after leaseDuration has passed on our own monotonic clock since we saw
 * it renewed, so clock skew between replicas cannot cause two leaders. `holdsLease` is the fence for
 * all other work: true only within renewDeadline of the start of the last successful renewal, so it
 * turns false on time even when the process was frozen and no timer has run since; another replica
 * can take over no earlier than leaseDuration after that renewal.
 */
export class LeaderElector {
  readonly identity = `${hostname()}_${randomUUID()}`;
  private readonly api: LeaseApi;
  private readonly options: LeaderElectionOptions;
  private readonly clock: Clock;
  private observed: { renewTime: string; holder: string; at: number } | undefined;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenew = 0;
  /** After a take-over from a live holder: the fence stays closed until then. */
  private fencedUntil = 0;

  constructor(api: LeaseApi, options: LeaderElectionOptions) {
    const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = options;
    if (leaseDurationMs <= renewDeadlineMs) throw new Error("leaseDuration must be greater than renewDeadline");
    if (renewDeadlineMs <= JITTER_FACTOR * retryPeriodMs) {
      throw new Error(`renewDeadline must be greater than retryPeriod*${JITTER_FACTOR}`);
    }
    if (!(options.requestTimeoutMs > 0 && options.requestTimeoutMs < renewDeadlineMs)) {
      throw new Error("requestTimeout must be positive and less than renewDeadline");
    }
    if (retryPeriodMs < 1 || !options.name || !options.namespace) {
      throw new Error("leader election needs a positive retryPeriod, a lease name and a namespace");
    }
    this.api = api;
    this.options = options;
    this.clock = options.clock ?? monotonic;
  }

  start(): void {
    this.schedule(0);
  }

  /** Leading, with a renewal recent enough that no other replica can have taken the lease. */
  get holdsLease(): boolean {
    const now = this.clock();
    return this.leading && now - this.lastRenew < this.options.renewDeadlineMs && now >= this.fencedUntil;
  }

  /** Stops trying; a leader gives the lease up so that another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.setLeading(false);
    try {
      const lease = await this.api.read(this.ref());
      if (lease.spec?.holderIdentity !== this.identity) return;
      lease.spec.holderIdentity = "";
      lease.spec.leaseDurationSeconds = 1;
      await this.api.replace(this.ref(), lease);
    } catch (err) {
      this.options.logger.warn({ err }, "could not release the leader lease");
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    const jittered = this.leading ? ms : ms * (1 + Math.random() * (JITTER_FACTOR - 1));
    this.timer = setTimeout(() => void this.tick(), jittered);
  }

  private async tick(): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs, logger } = this.options;
    let outcome: Outcome = "failed";
    const startedAt = this.clock();
    try {
      outcome = await this.tryAcquireOrRenew();
    } catch (err) {
      logger.warn({ err }, "leader election attempt failed");
    }
    if (this.stopped) return;
    // Another holder on a lease we led means it is lost now, not at the renew deadline.
    const lost = this.leading && (outcome === "heldByOther" || this.clock() - this.lastRenew > renewDeadlineMs);
    if (outcome === "acquired") {
      // The request's start: the lease's renewTime is no earlier than that.
      this.lastRenew = startedAt;
      if (!this.leading) {
        this.setLeading(true);
        logger.info({ identity: this.identity }, "became leader");
        this.options.onStartedLeading();
      }
    } else if (lost) {
      this.setLeading(false);
      this.stopped = true;
      logger.error({ identity: this.identity }, "leader lease lost");
      this.options.onStoppedLeading();
      return;
    }
    this.schedule(retryPeriodMs);
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.options.onLeaderChange?.(leading);
  }

  private async tryAcquireOrRenew(): Promise<Outcome> {
    const { namespace, name, leaseDurationMs } = this.options;
    const now = microTime(new Date());
    const durationSeconds = Math.ceil(leaseDurationMs / 1000);
    let lease: Lease;
    try {
      lease = await this.api.read(this.ref());
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const body: Lease = {
        metadata: { name, namespace },
        spec: {
          holderIdentity: this.identity,
          leaseDurationSeconds: durationSeconds,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: 0,
        },
      };
      return this.write(() => this.api.create(this.ref(), body));
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const renewTime = spec.renewTime ?? "";
    if (!this.observed || this.observed.renewTime !== renewTime || this.observed.holder !== holder) {
      this.observed = { renewTime, holder, at: this.clock() };
    }
    const heldByOther = holder !== "" && holder !== this.identity;
    const expired = this.clock() > this.observed.at + (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (heldByOther && !expired && !this.options.takeOver) return "heldByOther";
    if (heldByOther && !expired) this.fencedUntil = this.clock() + leaseDurationMs;
    const renewing = holder === this.identity;
    spec.holderIdentity = this.identity;
    spec.leaseDurationSeconds = durationSeconds;
    spec.renewTime = now;
    spec.acquireTime = renewing ? (spec.acquireTime ?? now) : now;
    spec.leaseTransitions = (spec.leaseTransitions ?? 0) + (renewing ? 0 : 1);
    lease.spec = spec;
    return this.write(() => this.api.replace(this.ref(), lease));
  }

  /** The Lease, and each request abandoned after requestTimeoutMs. */
  private ref(): LeaseRef {
    const { name, namespace, requestTimeoutMs } = this.options;
    return { name, namespace, timeoutMs: requestTimeoutMs };
  }

  private async write(request: () => Promise<unknown>): Promise<Outcome> {
    try {
      await request();
      return "acquired";
    } catch (err) {
      if (isConflict(err)) return "failed";
      throw err;
    }
  }
}
