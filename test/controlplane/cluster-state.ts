import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SERVERS, type ControlPlaneInfo, type ServerName } from "./control-plane.ts";
import type { ServerProcess } from "./processes.ts";

/**
 * Where `npm run cluster:up` keeps its control plane (PKI, etcd data, logs, kubeconfig) and state.json:
 * outside the repository, and per user when XDG_RUNTIME_DIR is set.
 */
export function clusterDir(): string {
  const runtime = process.env["XDG_RUNTIME_DIR"];
  return join(runtime !== undefined && runtime !== "" ? runtime : tmpdir(), "eni-operator-cluster");
}

const statePath = (dir: string): string => join(dir, "state.json");

function isServerProcess(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const proc = value as Partial<Record<keyof ServerProcess, unknown>>;
  return (
    typeof proc.name === "string" &&
    Number.isInteger(proc.pid) &&
    Number.isInteger(proc.startTime) &&
    typeof proc.binary === "string" &&
    typeof proc.logPath === "string"
  );
}

const isString = (value: unknown): boolean => typeof value === "string";

function isStringRecord(value: unknown, keys: readonly string[]): boolean {
  if (typeof value !== "object" || value === null) return false;
  return keys.every((key) => isString((value as Record<string, unknown>)[key]));
}

/** A record written by another version of the harness (say, one without start times) is not trusted. */
function isControlPlaneInfo(value: unknown): value is ControlPlaneInfo {
  if (typeof value !== "object" || value === null) return false;
  const info = value as Partial<Record<keyof ControlPlaneInfo, unknown>>;
  if (typeof info.processes !== "object" || info.processes === null) return false;
  const processes = info.processes as Partial<Record<ServerName, unknown>>;
  return (
    isStringRecord(info, ["dir", "server", "adminKubeconfigPath", "controllerManagerKubeconfigPath"]) &&
    isStringRecord(info.adminCert, ["certPath", "keyPath"]) &&
    isStringRecord(info.binaries, ["etcd", "kubeApiserver", "kubeControllerManager", "kubectl", "helm"]) &&
    typeof info.survivesParent === "boolean" &&
    Array.isArray(info.ports) &&
    info.ports.length === 3 &&
    info.ports.every((port) => Number.isInteger(port)) &&
    SERVERS.every((name) => isServerProcess(processes[name]))
  );
}

/** The control plane recorded in dir, or undefined when there is none (or the record is unreadable). */
export async function readClusterState(dir: string): Promise<ControlPlaneInfo | undefined> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(statePath(dir), "utf8"));
  } catch {
    return undefined;
  }
  return isControlPlaneInfo(value) ? value : undefined;
}

export async function writeClusterState(info: ControlPlaneInfo): Promise<void> {
  await writeFile(statePath(info.dir), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
}
