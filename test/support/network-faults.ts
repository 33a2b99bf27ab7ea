// The network-fault bed: between the operator and each server (kube-apiserver, ECM) a silencing proxy
// in front of a Toxiproxy proxy, and the faults made with them, by name. Also what the fault tests share:
// a kubeconfig that reaches the API server through a proxy, and the checks every fault ends with (no
// duplicate successful Detach, the quota kept).
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JournalEntry } from "../emulator/journal.ts";
import { loadKubeConfig } from "./cluster.ts";
import { startSilencingProxy, type SilencingProxy } from "./silencing-proxy.ts";
import { startToxiproxy, type Toxic, type ToxiProxy } from "./toxiproxy.ts";

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

/** The way from the operator to one server: a silencing proxy in front of a Toxiproxy proxy. */
export interface Route {
  /** 127.0.0.1:<port>, where the operator connects. */
  readonly address: string;
  readonly silencer: SilencingProxy;
  readonly toxics: ToxiProxy;
}

/** The faults of the bed, by name; each lasts from start() to end(), but silence-open is done at once. */
export type NetworkFault = "silence-open" | "partition" | "resets" | "latency" | "ecm-late";

/** The toxics of each fault, on the routes named. */
const TOXICS: Readonly<Record<Exclude<NetworkFault, "silence-open">, { routes: string[]; toxics: Toxic[] }>> = {
  // timeout 0: every connection, open or new, passes nothing until the toxic is removed.
  partition: {
    routes: ["api", "ecm"],
    toxics: [
      { type: "timeout", stream: "upstream", attributes: { timeout: 0 } },
      { type: "timeout", stream: "downstream", attributes: { timeout: 0 } },
    ],
  },
  resets: {
    routes: ["api", "ecm"],
    toxics: [{ type: "reset_peer", stream: "downstream", toxicity: 0.1, attributes: { timeout: 0 } }],
  },
  latency: {
    routes: ["api", "ecm"],
    toxics: [{ type: "latency", stream: "downstream", attributes: { latency: 2_000 } }],
  },
  // Past ECM's 10 s deadline: calls are carried out, their answers never heard in time.
  "ecm-late": { routes: ["ecm"], toxics: [{ type: "latency", stream: "downstream", attributes: { latency: 15_000 } }] },
};

export interface FaultBed {
  /** A route named `name` ("api", "ecm") to `upstream` (host:port). */
  route(name: string, upstream: string): Promise<Route>;
  start(fault: NetworkFault): Promise<void>;
  end(fault: NetworkFault): Promise<void>;
  close(): Promise<void>;
}

/** Toxiproxy and the silencing proxies, on 127.0.0.1, until close(). */
export async function startFaultBed(): Promise<FaultBed> {
  const toxiproxy = await startToxiproxy();
  const routes = new Map<string, Route>();
  const each = async (names: readonly string[], work: (route: Route) => Promise<void> | void): Promise<void> => {
    for (const name of names) {
      const route = routes.get(name);
      if (route !== undefined) await work(route);
    }
  };
  return {
    route: async (name, upstream) => {
      const toxics = await toxiproxy.proxy(name, upstream);
      const [host = "", port = ""] = toxics.address.split(":");
      const silencer = await startSilencingProxy({ host, port: Number(port) });
      const route = { address: silencer.address, silencer, toxics };
      routes.set(name, route);
      return route;
    },
    start: async (fault) => {
      if (fault === "silence-open") {
        await each([...routes.keys()], (route) => route.silencer.silenceExisting());
        return;
      }
      const { routes: names, toxics } = TOXICS[fault];
      await each(names, async (route) => {
        for (const [i, toxic] of toxics.entries()) await route.toxics.add(`${fault}-${i}`, toxic);
      });
    },
    end: async (fault) => {
      if (fault === "silence-open") return;
      const { routes: names, toxics } = TOXICS[fault];
      await each(names, async (route) => {
        for (const i of toxics.keys()) await route.toxics.remove(`${fault}-${i}`);
      });
    },
    close: async () => {
      await each([...routes.keys()], (route) => route.silencer.close());
      await toxiproxy.close();
    },
  };
}
