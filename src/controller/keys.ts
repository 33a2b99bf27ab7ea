import type { EniAttachment } from "../api/eniattachment.ts";

/** The work queue's key: namespace/name. */
export function keyFor(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function keyOf(resource: EniAttachment): string {
  return keyFor(resource.metadata.namespace ?? "", resource.metadata.name ?? "");
}
