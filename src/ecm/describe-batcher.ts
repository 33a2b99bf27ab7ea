import { DESCRIBE } from "./actions.ts";
import { accountOf, type CredentialSource, type EcmCredential } from "./credentials.ts";
import { NOT_FOUND, type EniObservation } from "./observation.ts";
import { DescribeResponseSchema, type DescribeResponse } from "./responses.ts";
import { tupleKey } from "../api/tuple-key.ts";

/** ECM answers at most 100 ids per DescribeNetworkInterfaces call. */
export const MAX_IDS_PER_DESCRIBE = 100;

/**
 * How soon an observation is wanted: "now" for a change a user just made (a deletion waits on it),
 * "soon" for a scheduled look (a confirmation poll), which may wait POLL_GATHER_MS to share a call.
 */
export type Urgency = "now" | "soon";

/** A scheduled look waits this long at most for others to share its Describe call. */
export const POLL_GATHER_MS = 250;

/** What an observer of one interface needs. Throws EcmError. */
export interface EniObserver {
  observe(
    region: string,
    networkInterfaceId: string,
    source: CredentialSource,
    urgency: Urgency,
  ): Promise<EniObservation>;
}

/** The part of the ECM client the batcher uses. */
export interface DescribeClient {
  credential(action: typeof DESCRIBE, source: CredentialSource): Promise<EcmCredential>;
  call(
    action: typeof DESCRIBE,
    params: Readonly<Record<string, unknown>>,
    credential: EcmCredential,
    schema: typeof DescribeResponseSchema,
  ): Promise<DescribeResponse>;
}

interface Waiter {
  resolve(observation: EniObservation): void;
  reject(error: unknown): void;
}

interface Batch {
  readonly region: string;
  credential: EcmCredential;
  readonly waiters: Map<string, Waiter[]>;
}

/** One (account, region): the calls in flight and the batch gathering behind them. */
interface Line {
  inFlight: number;
  gathering: Batch | undefined;
  /** Sends a batch of scheduled looks that no call in flight or urgent look will take along. */
  timer: NodeJS.Timeout | undefined;
}

/**
 * Coalesces the observations that many reconciles ask for into one DescribeNetworkInterfaces call per
 * account (the SecretId a credential resolves to) and region, up to 100 ids, so confirmation polls
 * cost a fraction of the Describe quota. An urgent observation never waits on a timer: with no call
 * in flight it is sent at once. Those that arrive while one is in flight (its limiter turn included)
 * gather into the next batch, sent once the calls in flight have returned and what they answered has
 * moved on, or as soon as it holds 100 ids. A scheduled look with nothing in flight waits
 * POLL_GATHER_MS at most for others: polls spread over time (one per detach, at the quota's pace)
 * would otherwise cost one call each.
 */
export class DescribeBatcher implements EniObserver {
  private readonly lines = new Map<string, Line>();
  private readonly client: DescribeClient;

  constructor(client: DescribeClient) {
    this.client = client;
  }

  async observe(
    region: string,
    networkInterfaceId: string,
    source: CredentialSource,
    urgency: Urgency,
  ): Promise<EniObservation> {
    const credential = await this.client.credential(DESCRIBE, source);
    const key = tupleKey(accountOf(credential), region);
    const line = this.lineOf(key);
    const batch = line.gathering ?? { region, credential, waiters: new Map() };
    // The newest read of the account's credential signs the batch (a rotated key, say).
    batch.credential = credential;
    line.gathering = batch;
    const answer = waitFor(batch, networkInterfaceId);
    if (batch.waiters.size >= MAX_IDS_PER_DESCRIBE || (line.inFlight === 0 && urgency === "now")) {
      this.sendGathered(key, line);
    } else if (line.inFlight === 0) {
      line.timer ??= setTimeout(() => {
        this.sendGathered(key, line);
      }, POLL_GATHER_MS);
    }
    return answer;
  }

  private lineOf(key: string): Line {
    let line = this.lines.get(key);
    if (!line) {
      line = { inFlight: 0, gathering: undefined, timer: undefined };
      this.lines.set(key, line);
    }
    return line;
  }

  private sendGathered(key: string, line: Line): void {
    clearTimeout(line.timer);
    line.timer = undefined;
    const batch = line.gathering;
    if (!batch) {
      if (line.inFlight === 0) this.lines.delete(key);
      return;
    }
    line.gathering = undefined;
    line.inFlight += 1;
    void this.send(batch).finally(() => {
      // The line stays busy until the answered reconciles have moved on to their next keys, whose
      // observations then join the next batch, and until the other call in flight (a full batch sent
      // beside it) returns too. Otherwise the next batch holds only what came during the flight, an
      // urgent observation in between goes alone, and the workers split into groups taking turns.
      setImmediate(() => {
        line.inFlight -= 1;
        if (line.inFlight === 0) this.sendGathered(key, line);
      });
    });
  }

  /** Answers every waiter of the batch; never rejects, a failed call rejects its own waiters. */
  private async send(batch: Batch): Promise<void> {
    const ids = [...batch.waiters.keys()];
    try {
      const response = await this.client.call(
        DESCRIBE,
        { EcmRegion: batch.region, NetworkInterfaceIds: ids, Limit: MAX_IDS_PER_DESCRIBE },
        batch.credential,
        DescribeResponseSchema,
      );
      const found = new Map<string, EniObservation>();
      for (const eni of response.NetworkInterfaceSet) {
        const instance = eni.Attachment?.InstanceId;
        found.set(eni.NetworkInterfaceId, {
          found: true,
          state: eni.State,
          attachedInstanceId: instance === undefined || instance === "" ? undefined : instance,
        });
      }
      for (const [id, waiters] of batch.waiters) {
        for (const waiter of waiters) waiter.resolve(found.get(id) ?? NOT_FOUND);
      }
    } catch (error) {
      for (const waiters of batch.waiters.values()) for (const waiter of waiters) waiter.reject(error);
    }
  }
}

/** Adds a waiter for one id; the same id asked twice in a batch shares its answer. */
function waitFor(batch: Batch, networkInterfaceId: string): Promise<EniObservation> {
  const { promise, resolve, reject } = Promise.withResolvers<EniObservation>();
  const waiters = batch.waiters.get(networkInterfaceId) ?? [];
  waiters.push({ resolve, reject });
  batch.waiters.set(networkInterfaceId, waiters);
  return promise;
}
