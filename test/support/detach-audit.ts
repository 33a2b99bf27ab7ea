// Checks a batch of deletions against what ECM saw (the emulator's journal) and what the API server
// stored (etcd's history of each object): every resource's finalizer was released only after a Detach
// that ECM accepted and a later Describe that showed the interface detached, and no interface was
// detached twice with Success.
import { FINALIZER, GROUP, PLURAL } from "../../src/api/eniattachment.ts";
import type { JournalEntry } from "../emulator/journal.ts";
import { field, type EtcdHistory } from "./etcd-history.ts";

export interface AuditedResource {
  name: string;
  networkInterfaceId: string;
  instanceId: string;
}

export interface DetachAudit {
  /** Resources whose finalizer was released (the object deleted, or the finalizer removed). */
  released: number;
  /** Each a sentence naming the resource and what went wrong; empty when everything held. */
  violations: string[];
}

/** The etcd key prefix of one namespace's EniAttachments. */
export function eniAttachmentPrefix(namespace: string): string {
  return `/registry/${GROUP}/${PLURAL}/${namespace}/`;
}

function holdsFinalizer(object: unknown): boolean {
  const finalizers = field(field(object, "metadata"), "finalizers");
  return Array.isArray(finalizers) && finalizers.includes(FINALIZER);
}

const names = (entry: JournalEntry, id: string): boolean => field(entry.params, "NetworkInterfaceId") === id;

/** `history` must start once every resource holds its finalizer (say, once all are Attached). */
export function auditDetaches(
  namespace: string,
  resources: readonly AuditedResource[],
  history: EtcdHistory,
  journal: readonly JournalEntry[],
): DetachAudit {
  const violations: string[] = [];
  let released = 0;
  for (const resource of resources) {
    const versions = history.of(`${eniAttachmentPrefix(namespace)}${resource.name}`);
    const release = versions.find((version) => !holdsFinalizer(version.object));
    if (release === undefined) {
      violations.push(`${resource.name}: its finalizer was never released`);
      continue;
    }
    released += 1;
    const detaches = journal.filter(
      (entry) =>
        entry.action === "DetachNetworkInterface" &&
        entry.code === "Success" &&
        names(entry, resource.networkInterfaceId),
    );
    if (detaches.length !== 1) {
      violations.push(
        `${resource.name}: ${resource.networkInterfaceId} was detached ${detaches.length} times with Success`,
      );
    }
    const detach = detaches[0];
    if (detach === undefined || Date.parse(detach.time) > release.receivedAt) {
      violations.push(`${resource.name}: released at revision ${release.revision} before any accepted Detach`);
      continue;
    }
    const confirmed = journal.some(
      (entry) =>
        entry.action === "DescribeNetworkInterfaces" &&
        entry.seq > detach.seq &&
        Date.parse(entry.time) <= release.receivedAt &&
        (entry.reported ?? []).some(
          (eni) =>
            eni.networkInterfaceId === resource.networkInterfaceId &&
            eni.state === "AVAILABLE" &&
            eni.instanceId !== resource.instanceId,
        ),
    );
    if (!confirmed) {
      violations.push(
        `${resource.name}: released at revision ${release.revision} with no Describe showing ` +
          `${resource.networkInterfaceId} detached after its Detach`,
      );
    }
  }
  return { released, violations };
}
