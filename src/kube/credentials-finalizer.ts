import { GROUP } from "../api/eniattachment.ts";
import { UNFENCED, checkFence, type Fence } from "../api/fence.ts";
import type { Logger } from "../observability/logger.ts";
import { isConflict, isNotFound } from "./api-errors.ts";
import type { SecretReader } from "./secret-reader.ts";
import type { JsonPatch } from "./api-client.ts";
import type { Secret, SecretsApi } from "./secrets.ts";

/** Keeps a credentials Secret from going while an EniAttachment names it. */
export const CREDENTIALS_FINALIZER = `${GROUP}/credentials-in-use`;

/** A patch that keeps losing to other writers is given up and left to the next need or release. */
const PATCH_ATTEMPTS = 3;
/** A release that failed (the API server unreachable, say) is tried again this often. */
export const RELEASE_RETRY_MS = 5_000;

export interface CredentialsFinalizerOptions {
  readonly core: Pick<SecretsApi, "patchNamespacedSecret">;
  readonly reader: SecretReader;
  /** Whether an EniAttachment in the informer's cache names the Secret and may still call ECM with it. */
  readonly needed: (namespace: string, name: string) => boolean;
  /** A held Secret seen with a deletion requested: told once per Secret. */
  readonly onDeleting: (secret: Secret) => void;
  readonly logger: Logger;
  readonly fence?: Fence;
  readonly retryMs?: number;
}

/**
 * The finalizer `ecm.eni-operator.io/credentials-in-use` on the Secrets that EniAttachments name.
 *
 * Flow: `hold` adds it when a Secret is read for an ECM call, before that call. `lastUse` runs each
 * resource's own finalizer removal in the Secret's turn and, for the last resource that needs the
 * Secret, releases the Secret just before: the resource is still there if the process stops in
 * between, so a restart finds the Secret through it. `release` removes it once no EniAttachment in the
 * informer's cache needs the Secret (a reference changed, or a resource gone without `lastUse`). A
 * Secret whose deletion was requested keeps its finalizer, so it stays readable and every detach
 * still signs with it; it goes when the last resource needing it does.
 * Guarantees: patches carry a JSON-patch `test` of the finalizer list (or resourceVersion), so a
 * concurrent change is never overwritten; the hold and the release of one Secret never run at once,
 * and a release looks at the cache again when its turn comes, so a resource that named the Secret
 * meanwhile keeps it held. Only the Secret's own finalizer list is written.
 * Caveats: a Secret is never read by listing, so one whose last resource went without this process
 * (its finalizer removed by hand, say) keeps the finalizer until a resource names it and goes again,
 * or someone removes it; no new finalizer can be added to a Secret already being deleted, which is
 * then used as long as it exists.
 */
export class CredentialsFinalizer {
  private readonly options: CredentialsFinalizerOptions;
  private readonly fence: Fence;
  private readonly turns = new Map<string, Promise<unknown>>();
  /** Held Secrets seen with a deletion requested: the uid of the one told of. */
  private readonly deletingSeen = new Map<string, string>();
  private readonly retrying = new Set<string>();
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(options: CredentialsFinalizerOptions) {
    this.options = options;
    this.fence = options.fence ?? UNFENCED;
  }

  /**
   * The Secret, held: with the finalizer added if it lacked it, or as it is when its deletion was
   * already requested. Undefined when it no longer exists.
   */
  async hold(namespace: string, name: string, secret: Secret): Promise<Secret | undefined> {
    if (hasFinalizer(secret) || secret.metadata?.deletionTimestamp) return this.seen(namespace, name, secret);
    const held = await this.inTurn(namespace, name, () => this.addFinalizer(namespace, name, secret));
    return held && this.seen(namespace, name, held);
  }

  /**
   * Runs `letGo` (a resource's finalizer removal) in the Secret's turn. When `last()` says no other
   * resource needs the Secret, `persist` (what a restart needs to know) and the Secret's release come
   * first; a false `persist` gives up. A failed release throws, and the resource stays for the next pass.
   * Whether `letGo` ran.
   */
  lastUse(
    namespace: string,
    name: string,
    last: () => boolean,
    persist: () => Promise<boolean>,
    letGo: () => Promise<void>,
  ): Promise<boolean> {
    return this.inTurn(namespace, name, async () => {
      if (last()) {
        if (!(await persist())) return false;
        await this.removeFinalizer(namespace, name, () => false);
      }
      await letGo();
      return true;
    });
  }

  /** Removes the finalizer unless a resource in the cache still needs the Secret; failures are retried. */
  release(namespace: string, name: string): Promise<void> {
    if (!this.fence()) return Promise.resolve();
    const needed = () => this.options.needed(namespace, name);
    return this.inTurn(namespace, name, () => this.removeFinalizer(namespace, name, needed)).then(
      () => {
        this.retrying.delete(keyOf(namespace, name));
      },
      (err: unknown) => {
        this.options.logger.warn({ err, namespace, secret: name }, "could not release a credentials Secret");
        this.retrying.add(keyOf(namespace, name));
        this.scheduleRetry();
      },
    );
  }

  /** Whether the Secret was seen held with its deletion requested. */
  deleting(namespace: string, name: string): boolean {
    return this.deletingSeen.has(keyOf(namespace, name));
  }

  /** Resolves once every hold and release asked for so far has ended. */
  async idle(): Promise<void> {
    await Promise.all(this.turns.values());
  }

  stop(): void {
    clearTimeout(this.retryTimer);
    this.retrying.clear();
  }

  private seen(namespace: string, name: string, secret: Secret): Secret {
    const key = keyOf(namespace, name);
    const uid = secret.metadata?.uid ?? "";
    if (!secret.metadata?.deletionTimestamp || !hasFinalizer(secret)) {
      this.deletingSeen.delete(key);
    } else if (this.deletingSeen.get(key) !== uid) {
      this.deletingSeen.set(key, uid);
      this.options.onDeleting(secret);
    }
    return secret;
  }

  private async addFinalizer(namespace: string, name: string, read: Secret): Promise<Secret | undefined> {
    const { reader, logger } = this.options;
    let secret: Secret | undefined = read;
    for (let attempt = 1; secret; attempt += 1) {
      if (hasFinalizer(secret) || secret.metadata?.deletionTimestamp) return secret;
      const finalizers = secret.metadata?.finalizers;
      const patch: JsonPatch = finalizers
        ? [
            { op: "test", path: "/metadata/finalizers", value: finalizers },
            { op: "add", path: "/metadata/finalizers/-", value: CREDENTIALS_FINALIZER },
          ]
        : [
            { op: "test", path: "/metadata/resourceVersion", value: secret.metadata?.resourceVersion },
            { op: "add", path: "/metadata/finalizers", value: [CREDENTIALS_FINALIZER] },
          ];
      try {
        const patched = await this.patch(namespace, name, patch);
        reader.remember(namespace, name, patched);
        logger.info({ namespace, secret: name }, "credentials Secret held");
        return patched;
      } catch (error) {
        if (!(isConflict(error) || isNotFound(error)) || attempt >= PATCH_ATTEMPTS) throw error;
      }
      secret = await reader.read(namespace, name, true);
    }
    return undefined;
  }

  private async removeFinalizer(namespace: string, name: string, needed: () => boolean): Promise<void> {
    const { reader, logger } = this.options;
    for (let attempt = 1; !needed(); attempt += 1) {
      const secret = await reader.read(namespace, name, true);
      const index = secret?.metadata?.finalizers?.indexOf(CREDENTIALS_FINALIZER) ?? -1;
      if (!secret || index < 0) return;
      try {
        const patched = await this.patch(namespace, name, [
          { op: "test", path: `/metadata/finalizers/${index}`, value: CREDENTIALS_FINALIZER },
          { op: "remove", path: `/metadata/finalizers/${index}` },
        ]);
        const gone =
          patched.metadata?.deletionTimestamp !== undefined && (patched.metadata.finalizers ?? []).length === 0;
        reader.remember(namespace, name, gone ? undefined : patched);
        this.deletingSeen.delete(keyOf(namespace, name));
        logger.info({ namespace, secret: name, deleted: gone }, "credentials Secret released");
        return;
      } catch (error) {
        if (isNotFound(error)) return;
        if (!isConflict(error) || attempt >= PATCH_ATTEMPTS) throw error;
      }
    }
  }

  private async patch(namespace: string, name: string, body: JsonPatch): Promise<Secret> {
    checkFence(this.fence, "Secret finalizer patch");
    return this.options.core.patchNamespacedSecret({ namespace, name, body }, this.fence);
  }

  /** Runs `work` after the Secret's earlier hold or release has ended. */
  private inTurn<T>(namespace: string, name: string, work: () => Promise<T>): Promise<T> {
    const key = keyOf(namespace, name);
    const before = this.turns.get(key) ?? Promise.resolve();
    const mine = before.then(work, work);
    const tail = mine.catch(() => undefined);
    this.turns.set(key, tail);
    void tail.then(() => {
      if (this.turns.get(key) === tail) this.turns.delete(key);
    });
    return mine;
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      for (const key of [...this.retrying]) {
        const [namespace = "", name = ""] = key.split("/");
        void this.release(namespace, name);
      }
    }, this.options.retryMs ?? RELEASE_RETRY_MS);
    this.retryTimer.unref();
  }
}

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function hasFinalizer(secret: Secret): boolean {
  return secret.metadata?.finalizers?.includes(CREDENTIALS_FINALIZER) ?? false;
}
