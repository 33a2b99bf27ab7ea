import type { Secret } from "./secrets.ts";
import type { EniAttachment } from "../api/eniattachment.ts";
import type { Logger } from "../observability/logger.ts";
import type { ChangeHandler } from "./informer.ts";
import { failingOnCredentials } from "./secret-credentials.ts";
import { versionOf, type SecretReader } from "./secret-reader.ts";

/** Secrets that resources failing on their credentials name are read again this often. */
export const SECRET_POLL_MS = 3_000;
/**
 * Every Secret any resource names is read this often (every tenth poll), so that a held Secret whose
 * deletion was requested by hand is told to the resources naming it within this time.
 */
export const NAMED_SECRET_POLLS = 10;

/** What the controller needs from a source of Secret changes: a handler per change, and a lifecycle. */
export interface SecretChanges {
  onChange(handler: ChangeHandler<Secret>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly synced: boolean;
}

/**
 * Tells the controller when a Secret that a failing resource needs has changed (created, its keys
 * replaced), so that resource is retried at once rather than at its next slow credentials retry,
 * without watching Secrets: only the Secrets of resources failing on credentials are read, one GET at
 * a time, and a read is a change when it differs from the last read of that Secret, by this poller
 * or by a reconcile. Every tenth poll reads every Secret a resource names (one GET each, fewer when a
 * reconcile read it within the reader's cache time), so a Secret being deleted is noticed without a
 * watch. The poller keeps the versions itself (the reader's cache expires), for the Secrets that
 * resources name: a Secret no resource names any more is forgotten.
 */
export class SecretChangePoller implements SecretChanges {
  readonly synced = true;
  private readonly reader: SecretReader;
  private readonly resources: () => readonly EniAttachment[];
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly handlers: ChangeHandler<Secret>[] = [];
  /** The version of each Secret last read, by namespace/name. */
  private readonly versions = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private polls = 0;

  constructor(
    reader: SecretReader,
    resources: () => readonly EniAttachment[],
    logger: Logger,
    intervalMs = SECRET_POLL_MS,
  ) {
    this.reader = reader;
    this.resources = resources;
    this.logger = logger;
    this.intervalMs = intervalMs;
    reader.onRead((namespace, name, secret) => this.versions.set(`${namespace}/${name}`, versionOf(secret)));
  }

  onChange(handler: ChangeHandler<Secret>): void {
    this.handlers.push(handler);
  }

  start(): Promise<void> {
    this.stopped = false;
    this.schedule();
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    return Promise.resolve();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.poll().finally(() => this.schedule()), this.intervalMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const everyNamed = (this.polls += 1) % NAMED_SECRET_POLLS === 0;
    const wanted = new Map<string, { namespace: string; name: string; fresh: boolean }>();
    const named = new Set<string>();
    for (const resource of this.resources()) {
      const name = resource.spec.credentialsSecretRef?.name;
      const namespace = resource.metadata.namespace;
      if (!name || !namespace) continue;
      const key = `${namespace}/${name}`;
      named.add(key);
      const failing = failingOnCredentials(resource);
      if (!(failing || everyNamed)) continue;
      wanted.set(key, { namespace, name, fresh: failing || (wanted.get(key)?.fresh ?? false) });
    }
    for (const key of this.versions.keys()) if (!named.has(key)) this.versions.delete(key);
    for (const { namespace, name, fresh } of wanted.values()) {
      if (this.stopped) return;
      const before = this.versions.get(`${namespace}/${name}`);
      try {
        const secret = await this.reader.read(namespace, name, fresh);
        if (before === undefined || versionOf(secret) === before) continue;
        const changed: Secret = secret ?? { metadata: { namespace, name } };
        for (const handler of this.handlers) handler(changed, secret ? "update" : "delete");
      } catch (err) {
        this.logger.warn({ err, namespace, secret: name }, "could not read a credentials Secret");
      }
    }
  }
}
