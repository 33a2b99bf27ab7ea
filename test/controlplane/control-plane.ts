import { rmSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Binaries } from "./binaries.ts";
import { startEtcd } from "./etcd.ts";
import { startKubeApiserver } from "./kube-apiserver.ts";
import { userKubeconfig, writeKubeconfig } from "./kubeconfig.ts";
import { createClusterPki, issueClientCert } from "./pki.ts";
import { freePorts, isPortFree } from "./ports.ts";
import { isRunning, killServersNow, rssBytes, stopServers, type ServerProcess } from "./processes.ts";
import { waitFor } from "./wait.ts";

/** Everything needed to use or stop a running control plane; the CLI keeps it as JSON. */
export interface ControlPlaneInfo {
  /** Holds the PKI, etcd's data, the logs and the kubeconfigs; stop() removes it. */
  dir: string;
  server: string;
  adminKubeconfigPath: string;
  kubectl: string;
  helm: string;
  /** etcd client and peer ports, then the apiserver's. */
  ports: number[];
  processes: { etcd: ServerProcess; kubeApiserver: ServerProcess };
  startedAt: string;
  /** From the call to startControlPlane until namespace `default` existed, certificates included. */
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

/** Starts etcd and kube-apiserver on loopback ports, each with its own data, and waits until both serve. */
export async function startControlPlane(options: StartControlPlaneOptions): Promise<ControlPlane> {
  const began = performance.now();
  const startedAt = new Date().toISOString();
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "eni-operator-control-plane-")));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const survivesParent = options.survivesParent ?? false;
  const started: ServerProcess[] = [];
  // Test servers die with this process even when teardown never runs (the kernel's parent-death
  // signal covers a killed process; this covers an exit that skipped teardown and removes the files).
  const exitGuard = survivesParent
    ? undefined
    : (): void => {
        killServersNow(started);
        rmSync(dir, { recursive: true, force: true });
      };
  if (exitGuard !== undefined) process.on("exit", exitGuard);
  try {
    const pki = await createClusterPki(dir);
    const admin = await issueClientCert(dir, "admin", ["system:masters"]);
    const ports = await freePorts(3);
    const [etcdClientPort, etcdPeerPort, apiserverPort] = ports as [number, number, number];
    const { binaries } = options;
    const etcd = await startEtcd({
      binary: binaries.etcd,
      dir,
      clientPort: etcdClientPort,
      peerPort: etcdPeerPort,
      survivesParent,
    });
    started.push(etcd.process);
    const apiserver = await startKubeApiserver({
      binary: binaries.kubeApiserver,
      dir,
      port: apiserverPort,
      etcdUrl: etcd.url,
      pki,
      admin,
      survivesParent,
    });
    started.push(apiserver);
    const server = `https://127.0.0.1:${apiserverPort}`;
    const adminKubeconfigPath = await writeKubeconfig(
      dir,
      server,
      "admin",
      { clientCert: admin },
      join(dir, "admin.kubeconfig"),
    );
    const info: ControlPlaneInfo = {
      dir,
      server,
      adminKubeconfigPath,
      kubectl: binaries.kubectl,
      helm: binaries.helm,
      ports,
      processes: { etcd: etcd.process, kubeApiserver: apiserver },
      startedAt,
      startMs: Math.round(performance.now() - began),
    };
    return new ControlPlane(info, exitGuard);
  } catch (cause) {
    await stopServers(started);
    await rm(dir, { recursive: true, force: true });
    if (exitGuard !== undefined) process.off("exit", exitGuard);
    throw cause;
  }
}

/** A running etcd + kube-apiserver, started here or (for the CLI) recorded by an earlier process. */
export class ControlPlane {
  readonly info: ControlPlaneInfo;
  readonly #exitGuard: (() => void) | undefined;
  #stopped: Promise<void> | undefined;

  constructor(info: ControlPlaneInfo, exitGuard?: () => void) {
    this.info = info;
    this.#exitGuard = exitGuard;
  }

  get dir(): string {
    return this.info.dir;
  }

  get server(): string {
    return this.info.server;
  }

  get adminKubeconfigPath(): string {
    return this.info.adminKubeconfigPath;
  }

  get kubectl(): string {
    return this.info.kubectl;
  }

  get helm(): string {
    return this.info.helm;
  }

  get startMs(): number {
    return this.info.startMs;
  }

  get pids(): { etcd: number; kubeApiserver: number } {
    const { etcd, kubeApiserver } = this.info.processes;
    return { etcd: etcd.pid, kubeApiserver: kubeApiserver.pid };
  }

  /** Whether both servers still run (it does not probe their health). */
  isRunning(): boolean {
    return Object.values(this.info.processes).every(isRunning);
  }

  /** Writes a kubeconfig for a client-certificate user, subject to RBAC unless in system:masters. */
  kubeconfigFor(user: string, groups: readonly string[] = []): Promise<string> {
    return userKubeconfig(this.dir, this.server, user, groups);
  }

  /** Resident memory of etcd and kube-apiserver together. */
  async rssBytes(): Promise<number> {
    const sizes = await Promise.all(Object.values(this.info.processes).map((p) => rssBytes(p.pid)));
    return sizes.reduce((sum, size) => sum + size, 0);
  }

  /**
   * Stops both servers (SIGTERM, then SIGKILL after a grace period), waits until their ports are free
   * and removes the directory. Calling it again returns the same promise.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    // The apiserver first, so it does not spend its shutdown retrying a vanished etcd.
    await stopServers([this.info.processes.kubeApiserver]);
    await stopServers([this.info.processes.etcd]);
    const { ports } = this.info;
    await waitFor(async () => ((await Promise.all(ports.map(isPortFree))).every(Boolean) ? true : undefined), {
      what: `ports ${ports.join(", ")} to be released (see \`ss -ltnp\`)`,
      timeoutMs: 10_000,
    });
    await rm(this.dir, { recursive: true, force: true });
    if (this.#exitGuard !== undefined) process.off("exit", this.#exitGuard);
  }
}
