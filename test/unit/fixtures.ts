import type { EniAttachment, EniAttachmentStatus } from "../../src/api/eniattachment.ts";
import { API_VERSION, FINALIZER, KIND } from "../../src/api/eniattachment.ts";
import type { EniObservation } from "../../src/ecm/observation.ts";

export const NOW = new Date("2026-11-28T12:00:00.000Z");
export const ENI = "eni-m6dyj72l";
export const INSTANCE = "ein-hcs7jkg4";
export const REGION = "ap-xian-ecm";

export function secondsAgo(seconds: number): string {
  return new Date(NOW.getTime() - seconds * 1000).toISOString();
}

export function secondsFromNow(seconds: number): string {
  return new Date(NOW.getTime() + seconds * 1000).toISOString();
}

/** A small builder: `eniAttachment().detached().deleting().withStatus({...}).build()`. */
export class EniAttachmentBuilder {
  private readonly resource: EniAttachment = {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: "web", namespace: "team-a", uid: "uid-1", generation: 1, finalizers: [FINALIZER] },
    spec: {
      networkInterfaceId: ENI,
      instanceId: INSTANCE,
      ecmRegion: REGION,
      desiredState: "Attached",
      deletionPolicy: "Detach",
    },
  };

  detached(): this {
    this.resource.spec.desiredState = "Detached";
    return this;
  }

  orphan(): this {
    this.resource.spec.deletionPolicy = "Orphan";
    return this;
  }

  deleting(): this {
    this.resource.metadata.deletionTimestamp = NOW;
    return this;
  }

  named(namespace: string, name: string): this {
    this.resource.metadata.namespace = namespace;
    this.resource.metadata.name = name;
    return this;
  }

  /** The API server's creationTimestamp, a string in its JSON. */
  createdSecondsAgo(seconds: number): this {
    this.resource.metadata.creationTimestamp = new Date(secondsAgo(seconds));
    return this;
  }

  eni(networkInterfaceId: string): this {
    this.resource.spec.networkInterfaceId = networkInterfaceId;
    return this;
  }

  credentials(secret: string): this {
    this.resource.spec.credentialsSecretRef = { name: secret };
    return this;
  }

  withoutFinalizer(): this {
    this.resource.metadata.finalizers = [];
    return this;
  }

  generation(generation: number): this {
    this.resource.metadata.generation = generation;
    return this;
  }

  withStatus(status: EniAttachmentStatus): this {
    this.resource.status = { observedGeneration: this.resource.metadata.generation ?? 1, ...status };
    return this;
  }

  build(): EniAttachment {
    return structuredClone(this.resource);
  }
}

export function eniAttachment(): EniAttachmentBuilder {
  return new EniAttachmentBuilder();
}

export const attachedToUs: EniObservation = { found: true, state: "AVAILABLE", attachedInstanceId: INSTANCE };
export const attachedElsewhere: EniObservation = {
  found: true,
  state: "AVAILABLE",
  attachedInstanceId: "ein-00000000",
};
export const unattached: EniObservation = { found: true, state: "AVAILABLE", attachedInstanceId: undefined };
/** ECM shows a detaching interface still attached, and an attaching one not attached yet. */
export const detaching: EniObservation = { found: true, state: "DETACHING", attachedInstanceId: INSTANCE };
export const attaching: EniObservation = { found: true, state: "ATTACHING", attachedInstanceId: undefined };
