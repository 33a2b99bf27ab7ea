// Small in-memory fakes of what the reconciler and the controller depend on. Each one appends what it
// was asked to do to a shared journal, so a scenario test can assert every call and write, in order.
import { pino } from "pino";
import type { EniAttachment, EniAttachmentStatus } from "../../src/api/eniattachment.ts";
import type { EventSpec } from "../../src/api/event-spec.ts";
import type { MutatingAction } from "../../src/ecm/actions.ts";
import type { MutatingCalls, MutatingParams, TurnResult } from "../../src/ecm/call-turns.ts";
import type { CredentialSource, EcmCredential } from "../../src/ecm/credentials.ts";
import type { EniObserver, Urgency } from "../../src/ecm/describe-batcher.ts";
import { EcmError } from "../../src/ecm/errors.ts";
import type { EniObservation } from "../../src/ecm/observation.ts";
import type { StatusWrite } from "../../src/kube/eniattachment-client.ts";
import type { EventSink, ResourceStore } from "../../src/controller/reconciler.ts";
import { FINALIZER } from "../../src/api/eniattachment.ts";

export const silentLogger = pino({ level: "silent" });

export class Journal {
  readonly entries: string[] = [];
  note(entry: string): void {
    this.entries.push(entry);
  }
}

/** The API server: one object per name, a resourceVersion bumped on every write. */
export class FakeStore implements ResourceStore {
  private readonly objects = new Map<string, EniAttachment>();
  private version = 100;
  /** Status writes that will lose to a concurrent writer, one per entry: the change that writer makes. */
  readonly concurrentWrites: ((resource: EniAttachment) => void)[] = [];
  /** Status writes that throw, one per entry. */
  readonly failingWrites: Error[] = [];
  readonly journal: Journal;

  constructor(journal: Journal) {
    this.journal = journal;
  }

  put(resource: EniAttachment): EniAttachment {
    const stored = structuredClone(resource);
    stored.metadata.resourceVersion = String((this.version += 1));
    this.objects.set(stored.metadata.name ?? "", stored);
    return structuredClone(stored);
  }

  current(name: string): EniAttachment | undefined {
    const object = this.objects.get(name);
    return object && structuredClone(object);
  }

  get(_namespace: string, name: string): Promise<EniAttachment | undefined> {
    this.journal.note(`get ${name}`);
    return Promise.resolve(this.current(name));
  }

  remove(name: string): void {
    this.objects.delete(name);
  }

  replaceStatus(resource: EniAttachment, status: EniAttachmentStatus): Promise<StatusWrite> {
    const name = resource.metadata.name ?? "";
    const failure = this.failingWrites.shift();
    if (failure) {
      this.journal.note("status (failed)");
      return Promise.reject(failure);
    }
    const concurrent = this.concurrentWrites.shift();
    if (concurrent) {
      const stored = this.current(name);
      if (stored) {
        concurrent(stored);
        this.put(stored);
      }
    }
    const stored = this.objects.get(name);
    if (stored?.metadata.resourceVersion !== resource.metadata.resourceVersion) {
      this.journal.note(`status ${status.phase ?? ""} (conflict)`);
      return Promise.resolve({ kind: "conflict" });
    }
    this.journal.note(`status ${status.phase ?? ""}`);
    return Promise.resolve({ kind: "written", resource: this.put({ ...resource, status }) });
  }

  addFinalizer(resource: EniAttachment): Promise<EniAttachment> {
    this.journal.note("addFinalizer");
    const changed = structuredClone(resource);
    changed.metadata.finalizers = [...(resource.metadata.finalizers ?? []), FINALIZER];
    return Promise.resolve(this.put(changed));
  }

  removeFinalizer(resource: EniAttachment): Promise<EniAttachment | undefined> {
    this.journal.note("removeFinalizer");
    const finalizers = (resource.metadata.finalizers ?? []).filter((f) => f !== FINALIZER);
    if (resource.metadata.deletionTimestamp && finalizers.length === 0) {
      this.objects.delete(resource.metadata.name ?? "");
      return Promise.resolve(undefined);
    }
    const changed = structuredClone(resource);
    changed.metadata.finalizers = finalizers;
    return Promise.resolve(this.put(changed));
  }
}

export class FakeEvents implements EventSink {
  readonly journal: Journal;
  readonly recorded: EventSpec[] = [];
  constructor(journal: Journal) {
    this.journal = journal;
  }
  record(_resource: EniAttachment, event: EventSpec): Promise<void> {
    this.journal.note(`event ${event.reason}`);
    this.recorded.push(event);
    return Promise.resolve();
  }
}

/** ECM's mutating calls: answers given in order, each a RequestId, an error code, or "come back in N ms". */
export class FakeCalls implements MutatingCalls {
  readonly journal: Journal;
  readonly answers: ({ requestId: string } | { code: string } | { comeBackMs: number })[] = [];
  constructor(journal: Journal) {
    this.journal = journal;
  }
  call(_key: string, action: MutatingAction, params: MutatingParams): Promise<TurnResult> {
    const answer = this.answers.shift();
    if (!answer) throw new Error(`unexpected ${action} call`);
    if ("comeBackMs" in answer) {
      this.journal.note(`${action} later`);
      return Promise.resolve({ kind: "comeBack", afterMs: answer.comeBackMs });
    }
    this.journal.note(`${action} ${params.NetworkInterfaceId}`);
    if ("code" in answer) return Promise.reject(new EcmError(action, answer.code, "injected", "req-failed"));
    return Promise.resolve({ kind: "called", response: { RequestId: answer.requestId } });
  }
  release(key: string): void {
    this.journal.note(`release ${key}`);
  }
}

/** DescribeNetworkInterfaces for one interface: what ECM shows, or an error code. */
export class FakeObserver implements EniObserver {
  readonly journal: Journal;
  shows: EniObservation | { code: string } = { found: false };
  readonly urgencies: Urgency[] = [];
  constructor(journal: Journal) {
    this.journal = journal;
  }
  observe(
    _region: string,
    networkInterfaceId: string,
    _source: CredentialSource,
    urgency: Urgency,
  ): Promise<EniObservation> {
    this.journal.note(`describe ${networkInterfaceId}`);
    this.urgencies.push(urgency);
    const shows = this.shows;
    if ("code" in shows) {
      return Promise.reject(new EcmError("DescribeNetworkInterfaces", shows.code, "injected", "req-describe"));
    }
    return Promise.resolve(shows);
  }
}

export const CREDENTIAL: EcmCredential = { secretId: "AKIDtest", secretKey: "key" };
export const credentials: CredentialSource = { getCredential: () => Promise.resolve(CREDENTIAL) };
