import { existsSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Binaries } from "./binaries.ts";
import type { CertAndKey } from "./certs.ts";
import { startEtcd } from "./etcd.ts";
import { startKubeApiserver } from "./kube-apiserver.ts";
import { startKubeControllerManager } from "./kube-controller-manager.ts";
import { userKubeconfig, writeKubeconfig } from "./kubeconfig.ts";
import { clusterPki, createClusterPki, issueClientCert } from "./pki.ts";
import { freePorts, isPortFree } from "./ports.ts";
import { isRunning, killServersNow, rssBytes, stopServers, type ServerProcess } from "./processes.ts";
import { waitFor } from "./wait.ts";

/** The servers of a control plane, in the order they start (and the reverse of the order they stop). */
export const SERVERS = ["etcd", "kubeApiserver", "kubeControllerManager"] as const;
export type ServerName = (typeof SERVERS)[number];

/** Everything needed to use, stop or restart a control plane; the CLI keeps it as JSON. */
export interface ControlPlaneInfo {
  /** Holds the PKI, etcd's data, the logs and the kubeconfigs; stop() removes it. */
  dir: string;
  server: string;
  adminKubeconfigPath: string;
  /** The admin's client certificate, which the readiness probes use. */
  adminCert: CertAndKey;
  /** kube-controller-manager's own kubeconfig. */
  controllerManagerKubeconfigPath: string;
  binaries: Binaries;
  /** etcd client and peer ports, then the apiserver's. */
  ports: number[];
  /** Whether the servers outlive the process that started them (`npm run cluster:up`). */
  survivesParent: boolean;
  processes: Record<ServerName, ServerProcess>;
  startedAt: string;
  /** From the call to startControlPlane until every server was ready, certificates included. */
  startMs: number;
}

export interface StartControlPlaneOptions {
  binaries: Binaries;
  /** Where to keep everything; a new temporary directory when absent. */
  dir?: string;
  /**
   * true: the servers outlive this process (`npm run cluster:up`). false (default): they die with it,
   * however it dies.
   */
  survivesParent?: boolean;
}

type Layout = Omit<ControlPlaneInfo, "processes" | "startedAt" | "startMs">;

const etcdUrl = (layout: Layout): string => `http://127.0.0.1:${String(layout.ports[0])}`;

/** Starts one server of the control plane with the ports, certificates and data recorded in the layout. */
async function startServer(layout: Layout, name: ServerName): Promise<ServerProcess> {
  const { binaries, dir, survivesParent } = layout;
  const [clientPort, peerPort, apiserverPort] = layout.ports as [number, number, number];
  const pki = clusterPki(dir);
  switch (name) {
    case "etcd":
      return (await startEtcd({ binary: binaries.etcd, dir, clientPort, peerPort, survivesParent })).process;
    case "kubeApiserver":
      return startKubeApiserver({
        binary: binaries.kubeApiserver,
        dir,
        port: apiserverPort,
        etcdUrl: etcdUrl(layout),
        pki,
        admin: layout.adminCert,
        survivesParent,
      });
    case "kubeControllerManager":
      return startKubeControllerManager({
        binary: binaries.kubeControllerManager,
        dir,
        server: layout.server,
        kubeconfigPath: layout.controllerManagerKubeconfigPath,
        pki,
        admin: layout.adminCert,
        survivesParent,
      });
  }
}

/**
 * Test servers die with this process even when teardown never runs (the kernel's parent-death signal
 * covers a killed process; this covers an exit that skipped teardown and removes the files).
 */
class ExitGuard {
  readonly #procs = new Set<ServerProcess>();
  readonly #onExit: () => void;

  constructor(dir: string) {
    this.#onExit = () => {
      killServersNow([...this.#procs]);
      rmSync(dir, { recursive: true, force: true });
    };
    process.on("exit", this.#onExit);
  }

  track(proc: ServerProcess): void {
    this.#procs.add(proc);
  }

  release(): void {
    process.off("exit", this.#onExit);
  }
}

/**
 * Starts etcd, kube-apiserver and kube-controller-manager on loopback ports, each with its own data,
 * and waits until all three serve.
 */
export async function startControlPlane(options: StartControlPlaneOptions): Promise<ControlPlane> {
  const began = performance.now();
  const startedAt = new Date().toISOString();
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "eni-operator-control-plane-")));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const survivesParent = options.survivesParent ?? false;
  const guard = survivesParent ? undefined : new ExitGuard(dir);
  const started: ServerProcess[] = [];
  try {
    await createClusterPki(dir);
    const [adminCert, ports] = await Promise.all([issueClientCert(dir, "admin", ["system:masters"]), freePorts(3)]);
    const server = `https://127.0.0.1:${String(ports[2])}`;
    const adminKubeconfigPath = join(dir, "admin.kubeconfig");
    await writeKubeconfig(dir, server, "admin", { clientCert: adminCert }, adminKubeconfigPath);
    // Its own user, so the API server's audit trail names it; in system:masters because with
    // --use-service-account-credentials=false every controller acts as this one user.
    const controllerManagerKubeconfigPath = await userKubeconfig(dir, server, "system:kube-controller-manager", [
      "system:masters",
    ]);
    const layout: Layout = {
      dir,
      server,
      adminKubeconfigPath,
      adminCert,
      controllerManagerKubeconfigPath,
      binaries: options.binaries,
      ports,
      survivesParent,
    };
    const launch = async (name: ServerName): Promise<ServerProcess> => {
      const proc = await startServer(layout, name);
      started.push(proc);
      guard?.track(proc);
      return proc;
    };
    // One after the other: each needs the one before it to serve.
    const etcd = await launch("etcd");
    const kubeApiserver = await launch("kubeApiserver");
    const kubeControllerManager = await launch("kubeControllerManager");
    const info: ControlPlaneInfo = {
      ...layout,
      processes: { etcd, kubeApiserver, kubeControllerManager },
      startedAt,
      startMs: Math.round(performance.now() - began),
    };
    return new ControlPlane(info, guard);
  } catch (cause) {
    await stopServers(started.reverse());
    await rm(dir, { recursive: true, force: true });
    guard?.release();
    throw cause;
  }
}

/**
 * A running control plane, started here or (for the CLI) recorded by an earlier process. Its
 * kube-apiserver can be stopped and started again on the same port, certificates and etcd data.
 */
export class ControlPlane {
  #info: ControlPlaneInfo;
  readonly #guard: ExitGuard | undefined;
  #stopped: Promise<void> | undefined;

  constructor(info: ControlPlaneInfo, guard?: ExitGuard) {
    this.#info = info;
    this.#guard = guard;
  }

  /** What the CLI records; it changes when a server is started again. */
  get info(): ControlPlaneInfo {
    return this.#info;
  }

  get dir(): string {
    return this.#info.dir;
  }

  get server(): string {
    return this.#info.server;
  }

  get adminKubeconfigPath(): string {
    return this.#info.adminKubeconfigPath;
  }

  /** etcd's client URL: tests read the API server's history of an object from it. */
  get etcdUrl(): string {
    return etcdUrl(this.#info);
  }

  get kubectl(): string {
    return this.#info.binaries.kubectl;
  }

  get helm(): string {
    return this.#info.binaries.helm;
  }

  get startMs(): number {
    return this.#info.startMs;
  }

  get pids(): Record<ServerName, number> {
    const { etcd, kubeApiserver, kubeControllerManager } = this.#info.processes;
    return { etcd: etcd.pid, kubeApiserver: kubeApiserver.pid, kubeControllerManager: kubeControllerManager.pid };
  }

  /** Whether every server still runs (it does not probe their health). */
  isRunning(): boolean {
    return this.stoppedServers().length === 0;
  }

  /** The servers that no longer run, in start order. */
  stoppedServers(): ServerName[] {
    return SERVERS.filter((name) => !isRunning(this.#info.processes[name]));
  }

  /** Whether the directory still holds what a restart needs (certificates, etcd's data). */
  canRestart(): boolean {
    return existsSync(clusterPki(this.dir).serving.certPath) && existsSync(join(this.dir, "etcd"));
  }

  /**
   * Starts again, in order, every server that has stopped, with the same ports, certificates and data.
   * Returns the names of those it started.
   */
  async startStopped(): Promise<ServerName[]> {
    const stopped = this.stoppedServers();
    for (const name of stopped) {
      const proc = await startServer(this.#info, name);
      this.#guard?.track(proc);
      this.#info = { ...this.#info, processes: { ...this.#info.processes, [name]: proc } };
    }
    return stopped;
  }

  /** Stops kube-apiserver (SIGTERM, then SIGKILL after the grace period); etcd and its data stay. */
  async stopKubeApiserver(graceMs?: number): Promise<void> {
    await stopServers([this.#info.processes.kubeApiserver], graceMs);
    await waitFor(async () => ((await isPortFree(Number(this.#info.ports[2]))) ? true : undefined), {
      what: `kube-apiserver's port ${String(this.#info.ports[2])} to be released (see \`ss -ltnp\`)`,
      timeoutMs: 10_000,
    });
  }

  /** Starts kube-apiserver again on the same port, certificates and etcd data, and waits until it serves. */
  async startKubeApiserver(): Promise<void> {
    if (isRunning(this.#info.processes.kubeApiserver)) throw new Error("kube-apiserver is already running");
    await this.startStopped();
  }

  /** Writes a kubeconfig for a client-certificate user, subject to RBAC unless in system:masters. */
  kubeconfigFor(user: string, groups: readonly string[] = []): Promise<string> {
    return userKubeconfig(this.dir, this.server, user, groups);
  }

  /** Resident memory of the servers together. */
  async rssBytes(): Promise<number> {
    const sizes = await Promise.all(Object.values(this.#info.processes).map((p) => rssBytes(p.pid)));
    return sizes.reduce((sum, size) => sum + size, 0);
  }

  /**
   * Stops every server (SIGTERM, then SIGKILL after a grace period), waits until their ports are free
   * and removes the directory. Calling it again returns the same promise.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    // Clients of etcd first, so they do not spend their shutdown retrying a vanished server.
    for (const name of [...SERVERS].reverse()) await stopServers([this.#info.processes[name]]);
    const { ports } = this.#info;
    await waitFor(async () => ((await Promise.all(ports.map(isPortFree))).every(Boolean) ? true : undefined), {
      what: `ports ${ports.join(", ")} to be released (see \`ss -ltnp\`)`,
      timeoutMs: 10_000,
    });
    await rm(this.dir, { recursive: true, force: true });
    this.#guard?.release();
  }
}
