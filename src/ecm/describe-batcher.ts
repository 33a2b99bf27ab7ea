import { DESCRIBE } from "./actions.ts";
import type { EcmClient } from "./client.ts";
import type { CredentialSource } from "./credentials.ts";
import { NOT_FOUND, type EniObservation, type EniState } from "./observation.ts";

/** ECM answers at most 100 ids per DescribeNetworkInterfaces call. */
export const MAX_IDS_PER_DESCRIBE = 100;

interface Waiter {
  resolve(observation: EniObservation): void;
  reject(error: unknown): void;
}

interface Batch {
  readonly region: string;
  readonly source: CredentialSource;
  readonly waiters: Map<string, Waiter[]>;
  timer?: NodeJS.Timeout;
}

interface DescribedEni {
  NetworkInterfaceId?: unknown;
  State?: unknown;
  Attachment?: { InstanceId?: unknown } | null;
}

/**
 * Coalesces the observations that many reconciles ask for into one DescribeNetworkInterfaces call per
 * account and region (up to 100 ids), so confirmation polls cost a fraction of the Describe quota.
 */
export class DescribeBatcher {
  private readonly batches = new Map<string, Batch>();
  private readonly client: EcmClient;
  private readonly windowMs: number;

  constructor(client: EcmClient, windowMs: number) {
    this.client = client;
    this.windowMs = windowMs;
  }

  observe(region: string, networkInterfaceId: string, source: CredentialSource): Promise<EniObservation> {
    const key = `${source.identity}\u0000${region}`;
    let batch = this.batches.get(key);
    if (!batch) {
      batch = { region, source, waiters: new Map() };
      this.batches.set(key, batch);
      const scheduled = batch;
      batch.timer = setTimeout(() => this.flush(key, scheduled), this.windowMs);
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
        batch.source,
      );
      const found = new Map<string, EniObservation>();
      const set = Array.isArray(response["NetworkInterfaceSet"]) ? (response["NetworkInterfaceSet"] as unknown[]) : [];
      for (const item of set) {
        const eni = item as DescribedEni;
        if (typeof eni.NetworkInterfaceId !== "string") continue;
        const instance = eni.Attachment?.InstanceId;
        found.set(eni.NetworkInterfaceId, {
          found: true,
          state: (typeof eni.State === "string" ? eni.State : "AVAILABLE") as EniState,
          attachedInstanceId: typeof instance === "string" && instance !== "" ? instance : undefined,
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
