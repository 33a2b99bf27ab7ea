// One operator scenario: a namespace of its own, an ECM emulator, and the real operator process
// watching that namespace. Tests drive resources through the Kubernetes API or kubectl, and read
// what reached ECM from the emulator's journal.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { afterAll, beforeAll, inject } from "vitest";
import { API_VERSION, GROUP, KIND, PLURAL, VERSION } from "../../src/api/eniattachment.ts";
import type { EniAttachment, EniAttachmentSpec } from "../../src/api/eniattachment.ts";
import { startCliEmulator } from "../emulator/clients.ts";
import { EmulatorControl } from "../emulator/control-client.ts";
import type { JournalEntry } from "../emulator/journal.ts";
import { DEFAULT_CREDENTIAL, startEmulator, type EmulatorOptions, type RunningEmulator } from "../emulator/server.ts";
import { kubectl, loadKubeConfig, testNamespace, type ToolResult } from "./cluster.ts";
import { startOperator, waitFor, type RunningOperator } from "./operator.ts";

export const REGION = "ap-xian-ecm";

/** A valid ENI id for number n: eni- and 8 lower-case base-36 digits. */
export function eniId(n: number): string {
  return `eni-${n.toString(36).padStart(8, "0")}`;
}

export function instanceId(n: number): string {
  return `ein-${n.toString(36).padStart(8, "0")}`;
}

/** Runs `work` on the items `size` at a time, as a user's script would. */
export async function inBatches<T>(
  items: readonly T[],
  size: number,
  work: (item: T) => Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}

/** `kubectl apply` of an EniAttachment of the interface to instance 1, as a user would write it. */
export function applyEniAttachment(namespace: string, name: string, networkInterfaceId: string): Promise<ToolResult> {
  return kubectl(["apply", "-n", namespace, "-f", "-"], {
    input: JSON.stringify({
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name },
      spec: { networkInterfaceId, instanceId: instanceId(1), ecmRegion: REGION },
    }),
  });
}

export interface Scenario {
  namespace: string;
  emulator: RunningEmulator;
  readonly operator: RunningOperator;
  /** SIGKILLs the operator, as a node failure or OOM kill would, and starts a new one. */
  /** SIGKILLs the operator, runs `whileDown`, and starts it again. */
  crashAndRestartOperator(whileDown?: () => Promise<void>): Promise<void>;
  create(name: string, spec: Partial<EniAttachmentSpec> & Pick<EniAttachmentSpec, "networkInterfaceId">): Promise<void>;
  get(name: string): Promise<EniAttachment | undefined>;
  list(): Promise<EniAttachment[]>;
  /** Whether the namespace holds no EniAttachment any more: one cheap call, fit for tight polling. */
  empty(): Promise<boolean>;
  patchSpec(name: string, spec: Partial<EniAttachmentSpec>): Promise<void>;
  delete(name: string): Promise<void>;
  /** Waits until the resource satisfies `check`, and returns it. */
  waitFor(name: string, check: (resource: EniAttachment) => boolean, timeoutMs?: number): Promise<EniAttachment>;
  waitForGone(name: string, timeoutMs?: number): Promise<void>;
  /** `kubectl get events` for one resource, as a user would read them. */
  events(name: string): Promise<string>;
  /** Journal entries for an action, optionally one ENI. */
  calls(action?: string, networkInterfaceId?: string): Promise<JournalEntry[]>;
  close(): Promise<void>;
}

export interface ScenarioOptions {
  emulator?: EmulatorOptions;
  /**
   * Run the emulator as its own process (`npm run emulator`), as the cloud is: its clock then never
   * waits for the test's own work, which matters where the test counts calls per second.
   */
  emulatorProcess?: boolean;
  /** More flags for that process, e.g. --credentials-file. */
  emulatorArgs?: readonly string[];
  operatorArgs?: readonly string[];
  /** An admin kubeconfig of another control plane than the suite's (one a test may restart). */
  kubeconfig?: string;
  /**
   * The TKE_* variables of pod identity: the operator then has no other credentials and exchanges its
   * token with the emulator's STS (--sts-endpoint).
   */
  podIdentity?: Readonly<Record<string, string>>;
  /** More environment variables of the operator (HTTP_PROXY, say). */
  operatorEnv?: Readonly<Record<string, string>>;
  /**
   * Runs once the scenario's namespace and emulator exist, before the operator starts: may give the
   * operator another kubeconfig (a ServiceAccount's, say), more flags, and another way to the emulator
   * (a fault proxy in front of it).
   */
  prepare?: (namespace: string, emulatorUrl: string) => Promise<Prepared>;
}

export interface Prepared {
  kubeconfig: string;
  operatorArgs: readonly string[];
  ecmEndpoint?: string;
}

/** The emulator's command line in a process of its own, its detaches completing in 200 ms. */
export async function emulatorProcess(args: readonly string[]): Promise<RunningEmulator> {
  const cli = await startCliEmulator(["--port", "0", "--transition-ms", "200", ...args]);
  return {
    url: cli.url,
    port: cli.port,
    control: new EmulatorControl(cli.url),
    close: async () => {
      await cli.stop();
    },
  };
}

export async function startScenario(prefix: string, options: ScenarioOptions = {}): Promise<Scenario> {
  const kubeconfig = options.kubeconfig ?? inject("kubeconfigPath");
  const ns = await testNamespace(prefix, kubeconfig);
  const emulator = options.emulatorProcess
    ? await emulatorProcess(options.emulatorArgs ?? [])
    : await startEmulator({ transitionMs: 200, ...options.emulator });
  let prepared: Prepared | undefined;
  const launch = () =>
    startOperator({
      kubeconfig: prepared?.kubeconfig ?? kubeconfig,
      namespace: ns.name,
      ecmEndpoint: prepared?.ecmEndpoint ?? emulator.url,
      ...(options.podIdentity === undefined ? { credentials: DEFAULT_CREDENTIAL } : {}),
      env: { ...options.podIdentity, ...options.operatorEnv },
      extraArgs: [
        ...(options.operatorArgs ?? []),
        ...(prepared?.operatorArgs ?? []),
        ...(options.podIdentity === undefined ? [] : [`--sts-endpoint=${emulator.url}`]),
      ],
    });
  let operator: RunningOperator;
  try {
    prepared = options.prepare ? await options.prepare(ns.name, emulator.url) : undefined;
    operator = await launch();
  } catch (error) {
    await emulator.close();
    throw error;
  }
  const api = loadKubeConfig(kubeconfig).makeApiClient(CustomObjectsApi);
  const base = { group: GROUP, version: VERSION, plural: PLURAL, namespace: ns.name };
  const get = async (name: string) => {
    try {
      return (await api.getNamespacedCustomObject({ ...base, name })) as EniAttachment;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined;
      throw error;
    }
  };
  return {
    namespace: ns.name,
    emulator,
    get operator() {
      return operator;
    },
    crashAndRestartOperator: async (whileDown) => {
      operator.process.kill("SIGKILL");
      await operator.stop();
      await whileDown?.();
      operator = await launch();
    },
    create: async (name, spec) => {
      await api.createNamespacedCustomObject({
        ...base,
        body: {
          apiVersion: API_VERSION,
          kind: KIND,
          metadata: { name },
          spec: { instanceId: instanceId(1), ecmRegion: REGION, ...spec },
        },
      });
    },
    get,
    empty: async () =>
      ((await api.listNamespacedCustomObject({ ...base, limit: 1 })) as { items: EniAttachment[] }).items.length === 0,
    list: async () => ((await api.listNamespacedCustomObject({ ...base })) as { items: EniAttachment[] }).items,
    patchSpec: async (name, spec) => {
      await api.patchNamespacedCustomObject(
        { ...base, name, body: { spec } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    },
    delete: async (name) => {
      await api.deleteNamespacedCustomObject({ ...base, name });
    },
    waitFor: (name, check, timeoutMs = 30_000) =>
      waitFor(async () => {
        const resource = await get(name);
        return resource && check(resource) ? resource : undefined;
      }, timeoutMs),
    waitForGone: async (name, timeoutMs = 30_000) => {
      await waitFor(async () => (await get(name)) === undefined, timeoutMs);
    },
    events: async (name) =>
      (
        await kubectl(["get", "events", "-n", ns.name, "--field-selector", `involvedObject.name=${name}`], {
          kubeconfig,
        })
      ).stdout,
    calls: async (action, networkInterfaceId) =>
      (await emulator.control.calls()).filter(
        (call) =>
          (action === undefined || call.action === action) &&
          (networkInterfaceId === undefined ||
            (call.params as { NetworkInterfaceId?: string } | null)?.NetworkInterfaceId === networkInterfaceId),
      ),
    close: async () => {
      await operator.stop();
      await emulator.close();
      await ns.cleanup().catch(() => undefined);
    },
  };
}

/**
 * A scenario started before the enclosing describe block's tests and closed after them. The returned
 * object forwards to it, so tests use it as if it were the scenario itself.
 */
export function useScenario(prefix: string, options: ScenarioOptions = {}): Scenario {
  let current: Scenario | undefined;
  beforeAll(async () => {
    current = await startScenario(prefix, options);
  });
  afterAll(async () => {
    await current?.close();
  });
  return new Proxy({} as Scenario, {
    get: (_target, property) => {
      if (!current) throw new Error(`scenario ${prefix} used outside its describe block's tests`);
      return Reflect.get(current, property) as unknown;
    },
  });
}

export function condition(resource: EniAttachment, type: "Ready" | "Synced") {
  return resource.status?.conditions?.find((c) => c.type === type);
}
