// What the network-fault tests share: a kubeconfig that reaches the API server through a proxy, and
// the checks every fault ends with (nothing lost, no duplicate successful Detach, the quota kept).
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JournalEntry } from "../emulator/journal.ts";
import { loadKubeConfig } from "./cluster.ts";

/**
 * A copy of the kubeconfig at `path` whose server is https://`address` (a proxy on 127.0.0.1): the API
 * server's certificate names 127.0.0.1, whatever the port, so TLS is checked as before.
 */
export async function proxiedKubeconfig(path: string, address: string): Promise<string> {
  const kc = loadKubeConfig(path);
  kc.clusters = kc.clusters.map((cluster) => ({ ...cluster, server: `https://${address}` }));
  const file = join(await mkdtemp(join(tmpdir(), "proxied-kubeconfig-")), "kubeconfig");
  await writeFile(file, kc.exportConfig(), { mode: 0o600 });
  return file;
}

const DETACH = "DetachNetworkInterface";

/** The ENIs ECM detached more than once with Success, each with its count. */
export function duplicateDetaches(journal: readonly JournalEntry[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const call of journal) {
    if (call.action !== DETACH || call.code !== "Success") continue;
    const params = call.params as { NetworkInterfaceId?: string } | null;
    const id = params?.NetworkInterfaceId ?? "";
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].filter(([, count]) => count > 1));
}

/** The most calls of one action ECM received in one wall-clock second. */
export function busiestSecond(journal: readonly JournalEntry[]): number {
  const perSecond = new Map<string, number>();
  for (const call of journal) {
    const key = `${call.action}@${Math.floor(Date.parse(call.time) / 1000)}`;
    perSecond.set(key, (perSecond.get(key) ?? 0) + 1);
  }
  return Math.max(0, ...perSecond.values());
}
