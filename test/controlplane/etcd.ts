import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { spawnServer, waitForServer, type ServerProcess } from "./processes.ts";

export interface EtcdOptions {
  binary: string;
  /** The control plane's directory: data goes to <dir>/etcd, the log to <dir>/etcd.log. */
  dir: string;
  clientPort: number;
  peerPort: number;
  survivesParent: boolean;
  timeoutMs?: number;
}

export interface Etcd {
  process: ServerProcess;
  url: string;
}

/** Starts a single-member etcd on loopback and waits until GET /health reports healthy. */
export async function startEtcd(options: EtcdOptions): Promise<Etcd> {
  const url = `http://127.0.0.1:${options.clientPort}`;
  const peerUrl = `http://127.0.0.1:${options.peerPort}`;
  const dataDir = join(options.dir, "etcd");
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const proc = spawnServer({
    name: "etcd",
    binary: options.binary,
    args: [
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      // Test data is disposable: skipping fsync makes every write much faster.
      "--unsafe-no-fsync=true",
      "--log-level=warn",
    ],
    logPath: join(options.dir, "etcd.log"),
    survivesParent: options.survivesParent,
  });
  await waitForServer(proc, () => isHealthy(url), options.timeoutMs ?? 30_000);
  return { process: proc, url };
}

async function isHealthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
    const body = (await response.json()) as { health?: unknown };
    return response.ok && body.health === "true";
  } catch {
    return false;
  }
}
