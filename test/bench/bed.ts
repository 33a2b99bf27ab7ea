// The benchmark's test bed: its own control plane and emulator process, an operator process per phase
// and namespace, and a watch that timestamps what happens to the resources.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, CustomObjectsApi, type KubeConfig, Watch } from "@kubernetes/client-node";
import { API_VERSION, GROUP, KIND, PLURAL, VERSION } from "../../src/api/eniattachment.ts";
import type { ControlPlane } from "../controlplane/control-plane.ts";
import type { JournalEntry } from "../emulator/journal.ts";
import { DEFAULT_CREDENTIAL, type RunningEmulator } from "../emulator/server.ts";
import { loadKubeConfig } from "../support/cluster.ts";
import { startOperator, waitFor, type RunningOperator } from "../support/operator.ts";
import { startOwnControlPlane } from "../support/own-control-plane.ts";
import { REGION, emulatorProcess, inBatches, instanceId } from "../support/scenario.ts";

export const ACCOUNTS = {
  a: { secretId: "AKIDbenchACCOUNTa000000000000000000", secretKey: "benchAccountAsecretKey0000000000" },
  b: { secretId: "AKIDbenchACCOUNTb000000000000000000", secretKey: "benchAccountBsecretKey0000000000" },
};
const DOCKERFILE = fileURLToPath(new URL("../../Dockerfile", import.meta.url));
const BUNDLE = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

/**
 * The operator as the image runs it: the bundle `npm run build` made, with the Node.js flags of the
 * Dockerfile's ENTRYPOINT (["/nodejs/bin/node", ...flags, "/app/dist/main.js"]), read from there so
 * that the figures are those of what ships.
 */
function imageEntry(): { script: string; nodeArgs: string[] } {
  const line = readFileSync(DOCKERFILE, "utf8")
    .split("\n")
    .find((l) => l.startsWith("ENTRYPOINT "));
  const entrypoint: unknown = JSON.parse(line?.slice("ENTRYPOINT ".length) ?? "null");
  if (!Array.isArray(entrypoint) || !entrypoint.every((a) => typeof a === "string") || entrypoint.length < 2) {
    throw new Error(`the Dockerfile's ENTRYPOINT is not an exec-form array: ${line ?? "none"}`);
  }
  return { script: BUNDLE, nodeArgs: entrypoint.slice(1, -1) };
}

export interface Bed {
  readonly controlPlane: ControlPlane;
  readonly emulator: RunningEmulator;
  readonly kubeconfig: string;
  readonly api: CustomObjectsApi;
  readonly core: CoreV1Api;
  readonly kc: KubeConfig;
  close(): Promise<void>;
}

export async function startBed(): Promise<Bed> {
  const controlPlane = await startOwnControlPlane();
  const dir = mkdtempSync(join(tmpdir(), "eni-operator-bench-"));
  const credentialsFile = join(dir, "credentials.json");
  writeFileSync(credentialsFile, JSON.stringify([DEFAULT_CREDENTIAL, ACCOUNTS.a, ACCOUNTS.b]));
  let emulator: RunningEmulator;
  try {
    // Its detaches complete in 200 ms, before the operator's first confirmation poll (0.3 s): a
    // detach is confirmed at the first look.
    emulator = await emulatorProcess(["--credentials-file", credentialsFile]);
  } catch (error) {
    await controlPlane.stop();
    throw error;
  }
  const kc = loadKubeConfig(controlPlane.adminKubeconfigPath);
  return {
    controlPlane,
    emulator,
    kubeconfig: controlPlane.adminKubeconfigPath,
    api: kc.makeApiClient(CustomObjectsApi),
    core: kc.makeApiClient(CoreV1Api),
    kc,
    close: async () => {
      await emulator.close();
      await controlPlane.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A namespace of the phase's own, so each operator sees only its phase's resources. */
export async function createNamespace(bed: Bed, name: string): Promise<void> {
  await bed.core.createNamespace({ body: { metadata: { name } } });
}

export interface ResourceSpec {
  name: string;
  eni: string;
  /** A Secret in the namespace holding the account's credentials. */
  secret?: string;
}

/** Adds the ENIs, attached, to the emulator and creates their EniAttachments. */
export async function createResources(bed: Bed, namespace: string, specs: readonly ResourceSpec[]): Promise<void> {
  await bed.emulator.control.addEnis(
    specs.map((s) => ({ networkInterfaceId: s.eni, ecmRegion: REGION, attachedInstanceId: instanceId(1) })),
  );
  await inBatches(specs, 50, (s) =>
    bed.api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      body: {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: s.name },
        spec: {
          networkInterfaceId: s.eni,
          instanceId: instanceId(1),
          ecmRegion: REGION,
          ...(s.secret ? { credentialsSecretRef: { name: s.secret } } : {}),
        },
      },
    }),
  );
}

export function deleteResource(bed: Bed, namespace: string, name: string): Promise<unknown> {
  return bed.api.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name });
}

/** When each resource was first seen Attached, and when it was gone, by name. */
export interface Tracker {
  readonly attachedAt: ReadonlyMap<string, number>;
  readonly goneAt: ReadonlyMap<string, number>;
  /** Resolves when `count` resources have been seen Attached. */
  attached(count: number, timeoutMs: number): Promise<number>;
  /** Resolves when `count` resources have been seen deleted. */
  gone(count: number, timeoutMs: number): Promise<number>;
  stop(): void;
}

interface Watched {
  metadata?: { name?: string; resourceVersion?: string };
  status?: { phase?: string };
}

/** Watches the namespace's EniAttachments; started before the resources exist, so it misses none. */
export async function track(bed: Bed, namespace: string): Promise<Tracker> {
  const attachedAt = new Map<string, number>();
  const goneAt = new Map<string, number>();
  const watch = new Watch(bed.kc);
  let stopped = false;
  let resourceVersion = "";
  let abort: (() => void) | undefined;
  const path = `/apis/${API_VERSION}/namespaces/${namespace}/${PLURAL}`;
  const open = async (): Promise<void> => {
    const request = await watch.watch(
      path,
      resourceVersion ? { resourceVersion, allowWatchBookmarks: true } : { allowWatchBookmarks: true },
      (type: string, object: Watched) => {
        const name = object.metadata?.name ?? "";
        resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
        if (type === "DELETED") goneAt.set(name, Date.now());
        else if (object.status?.phase === "Attached" && !attachedAt.has(name)) attachedAt.set(name, Date.now());
      },
      () => {
        if (!stopped) void open();
      },
    );
    abort = () => request.abort();
  };
  await open();
  const until = (map: ReadonlyMap<string, number>, count: number, timeoutMs: number, what: string) =>
    waitFor(() => (map.size >= count ? Date.now() : 0), timeoutMs, 10).catch((error: unknown) => {
      throw new Error(`${map.size} of ${count} resources ${what}`, { cause: error });
    });
  return {
    attachedAt,
    goneAt,
    attached: (count, timeoutMs) => until(attachedAt, count, timeoutMs, "seen Attached"),
    gone: (count, timeoutMs) => until(goneAt, count, timeoutMs, "seen deleted"),
    stop: () => {
      stopped = true;
      abort?.();
    },
  };
}

export interface OperatorRun {
  readonly operator: RunningOperator;
  readonly pid: number;
  /** When the process was spawned, and when /readyz first answered 200 (epoch ms). */
  readonly spawnedAt: number;
  readonly readyAt: number;
}

/**
 * Starts the operator on one namespace, logging at the production default level, and times its readiness;
 * `kubeconfig` (the bed's by default) may reach the API server another way, through a fault proxy.
 */
export async function runOperator(
  bed: Bed,
  namespace: string,
  extraArgs: readonly string[] = [],
  kubeconfig = bed.kubeconfig,
): Promise<OperatorRun> {
  const spawnedAt = Date.now();
  const operator = await startOperator({
    kubeconfig,
    namespace,
    ecmEndpoint: bed.emulator.url,
    credentials: DEFAULT_CREDENTIAL,
    extraArgs: ["--log-level=info", ...extraArgs],
    skipReadyWait: true,
    entry: imageEntry(),
  });
  const readyAt = await waitFor(
    async () => ((await fetch(`${operator.probesUrl}/readyz`).catch(() => undefined))?.ok ? Date.now() : 0),
    60_000,
    5,
  );
  const pid = operator.process.pid;
  if (pid === undefined) throw new Error("the operator process has no pid");
  return { operator, pid, spawnedAt, readyAt };
}

/** The journal's entries after `seq`. */
export function callsSince(bed: Bed, seq: number): Promise<JournalEntry[]> {
  return bed.emulator.control.calls(seq);
}

/** The journal's last sequence number: later reads take only what came after it. */
export async function journalEnd(bed: Bed): Promise<number> {
  return (await bed.emulator.control.calls()).at(-1)?.seq ?? 0;
}
