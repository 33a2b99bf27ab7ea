// What the leader hand-over tests share: when a replica became leader, resources created and waited
// for until Attached, and the API server's audit log of one namespace.
import { readFile } from "node:fs/promises";
import type { CustomObjectsApi } from "@kubernetes/client-node";
import { inject } from "vitest";
import { API_VERSION, GROUP, KIND, PLURAL, VERSION, type EniAttachment } from "../../src/api/eniattachment.ts";
import { auditLogPath } from "../controlplane/kube-apiserver.ts";
import { waitFor, type RunningOperator } from "./operator.ts";
import { REGION, eniId, instanceId } from "./scenario.ts";

export interface AuditEvent {
  user: { username: string };
  verb: string;
  objectRef?: { resource?: string; namespace?: string };
  requestReceivedTimestamp: string;
  responseStatus?: { code?: number };
}

/** When the replica logged "became leader", or undefined while it has not. */
export function leaderSince(replica: RunningOperator): number | undefined {
  const line = replica.logs.find((l) => l.msg === "became leader");
  return typeof line?.["time"] === "string" ? Date.parse(line["time"]) : undefined;
}

/**
 * Creates one EniAttachment per name, the i-th naming eniId(firstEni + i) on instanceId(1), waits until
 * all are Attached, and returns how to list the namespace's EniAttachments.
 */
export async function createAttached(
  api: CustomObjectsApi,
  namespace: string,
  names: readonly string[],
  firstEni: number,
): Promise<() => Promise<EniAttachment[]>> {
  const base = { group: GROUP, version: VERSION, plural: PLURAL, namespace };
  await Promise.all(
    names.map((name, i) =>
      api.createNamespacedCustomObject({
        ...base,
        body: {
          apiVersion: API_VERSION,
          kind: KIND,
          metadata: { name },
          spec: { networkInterfaceId: eniId(firstEni + i), instanceId: instanceId(1), ecmRegion: REGION },
        },
      }),
    ),
  );
  const list = async () => ((await api.listNamespacedCustomObject(base)) as { items: EniAttachment[] }).items;
  await waitFor(async () => (await list()).every((r) => r.status?.phase === "Attached") || undefined, 60_000);
  return list;
}

/** The API server's audit events about objects in the namespace, in order. */
export async function auditedIn(namespace: string): Promise<AuditEvent[]> {
  return (await readFile(auditLogPath(inject("controlPlaneDir")), "utf8"))
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as AuditEvent)
    .filter((event) => event.objectRef?.namespace === namespace);
}
