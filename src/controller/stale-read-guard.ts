import type { EniAttachment } from "../api/eniattachment.ts";
import type { ChangeKind } from "../kube/informer.ts";
import { keyFor } from "./keys.ts";

/** Reads the informer's copy, and the API server's. */
export interface ResourceReads {
  cached(namespace: string, name: string): EniAttachment | undefined;
  fetch(namespace: string, name: string): Promise<EniAttachment | undefined>;
}

/**
 * Read-your-writes over an informer cache, a small form of client-go's mutation cache.
 *
 * Contract: after `wrote(object)`, `read` of that key returns the cached copy only once the cache
 * holds the resourceVersion that write produced, or a later one; until then it reads from the API
 * server (and waits for the version that read returned). So a decision about a cloud call never sees
 * a status older than the operator's own last write. The informer tells of every version it caches
 * (`delivered`); a watch delivers them in order, so once it showed the expected one, whatever the
 * cache holds later is newer, such as someone's `kubectl delete` right after the operator's write. A
 * write that let the object go (its last finalizer removed on a deleted object), or an object the
 * informer saw deleted, is forgotten. Keys the operator never wrote read the cache.
 * Caveat: when the cache moves past the expected version without having delivered it (it arrived
 * before the write's answer did), the next read goes to the API server once, and expects what it returned.
 */
export class StaleReadGuard {
  private readonly reads: ResourceReads;
  /** The resourceVersion each key's last write (or API-server read) produced, until the informer delivers it. */
  private readonly expected = new Map<string, string>();

  constructor(reads: ResourceReads) {
    this.reads = reads;
  }

  async read(namespace: string, name: string): Promise<EniAttachment | undefined> {
    const key = keyFor(namespace, name);
    const cached = this.reads.cached(namespace, name);
    const expected = this.expected.get(key);
    if (cached && (expected === undefined || cached.metadata.resourceVersion === expected)) {
      this.expected.delete(key);
      return cached;
    }
    return this.fetch(namespace, name);
  }

  /** Reads from the API server, and expects the cache to catch up with what it returned. */
  async fetch(namespace: string, name: string): Promise<EniAttachment | undefined> {
    const key = keyFor(namespace, name);
    const fresh = await this.reads.fetch(namespace, name);
    if (fresh?.metadata.resourceVersion) this.expected.set(key, fresh.metadata.resourceVersion);
    else this.expected.delete(key);
    return fresh;
  }

  /** The informer's cache now holds this version of the object, or has dropped it ("delete"). */
  delivered(resource: EniAttachment, kind: ChangeKind): void {
    const { namespace, name, resourceVersion } = resource.metadata;
    if (!namespace || !name) return;
    const key = keyFor(namespace, name);
    if (kind === "delete" || this.expected.get(key) === resourceVersion) this.expected.delete(key);
  }

  /** Notes the version a write produced, and passes the object on. */
  wrote<T extends EniAttachment | undefined>(result: T): T {
    const { namespace, name, resourceVersion, deletionTimestamp, finalizers } = result?.metadata ?? {};
    if (!namespace || !name || !resourceVersion) return result;
    const key = keyFor(namespace, name);
    if (deletionTimestamp && (finalizers ?? []).length === 0) this.expected.delete(key);
    else this.expected.set(key, resourceVersion);
    return result;
  }
}
