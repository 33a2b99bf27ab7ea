import { FINALIZER, type EniAttachment } from "../api/eniattachment.ts";
import type { ChangeKind } from "../kube/informer.ts";
import { ownerOf } from "./eni-owner.ts";
import { keyOf } from "./keys.ts";

/** A Secret in a namespace. */
export interface SecretName {
  readonly namespace: string;
  readonly name: string;
}

/** What a change to one resource changed in the index. */
export interface IndexChange {
  /** Secrets that no resource names any more: each can be released. */
  readonly unnamed: readonly SecretName[];
  /** Claimants of an ENI whose owner changed: each is reconciled again at once. */
  readonly newOwners: readonly EniAttachment[];
}

interface Entry {
  readonly uid: string | undefined;
  /** Undefined for an observer (managementPolicy Observe): it never owns an ENI and never blocks an owner. */
  readonly eni: string | undefined;
  readonly secret: string | undefined;
  /**
   * Deleted and let go (its finalizer removed, as the cache shows or as this process just did): it
   * makes no further ECM call, so it needs its Secret no more.
   */
  readonly letGo: boolean;
}

/**
 * The informer's resources indexed, across all namespaces, by (region, ENI) and by the credentials
 * Secret they name. Kept from the informers' change handler: it costs no API call, and every replica
 * holds the same one.
 */
export class ResourceIndex {
  private readonly entries = new Map<string, Entry>();
  private readonly byEni = new Map<string, Map<string, EniAttachment>>();
  private readonly bySecret = new Map<string, Set<string>>();
  /** Per Secret, how many of its namers are not let go: a count, so that asking costs no walk of them. */
  private readonly needing = new Map<string, number>();

  update(resource: EniAttachment, kind: ChangeKind): IndexChange {
    const key = keyOf(resource);
    const before = this.entries.get(key);
    const after = kind === "delete" ? undefined : entryOf(resource, before);
    const eniKeys = new Set([before?.eni, after?.eni].filter((eni) => eni !== undefined));
    const ownersBefore = new Map([...eniKeys].map((eni) => [eni, this.ownerKey(eni)]));

    if (before) this.remove(key, before);
    if (after) this.add(key, resource, after);

    const unnamed =
      before?.secret !== undefined && before.secret !== after?.secret && !this.bySecret.has(before.secret)
        ? [secretName(before.secret)]
        : [];
    const newOwners = [...eniKeys].flatMap((eni) => {
      const owner = this.ownerKey(eni);
      // A claimant that joins behind the owner changes nothing for the others.
      if (owner === ownersBefore.get(eni) || owner === undefined) return [];
      return [...(this.byEni.get(eni)?.values() ?? [])].filter((claimant) => keyOf(claimant) !== key);
    });
    return { unnamed, newOwners };
  }

  /** Every resource naming the ENI in the region, the owner among them. */
  claimants(region: string, networkInterfaceId: string): readonly EniAttachment[] {
    return [...(this.byEni.get(eniKeyOf(region, networkInterfaceId))?.values() ?? [])];
  }

  /** The names of the resources naming the Secret, sorted. */
  namers(namespace: string, name: string): readonly string[] {
    const keys = [...(this.bySecret.get(secretKeyOf(namespace, name)) ?? [])];
    return keys.map((key) => key.slice(namespace.length + 1)).sort();
  }

  named(namespace: string, name: string): boolean {
    return this.bySecret.has(secretKeyOf(namespace, name));
  }

  /** Whether a resource naming the Secret, other than `except`, may still make an ECM call with it. */
  needed(namespace: string, name: string, except?: EniAttachment): boolean {
    const secret = secretKeyOf(namespace, name);
    const own = except && this.entries.get(keyOf(except));
    const ownNeed = own !== undefined && own.secret === secret && !own.letGo ? 1 : 0;
    return (this.needing.get(secret) ?? 0) - ownNeed > 0;
  }

  /** The resource's finalizer was just removed: it needs its Secret no more, before the cache shows it. */
  letGo(resource: EniAttachment): void {
    const key = keyOf(resource);
    const entry = this.entries.get(key);
    if (!entry || entry.letGo || entry.uid !== resource.metadata.uid) return;
    this.entries.set(key, { ...entry, letGo: true });
    if (entry.secret !== undefined) this.countNeed(entry.secret, -1);
  }

  private countNeed(secret: string, delta: number): void {
    const count = (this.needing.get(secret) ?? 0) + delta;
    if (count > 0) this.needing.set(secret, count);
    else this.needing.delete(secret);
  }

  private ownerKey(eni: string): string | undefined {
    const owner = ownerOf([...(this.byEni.get(eni)?.values() ?? [])]);
    return owner && keyOf(owner);
  }

  private add(key: string, resource: EniAttachment, entry: Entry): void {
    this.entries.set(key, entry);
    if (entry.eni !== undefined) {
      const claimants = this.byEni.get(entry.eni) ?? new Map<string, EniAttachment>();
      claimants.set(key, resource);
      this.byEni.set(entry.eni, claimants);
    }
    if (entry.secret === undefined) return;
    const namers = this.bySecret.get(entry.secret) ?? new Set<string>();
    namers.add(key);
    this.bySecret.set(entry.secret, namers);
    if (!entry.letGo) this.countNeed(entry.secret, 1);
  }

  private remove(key: string, entry: Entry): void {
    this.entries.delete(key);
    if (entry.eni !== undefined) {
      const claimants = this.byEni.get(entry.eni);
      claimants?.delete(key);
      if (claimants?.size === 0) this.byEni.delete(entry.eni);
    }
    if (entry.secret === undefined) return;
    const namers = this.bySecret.get(entry.secret);
    namers?.delete(key);
    if (namers?.size === 0) this.bySecret.delete(entry.secret);
    if (!entry.letGo) this.countNeed(entry.secret, -1);
  }
}

/** A managing resource claims the ENI it names; an observer only reads it, so it claims nothing. */
function entryOf(resource: EniAttachment, before: Entry | undefined): Entry {
  const { ecmRegion, networkInterfaceId, credentialsSecretRef, managementPolicy } = resource.spec;
  const { namespace = "", uid, deletionTimestamp, finalizers } = resource.metadata;
  // A deleted object cannot come back: once let go it stays so, even if a write of it races the removal.
  const letGo =
    deletionTimestamp !== undefined &&
    (!(finalizers?.includes(FINALIZER) ?? false) || (before?.letGo === true && before.uid === uid));
  return {
    uid,
    eni: managementPolicy === "Observe" ? undefined : eniKeyOf(ecmRegion, networkInterfaceId),
    secret: credentialsSecretRef ? secretKeyOf(namespace, credentialsSecretRef.name) : undefined,
    letGo,
  };
}

function eniKeyOf(region: string, networkInterfaceId: string): string {
  return `${region}/${networkInterfaceId}`;
}

function secretKeyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function secretName(key: string): SecretName {
  const slash = key.indexOf("/");
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
