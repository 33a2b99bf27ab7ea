import type { EniAttachment } from "../api/eniattachment.ts";
import { CREDENTIALS_FINALIZER, type CredentialsFinalizer } from "../kube/credentials-finalizer.ts";
import type { EventRecorder } from "../kube/event-recorder.ts";
import { findCached, type ResilientInformer } from "../kube/informer.ts";
import type { Secret } from "../kube/secrets.ts";
import * as text from "./messages.ts";
import type { ReconcilerDeps } from "./reconciler.ts";
import type { ResourceIndex } from "./resource-index.ts";

// What the credentials Secrets' finalizer needs from the resources' side: who uses a Secret last, and
// whom to tell when a held one is being deleted.

/** A resource's finalizer removal, in its credentials Secret's turn: the index learns at once that it needs the Secret no more. */
export function lastUseOf(holds: CredentialsFinalizer, index: ResourceIndex): NonNullable<ReconcilerDeps["lastUse"]> {
  return async (resource, persist, letGo) => {
    const removed = async () => {
      await letGo();
      index.letGo(resource);
    };
    const secret = resource.spec.credentialsSecretRef?.name;
    const namespace = resource.metadata.namespace ?? "";
    if (secret === undefined) {
      await removed();
      return true;
    }
    return holds.lastUse(namespace, secret, () => !index.needed(namespace, secret, resource), persist, removed);
  };
}

/** A held Secret's deletion was requested: one event on it and one on each resource naming it say which hold it. */
export async function tellDeletionWaits(
  secret: Secret,
  index: ResourceIndex,
  events: EventRecorder,
  informers: readonly ResilientInformer<EniAttachment>[],
): Promise<void> {
  const { namespace = "", name = "" } = secret.metadata ?? {};
  const namers = index.namers(namespace, name);
  const metadata = secret.metadata ?? {};
  await events.record(
    { apiVersion: "v1", kind: "Secret", metadata },
    { type: "Warning", reason: "CredentialsInUse", message: text.secretDeletionWaits(CREDENTIALS_FINALIZER, namers) },
  );
  const message = text.credentialsSecretDeleting(`${namespace}/${name}`, namers);
  for (const namer of namers) {
    const resource = findCached(informers, namespace, namer);
    if (resource) await events.record(resource, { type: "Warning", reason: "CredentialsSecretDeleting", message });
  }
}
