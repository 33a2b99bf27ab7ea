import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { CoreV1Event, V1ObjectMeta } from "@kubernetes/client-node";
import { Type } from "typebox";
import { decode } from "../api/decode.ts";
import type { EventSpec } from "../api/event-spec.ts";
import { FencedOffError, UNFENCED, checkFence, type Fence } from "../api/fence.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { isNamespaceTerminating, isNotFound } from "./api-errors.ts";
import { CONTENT, type KubeApi } from "./api-client.ts";
import { tupleKey } from "../api/tuple-key.ts";

const COMPONENT = "eni-operator";
/** What the operator reads of an Event it created: its name, to count the same event again on it. */
const CreatedSchema = Type.Object({ metadata: Type.Object({ name: Type.String() }) });
const eventsPath = (namespace: string): string => `/api/v1/namespaces/${namespace}/events`;
/** Remembered events, for counting repeats instead of creating new ones (as client-go's recorder does). */
const MAX_REMEMBERED = 4096;

/** What an event is about: an EniAttachment, or a Secret it holds. */
export interface EventTarget {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: Pick<V1ObjectMeta, "name" | "namespace" | "uid" | "resourceVersion">;
}

/**
 * Writes core/v1 Events that `kubectl describe` shows. A repeat of the same event for the same object
 * bumps its count. Failing to record an event never fails a reconcile. In a namespace being deleted
 * the API server refuses new events (403 NamespaceTerminating): that is expected, so it is counted and
 * logged at debug, and the refusal returns at once so the detach and finalizer removal go on.
 */
export class EventRecorder {
  private readonly api: KubeApi;
  private readonly logger: Logger;
  private readonly metrics: Metrics;
  private readonly recent = new Map<string, { name: string; count: number }>();
  private readonly instance = hostname();
  private readonly fence: Fence;

  /** `fence` is checked before every write; a refused write fails the reconcile, unlike other failures. */
  constructor(api: KubeApi, logger: Logger, metrics: Metrics, fence: Fence = UNFENCED) {
    this.api = api;
    this.logger = logger;
    this.metrics = metrics;
    this.fence = fence;
  }

  async record(resource: EventTarget, event: EventSpec): Promise<void> {
    checkFence(this.fence, "event");
    const { namespace = "default", name = "", uid = "" } = resource.metadata;
    const key = tupleKey(uid, event.type, event.reason, event.message);
    const now = new Date();
    try {
      const seen = this.recent.get(key);
      if (seen && (await this.bump(namespace, seen, now))) return;
      const created = decode(
        CreatedSchema,
        await this.api.request("POST", eventsPath(namespace), {
          body: this.newEvent(resource, event, now),
          fence: this.fence,
          what: "event",
        }),
        "created Event",
      );
      this.remember(key, { name: created.metadata.name, count: 1 });
    } catch (err) {
      if (err instanceof FencedOffError) throw err;
      if (isNamespaceTerminating(err)) {
        this.metrics.eventsNamespaceTerminating.inc();
        this.logger.debug({ namespace, name, reason: event.reason }, "event not recorded: namespace is being deleted");
        return;
      }
      this.logger.warn({ err, namespace, name, reason: event.reason }, "could not record event");
    }
  }

  private async bump(namespace: string, seen: { name: string; count: number }, now: Date): Promise<boolean> {
    try {
      seen.count += 1;
      await this.api.request("PATCH", `${eventsPath(namespace)}/${encodeURIComponent(seen.name)}`, {
        body: { count: seen.count, lastTimestamp: now },
        contentType: CONTENT.mergePatch,
        fence: this.fence,
        what: "event",
      });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  private remember(key: string, value: { name: string; count: number }): void {
    if (this.recent.size >= MAX_REMEMBERED) {
      const oldest = this.recent.keys().next();
      if (!oldest.done) this.recent.delete(oldest.value);
    }
    this.recent.set(key, value);
  }

  private newEvent(resource: EventTarget, event: EventSpec, now: Date): CoreV1Event {
    const { namespace, name = "", uid, resourceVersion } = resource.metadata;
    return {
      metadata: { name: `${name}.${randomBytes(8).toString("hex")}`, namespace },
      involvedObject: { apiVersion: resource.apiVersion, kind: resource.kind, name, namespace, uid, resourceVersion },
      type: event.type,
      reason: event.reason,
      message: event.message,
      source: { component: COMPONENT },
      reportingComponent: COMPONENT,
      reportingInstance: this.instance,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
  }
}
