// The operator's container image for integration tests: built by `npm run image`'s script, inspected and
// mounted with buildah, and run with runc the way a Pod Security Standard "restricted" pod runs it
// (the test bed has no kubelet, and podman run fails where runtimes may not set rlimits; runc with
// these settings runs).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Type } from "typebox";
import { Value } from "typebox/value";

const BUILD_SCRIPT = fileURLToPath(new URL("../../deploy/image/build.sh", import.meta.url));

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; throws, with its stderr, unless it exits 0. */
export async function runCommand(command: string, args: readonly string[]): Promise<CommandResult> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const code = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (exitCode) => {
      resolve(exitCode ?? -1);
    });
  });
  if (code !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${code}:\n${stderr.slice(-4000)}`);
  return { stdout, stderr };
}

export interface BuiltImage {
  /** What `npm run image` printed last: localhost/eni-operator:<version>. */
  ref: string;
  /** The image ID of this build, so a concurrent build that retags ref cannot swap the image under a test. */
  id: string;
}

/** Builds the image as `npm run image` does (installing the tools it needs when missing). */
export async function buildImage(): Promise<BuiltImage> {
  const dir = await mkdtemp(join(tmpdir(), "eni-operator-image-"));
  try {
    const iidfile = join(dir, "iid");
    const { stdout } = await runCommand("bash", [BUILD_SCRIPT, "--iidfile", iidfile]);
    const ref = stdout.trimEnd().split("\n").pop() ?? "";
    return { ref, id: (await readFile(iidfile, "utf8")).trim() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const ImageInspection = Type.Object({
  OCIv1: Type.Object({
    config: Type.Object({
      User: Type.Optional(Type.String()),
      Entrypoint: Type.Optional(Type.Array(Type.String())),
      Cmd: Type.Optional(Type.Array(Type.String())),
      Env: Type.Optional(Type.Array(Type.String())),
      WorkingDir: Type.Optional(Type.String()),
      Labels: Type.Optional(Type.Record(Type.String(), Type.String())),
    }),
  }),
});

export interface ImageConfig {
  user: string;
  entrypoint: readonly string[];
  cmd: readonly string[];
  env: readonly string[];
  workingDir: string;
  labels: Readonly<Record<string, string>>;
}

/** The image's OCI configuration, as `buildah inspect` reports it. */
export async function inspectImage(id: string): Promise<ImageConfig> {
  const inspection: unknown = JSON.parse((await runCommand("buildah", ["inspect", "--type", "image", id])).stdout);
  if (!Value.Check(ImageInspection, inspection)) throw new Error(`buildah inspect ${id}: unexpected output`);
  const config = inspection.OCIv1.config;
  return {
    user: config.User ?? "",
    entrypoint: config.Entrypoint ?? [],
    cmd: config.Cmd ?? [],
    env: config.Env ?? [],
    workingDir: config.WorkingDir ?? "/",
    labels: config.Labels ?? {},
  };
}

export interface MountedImage {
  /** The image's root filesystem, with a writable layer of its own as a container runtime gives it. */
  rootfs: string;
  remove(): Promise<void>;
}

/** A buildah working container of the image, mounted. */
export async function mountImage(id: string): Promise<MountedImage> {
  const name = `eni-operator-test-${randomBytes(4).toString("hex")}`;
  await runCommand("buildah", ["from", "--pull=never", "--name", name, id]);
  try {
    const rootfs = (await runCommand("buildah", ["mount", name])).stdout.trim();
    return {
      rootfs,
      remove: async () => {
        await runCommand("buildah", ["umount", name]);
        await runCommand("buildah", ["rm", name]);
      },
    };
  } catch (error) {
    await runCommand("buildah", ["rm", name]);
    throw error;
  }
}

export interface RestrictedPod {
  /** Appended to the image's entrypoint, as a pod's `args` are. */
  args: readonly string[];
  env?: Readonly<Record<string, string>>;
  /** A host directory mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount. */
  serviceAccountDir?: string;
}

export interface RunningContainer {
  /** runc's container id. */
  id: string;
  stdout(): string;
  stderr(): string;
  /** The container's first process as the host sees it. */
  pid(): Promise<number>;
  /** Sends a signal to the container's first process, as the kubelet does to stop a pod. */
  kill(signal: "TERM" | "KILL"): Promise<void>;
  /** Resolves with the container's exit code. */
  exited: Promise<number>;
}

const ServiceAccountMount = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The numeric uid:gid of an image's `User`; a restricted pod refuses a user name it cannot check. */
function numericUser(user: string): { uid: number; gid: number } {
  const match = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!match?.[1]) throw new Error(`image user ${JSON.stringify(user)} is not numeric`);
  const uid = Number(match[1]);
  return { uid, gid: match[2] ? Number(match[2]) : uid };
}

/**
 * An OCI runtime configuration for the image as a restricted pod runs it: the image's user, read-only
 * root, a tmpfs /tmp, no capabilities, no new privileges, the host's network, no resource limits
 * (this host refuses runtimes' setrlimit calls).
 */
function runtimeSpec(rootfs: string, image: ImageConfig, pod: RestrictedPod): object {
  const tmpfs = (destination: string, options: readonly string[]) => ({
    destination,
    type: "tmpfs",
    source: "tmpfs",
    options: ["nosuid", ...options],
  });
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: numericUser(image.user),
      args: [...image.entrypoint, ...pod.args],
      env: [...image.env, ...Object.entries(pod.env ?? {}).map(([name, value]) => `${name}=${value}`)],
      cwd: image.workingDir,
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
      rlimits: [],
      noNewPrivileges: true,
    },
    root: { path: rootfs, readonly: true },
    hostname: "eni-operator",
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      // runc creates /dev/null and the other default devices here, so no nodev.
      tmpfs("/dev", ["strictatime", "mode=755", "size=65536k"]),
      {
        destination: "/dev/pts",
        type: "devpts",
        source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"],
      },
      tmpfs("/dev/shm", ["nodev", "noexec", "mode=1777", "size=65536k"]),
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      tmpfs("/tmp", ["nodev", "mode=1777", "size=65536k"]),
      ...(pod.serviceAccountDir
        ? [{ destination: ServiceAccountMount, type: "bind", source: pod.serviceAccountDir, options: ["rbind", "ro"] }]
        : []),
    ],
    linux: {
      // No network namespace: hostNetwork, so the test's loopback servers are reachable.
      namespaces: [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
      maskedPaths: ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware", "/proc/scsi"],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
}

const running = new Set<RunningContainer>();
process.once("exit", () => {
  for (const container of running) spawnSync("runc", ["kill", container.id, "KILL"], { stdio: "ignore" });
});

/** Starts the image's entrypoint under runc as a restricted pod would run it. */
export async function runRestricted(
  image: MountedImage,
  config: ImageConfig,
  pod: RestrictedPod,
): Promise<RunningContainer> {
  const id = `eni-operator-test-${randomBytes(4).toString("hex")}`;
  const bundle = await mkdtemp(join(tmpdir(), "eni-operator-bundle-"));
  await writeFile(join(bundle, "config.json"), JSON.stringify(runtimeSpec(image.rootfs, config, pod)));
  const child = spawn("runc", ["run", "--bundle", bundle, id], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      resolve(code ?? -1);
    });
  }).finally(() => {
    running.delete(container);
    void rm(bundle, { recursive: true, force: true });
  });
  const container: RunningContainer = {
    id,
    stdout: () => stdout,
    stderr: () => stderr,
    pid: async () => {
      const state: unknown = JSON.parse((await runCommand("runc", ["state", id])).stdout);
      if (!Value.Check(Type.Object({ pid: Type.Integer() }), state)) throw new Error(`runc state ${id}: no pid`);
      return state.pid;
    },
    kill: async (signal) => {
      await runCommand("runc", ["kill", id, signal]);
    },
    exited,
  };
  running.add(container);
  return container;
}

/** Writes a ServiceAccount volume (token, ca.crt, namespace) as the kubelet projects it, readable by any user. */
export async function serviceAccountVolume(token: string, caCertPath: string, namespace: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "eni-operator-sa-"));
  await chmod(dir, 0o755);
  await writeFile(join(dir, "token"), token, { mode: 0o644 });
  await writeFile(join(dir, "ca.crt"), await readFile(caCertPath), { mode: 0o644 });
  await writeFile(join(dir, "namespace"), namespace, { mode: 0o644 });
  return dir;
}
