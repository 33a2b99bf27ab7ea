// The fault campaign: on a control plane of its own, N resources are deleted while ECM (the emulator)
// fails a quarter of the calls in mixed ways and throttles some more, the operator is SIGKILLed and
// restarted, kube-apiserver is restarted, Describe lags behind accepted calls as a cloud's does, and
// the network between the operator and its servers misbehaves (the fault bed of network-faults.ts:
// open connections silenced, a partition, resets, latency, ECM answering past its deadline), each
// fault for a while. A share of the resources live in a tenant namespace, name its credentials Secret
// (per-resource credentials) and go with that namespace, deleted meanwhile. Afterwards every resource
// must be gone, the tenant namespace too, every ENI detached, no finalizer released without a
// confirmed detach, and no ENI detached twice with Success.
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { API_VERSION, GROUP, KIND, PLURAL, VERSION } from "../../src/api/eniattachment.ts";
import type { FaultRule } from "../emulator/faults.ts";
import type { JournalEntry } from "../emulator/journal.ts";
import { auditDetaches, eniAttachmentPrefix } from "./detach-audit.ts";
import { field, recordEtcdHistory, type EtcdHistory } from "./etcd-history.ts";
import { proxiedKubeconfig, startFaultBed, type NetworkFault } from "./network-faults.ts";
import { startOwnControlPlane } from "./own-control-plane.ts";
import { waitFor } from "./operator.ts";
import { DEFAULT_CREDENTIAL, TEAM_CREDENTIAL } from "../emulator/server.ts";
import { loadKubeConfig, testNamespace } from "./cluster.ts";
import { REGION, eniId, inBatches, instanceId, startScenario } from "./scenario.ts";

/** The share of resources that name the tenant's Secret and go with its namespace. */
const TENANT_SHARE = 0.1;
const TENANT_SECRET = "tenant";

export interface CampaignOptions {
  resources: number;
  kills: number;
  apiserverRestarts: number;
  /** Share of ECM calls failed with a service fault (mixed codes, transport errors, delays). */
  serviceFaultRate: number;
  /** Share of ECM calls answered RequestLimitExceeded. */
  throttleRate: number;
  /** Network faults, each started once and, but for silence-open, lasting networkFaultMs. */
  networkFaults: readonly NetworkFault[];
  networkFaultMs: number;
  /** For this long after an accepted call, describeLagShare of the Describes show the state before it. */
  describeLagMs: number;
  describeLagShare: number;
  /** Seeds the moments of the kills, restarts and network faults; printed, so a run can be repeated. */
  seed: number;
  timeoutMs: number;
}

export interface CampaignResult {
  violations: string[];
  released: number;
  /** Of all resources, those in the tenant namespace. */
  tenantResources: number;
  /** Whether the tenant namespace (and with it its Secret) is gone. */
  tenantNamespaceGone: boolean;
  /** Resources still present, ENIs still attached: both must be empty. */
  remaining: number;
  attachedEnis: string[];
  detachSuccesses: Map<string, number>;
}

/** The service faults, in equal shares: ECM's codes, broken transports, slow answers and timeouts. */
const SERVICE_FAULTS: readonly Omit<FaultRule, "probability">[] = [
  { code: "InternalError" },
  { code: "ServiceUnavailable" },
  { code: "FailedOperation.InternalOperationFailure" },
  { code: "ResourceUnavailable" },
  { code: "HTTP_502" },
  { code: "HTTP_503" },
  { code: "MALFORMED_BODY" },
  { code: "DROP_CONNECTION" },
  { delayMs: 1_500 },
  // Longer than the operator's 10 s ECM timeout: the call is carried out, its answer never heard.
  { delayMs: 11_000 },
];

/** mulberry32: small, seedable, good enough to place a handful of events. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Rules whose first match applies, each drawn in turn: rule i's probability is its share of what the
 * rules before it left, so the throttle gets `throttleRate` of all calls and each service fault
 * `serviceFaultRate / SERVICE_FAULTS.length`.
 */
function faultRules(options: CampaignOptions): FaultRule[] {
  const share = options.serviceFaultRate / SERVICE_FAULTS.length;
  let left = 1 - options.throttleRate;
  const rules: FaultRule[] = [{ code: "RequestLimitExceeded", probability: options.throttleRate }];
  for (const fault of SERVICE_FAULTS) {
    rules.push({ ...fault, probability: share / left });
    left -= share;
  }
  return rules;
}

const count = <T>(items: readonly T[], key: (item: T) => string | undefined): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const item of items) {
    const k = key(item);
    if (k !== undefined) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
};
const listed = (counts: Map<string, number>): string =>
  [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");

export async function runCampaign(options: CampaignOptions, log: (line: string) => void): Promise<CampaignResult> {
  const campaignStart = performance.now();
  const at = (): string => `${((performance.now() - campaignStart) / 1000).toFixed(1).padStart(6)} s`;
  const say = (line: string): void => {
    log(`[${at()}] ${line}`);
  };
  const random = seededRandom(options.seed);
  const controlPlane = await startOwnControlPlane();
  say(`fresh control plane ${controlPlane.server} (seed ${options.seed})`);
  const kubeconfig = controlPlane.adminKubeconfigPath;
  let tenant = "";
  const network = await startFaultBed();
  const api = await network.route("api", new URL(controlPlane.server).host);
  const s = await startScenario("chaos", {
    kubeconfig,
    emulator: {
      credentials: [DEFAULT_CREDENTIAL, TEAM_CREDENTIAL],
      describeLagMs: options.describeLagMs,
      describeLagShare: options.describeLagShare,
    },
    operatorArgs: ["--per-resource-credentials"],
    prepare: async (_namespace, emulatorUrl) => {
      tenant = (await testNamespace("chaos-tenant", kubeconfig)).name;
      return {
        kubeconfig: await proxiedKubeconfig(kubeconfig, api.address),
        operatorArgs: [`--watch-namespace=${tenant}`],
        ecmEndpoint: `http://${(await network.route("ecm", new URL(emulatorUrl).host)).address}`,
      };
    },
  }).catch(async (error: unknown) => {
    await network.close();
    throw error;
  });
  const ongoing = new Map<NetworkFault, NodeJS.Timeout>();
  const core = loadKubeConfig(kubeconfig).makeApiClient(CoreV1Api);
  const objects = loadKubeConfig(kubeconfig).makeApiClient(CustomObjectsApi);
  const inTenant = { group: GROUP, version: VERSION, plural: PLURAL, namespace: tenant };
  const tenantList = async () =>
    ((await objects.listNamespacedCustomObject(inTenant)) as { items: { status?: { phase?: string } }[] }).items;
  const tenantGone = async () => {
    try {
      await core.readNamespace({ name: tenant });
      return false;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return true;
      throw error;
    }
  };
  let history: EtcdHistory | undefined;
  let tenantHistory: EtcdHistory | undefined;
  try {
    const total = options.resources;
    const tenantCount = Math.max(1, Math.round(total * TENANT_SHARE));
    const all = Array.from({ length: total }, (_, i) => ({
      name: `chaos-${i + 1}`,
      networkInterfaceId: eniId(i + 1),
      instanceId: instanceId(1 + (i % 7)),
    }));
    const resources = all.slice(0, total - tenantCount);
    const tenants = all.slice(total - tenantCount);
    await s.emulator.control.addEnis(
      all.map((r) => ({
        networkInterfaceId: r.networkInterfaceId,
        ecmRegion: REGION,
        attachedInstanceId: r.instanceId,
      })),
    );
    await core.createNamespacedSecret({
      namespace: tenant,
      body: { metadata: { name: TENANT_SECRET }, stringData: TEAM_CREDENTIAL },
    });
    for (const r of resources) {
      await s.create(r.name, { networkInterfaceId: r.networkInterfaceId, instanceId: r.instanceId });
    }
    for (const r of tenants) {
      await objects.createNamespacedCustomObject({
        ...inTenant,
        body: {
          apiVersion: API_VERSION,
          kind: KIND,
          metadata: { name: r.name },
          spec: {
            networkInterfaceId: r.networkInterfaceId,
            instanceId: r.instanceId,
            ecmRegion: REGION,
            credentialsSecretRef: { name: TENANT_SECRET },
          },
        },
      });
    }
    const attached = (items: readonly { status?: { phase?: string } }[]) =>
      items.every((r) => r.status?.phase === "Attached");
    await waitFor(async () => attached(await s.list()) && attached(await tenantList()), 120_000, 250);
    say(`${total} EniAttachments created and Attached, ${tenantCount} of them in ${tenant} naming its Secret`);
    // From here on every version is recorded: each object now holds its finalizer.
    history = await recordEtcdHistory(controlPlane.etcdUrl, eniAttachmentPrefix(s.namespace));
    tenantHistory = await recordEtcdHistory(controlPlane.etcdUrl, eniAttachmentPrefix(tenant));
    const recorded = history;
    const tenantRecorded = tenantHistory;

    for (const rule of faultRules(options)) await s.emulator.control.addFault(rule);
    say(
      `faults on: ${options.throttleRate * 100}% RequestLimitExceeded, ${options.serviceFaultRate * 100}% service ` +
        `faults (${SERVICE_FAULTS.map((f) => f.code ?? `delay ${f.delayMs} ms`).join(", ")}); ` +
        `${options.describeLagShare * 100}% of Describes within ${options.describeLagMs} ms of a call show the state before it`,
    );
    // Each kill or restart happens once ECM has accepted a random share (5% to 85%) of the detaches.
    const events: { kind: "kill" | "apiserver" | NetworkFault; after: number }[] = [
      ...Array.from({ length: options.kills }, () => "kill" as const),
      ...Array.from({ length: options.apiserverRestarts }, () => "apiserver" as const),
      ...options.networkFaults,
    ]
      .map((kind) => ({ kind, after: Math.max(1, Math.round(options.resources * (0.05 + 0.8 * random()))) }))
      .sort((a, b) => a.after - b.after)
      // Distinct moments: two events never share a threshold.
      .map((event, i) => ({ ...event, after: Math.min(options.resources - 1, event.after + i) }));
    const what = (kind: (typeof events)[number]["kind"]): string =>
      kind === "kill" ? "SIGKILL operator" : kind === "apiserver" ? "restart kube-apiserver" : `network ${kind}`;
    say(`plan: ${events.map((e) => `${what(e.kind)} after ${e.after} detaches`).join("; ")}`);
    const deletionStart = performance.now();
    const journal: JournalEntry[] = [];
    const readJournal = async (): Promise<void> => {
      journal.push(...(await s.emulator.control.calls(journal.at(-1)?.seq ?? 0)));
    };
    await inBatches(resources, 50, (r) => s.delete(r.name));
    await core.deleteNamespace({ name: tenant });
    say(`${resources.length} deletions requested, and namespace ${tenant} deleted`);
    const detached = (): number =>
      journal.filter((c) => c.action === "DetachNetworkInterface" && c.code === "Success").length;
    const deadline = Date.now() + options.timeoutMs;
    const networkFault = async (fault: NetworkFault): Promise<void> => {
      await network.start(fault);
      if (fault === "silence-open") {
        say(`network: open connections to the API server and ECM silenced after ${detached()} detaches`);
        return;
      }
      say(`network: ${fault} for ${options.networkFaultMs / 1000} s after ${detached()} detaches`);
      const timer = setTimeout(() => {
        ongoing.delete(fault);
        network.end(fault).then(
          () => {
            say(`network: ${fault} over`);
          },
          (error: unknown) => {
            say(`network: ${fault} could not be ended: ${String(error)}`);
          },
        );
      }, options.networkFaultMs);
      ongoing.set(fault, timer);
    };
    for (;;) {
      await readJournal();
      const next = events[0];
      // Network faults take turns, each with its own share of the time; a process started during a
      // partition could not get ready, so kills and restarts wait for its end.
      const restart = next?.kind === "kill" || next?.kind === "apiserver";
      const deferred = next !== undefined && (restart ? ongoing.has("partition") : ongoing.size > 0);
      if (next !== undefined && !deferred && detached() >= next.after) {
        events.shift();
        if (next.kind !== "kill" && next.kind !== "apiserver") {
          await networkFault(next.kind);
        } else if (next.kind === "kill") {
          say(`SIGKILL operator (pid ${s.operator.process.pid ?? "?"}) after ${detached()} detaches`);
          await s.crashAndRestartOperator();
          say(`operator restarted (pid ${s.operator.process.pid ?? "?"})`);
        } else {
          say(`stopping kube-apiserver after ${detached()} detaches`);
          const stopped = performance.now();
          await controlPlane.stopKubeApiserver();
          await new Promise((resolve) => setTimeout(resolve, 2_000 + random() * 4_000));
          await controlPlane.startKubeApiserver();
          say(`kube-apiserver serving again, ${((performance.now() - stopped) / 1000).toFixed(1)} s after SIGTERM`);
        }
        continue;
      }
      if (events.length === 0 && ongoing.size === 0 && (await s.empty()) && (await tenantGone())) break;
      if (Date.now() > deadline) {
        throw new Error(
          `after ${options.timeoutMs} ms: ${(await s.list()).length} resources left, ` +
            `${(await tenantGone()) ? "tenant namespace gone" : "tenant namespace still there"}, ` +
            `${detached()} detaches accepted`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const deletionMs = performance.now() - deletionStart;
    say(
      `every resource and the tenant namespace gone, ${(deletionMs / 1000).toFixed(1)} s after the deletions were requested`,
    );

    await readJournal();
    const keys = resources.map((r) => `${eniAttachmentPrefix(s.namespace)}${r.name}`);
    const tenantKeys = tenants.map((r) => `${eniAttachmentPrefix(tenant)}${r.name}`);
    await waitFor(() => keys.every((key) => recorded.of(key).some((v) => v.object === undefined)), 10_000, 250);
    await waitFor(
      () => tenantKeys.every((key) => tenantRecorded.of(key).some((v) => v.object === undefined)),
      10_000,
      250,
    );
    const mainAudit = auditDetaches(s.namespace, resources, history, journal);
    const tenantAudit = auditDetaches(tenant, tenants, tenantHistory, journal);
    const audit = {
      released: mainAudit.released + tenantAudit.released,
      violations: [...mainAudit.violations, ...tenantAudit.violations],
    };
    const enis = await s.emulator.control.enis();
    const ecmCalls = journal.filter((c) => c.action !== "AssumeRoleWithWebIdentity");
    const injected = ecmCalls.filter((c) => c.fault !== undefined);
    const detachSuccesses = count(
      ecmCalls.filter((c) => c.action === "DetachNetworkInterface" && c.code === "Success"),
      (c) => {
        const id = field(c.params, "NetworkInterfaceId");
        return typeof id === "string" ? id : undefined;
      },
    );
    say(
      `ECM calls: ${ecmCalls.length} (${(ecmCalls.length / options.resources).toFixed(1)} per resource; ` +
        `${listed(count(ecmCalls, (c) => c.action))})`,
    );
    say(
      `faults injected: ${injected.length} (${((100 * injected.length) / ecmCalls.length).toFixed(1)}% of calls: ` +
        `${listed(count(injected, (c) => c.fault?.code ?? `delay ${c.fault?.delayMs ?? 0} ms`))})`,
    );
    say(
      `answers: ${listed(count(ecmCalls, (c) => c.code))}; operator SIGKILLs ${options.kills}, ` +
        `kube-apiserver restarts ${options.apiserverRestarts}, network faults ${options.networkFaults.join(", ") || "none"}`,
    );
    say(
      `audit: ${audit.released} finalizers released, ${audit.violations.length} violations; ENIs detached twice ` +
        `with Success: ${[...detachSuccesses.values()].filter((n) => n > 1).length}; ` +
        `etcd versions recorded ${history.versions.length}; campaign wall time ${at().trim()}`,
    );
    return {
      violations: audit.violations,
      released: audit.released,
      tenantResources: tenants.length,
      tenantNamespaceGone: await tenantGone(),
      remaining: (await s.list()).length,
      attachedEnis: enis
        .filter((e) => e.state !== "AVAILABLE" || e.attachedInstanceId !== null)
        .map((e) => e.networkInterfaceId),
      detachSuccesses,
    };
  } finally {
    for (const timer of ongoing.values()) clearTimeout(timer);
    history?.stop();
    tenantHistory?.stop();
    await s.close();
    await network.close();
    await controlPlane.stop();
  }
}
