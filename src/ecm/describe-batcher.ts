import { DESCRIBE } from "./actions.ts";
import { accountOf, type CredentialSource, type EcmCredential } from "./credentials.ts";
import { NOT_FOUND, type EniObservation } from "./observation.ts";
import { DescribeResponseSchema, type DescribeResponse } from "./responses.ts";

/** ECM answers at most 100 ids per DescribeNetworkInterfaces call. */
export const MAX_IDS_PER_DESCRIBE = 100;

/** What an observer of one interface needs. Throws EcmError. */
export interface EniObserver {
  observe(region: string, networkInterfaceId: string, source: CredentialSource): Promise<EniObservation>;
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
  timer?: NodeJS.Timeout;
}

/**
 * Coalesces the observations that many reconciles ask for into one DescribeNetworkInterfaces call per
 * account (the SecretId a credential resolves to) and region, up to 100 ids, so confirmation polls
 * cost a fraction of the Describe quota. A lone observation waits only `windowMs`.
 */
export class DescribeBatcher implements EniObserver {
  private readonly batches = new Map<string, Batch>();
  private readonly client: DescribeClient;
  private readonly windowMs: number;

  constructor(client: DescribeClient, windowMs: number) {
    this.client = client;
    this.windowMs = windowMs;
  }

  async observe(region: string, networkInterfaceId: string, source: CredentialSource): Promise<EniObservation> {
    const credential = await this.client.credential(DESCRIBE, source);
    const key = `${accountOf(credential)}\u0000${region}`;
    let batch = this.batches.get(key);
    if (batch) {
      // The newest read of the account's credential signs the batch (a rotated key, say).
      batch.credential = credential;
    } else {
      batch = { region, credential, waiters: new Map() };
      this.batches.set(key, batch);
      const scheduled = batch;
      batch.timer = setTimeout(() => {
        this.flush(key, scheduled);
      }, this.windowMs);
    }
    const { promise, resolve, reject } = Promise.withResolvers<EniObservation>();
    const waiters = batch.waiters.get(networkInterfaceId) ?? [];
    waiters.push({ resolve, reject });
    batch.waiters.set(networkInterfaceId, waiters);
    if (batch.waiters.size >= MAX_IDS_PER_DESCRIBE) this.flush(key, batch);
    return promise;
  }

  private flush(key: string, batch: Batch): void {
    clearTimeout(batch.timer);
    if (this.batches.get(key) === batch) this.batches.delete(key);
    void this.send(batch);
  }

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
