// The container image `npm run image` builds: what it holds, and the operator in it run as a Pod
// Security Standard "restricted" pod runs it, with in-cluster configuration from a ServiceAccount.
import { readdir, readFile, rm, lstat } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Type } from "typebox";
import { Value } from "typebox/value";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { clusterPki } from "../controlplane/pki.ts";
import { freePorts } from "../controlplane/ports.ts";
import { DEFAULT_CREDENTIAL, startEmulator } from "../emulator/server.ts";
import { kubectl, serviceAccountToken, testNamespace } from "../support/cluster.ts";
import {
  buildImage,
  inspectImage,
  mountImage,
  runCommand,
  runRestricted,
  serviceAccountVolume,
  type BuiltImage,
  type ImageConfig,
  type MountedImage,
} from "../support/container.ts";
import { waitFor } from "../support/operator.ts";
import { RESOURCE_RULES, boundRole, leaseRules } from "../support/operator-rules.ts";
import { REGION, applyEniAttachment, eniId } from "../support/scenario.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const UID = 65532;
const MAX_IMAGE_BYTES = 250 * 2 ** 20;

const PackageJson = Type.Object({
  version: Type.String(),
  license: Type.String(),
});

async function packageJson() {
  const parsed: unknown = JSON.parse(await readFile(join(REPO, "package.json"), "utf8"));
  if (!Value.Check(PackageJson, parsed)) throw new Error("package.json lacks version or license");
  return parsed;
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** Every file (not directory) under dir, relative to it, and the total size of the regular ones. */
async function walk(dir: string): Promise<{ paths: string[]; bytes: number }> {
  const paths: string[] = [];
  let bytes = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isDirectory()) continue;
    const path = join(entry.parentPath, entry.name);
    paths.push(relative(dir, path));
    if (entry.isFile()) bytes += (await lstat(path)).size;
  }
  return { paths, bytes };
}

describe("the container image", () => {
  let image: BuiltImage;
  let config: ImageConfig;
  let mounted: MountedImage | undefined;
  beforeAll(async () => {
    image = await buildImage();
    config = await inspectImage(image.id);
    mounted = await mountImage(image.id);
  });
  afterAll(async () => {
    await mounted?.remove();
  });
  const rootfs = () => {
    if (!mounted) throw new Error("image not mounted");
    return mounted;
  };

  it("is tagged with the package version, runs as 65532 with the operator as entrypoint, and is labelled", async () => {
    const pkg = await packageJson();
    expect(image.ref).toBe(`localhost/eni-operator:${pkg.version}`);
    expect(config.user).toBe(`${UID}:${UID}`);
    expect(config.entrypoint.at(-1)).toBe("/app/dist/main.js");
    expect(config.entrypoint[0]).toBe("/nodejs/bin/node");
    expect(config.labels).toMatchObject({
      "org.opencontainers.image.version": pkg.version,
      "org.opencontainers.image.licenses": pkg.license,
      "org.opencontainers.image.title": "eni-operator",
    });
    const head = await runCommand("git", ["-C", REPO, "rev-parse", "HEAD"]);
    expect(config.labels["org.opencontainers.image.revision"]).toBe(head.stdout.trim());
  });

  it("holds the bundled operator and nothing else of the repository: no node_modules, tests, sources, npm or shell", async () => {
    const root = rootfs().rootfs;
    expect((await readdir(join(root, "app"))).sort()).toEqual(["dist", "package.json"]);
    // dist/ is the bundle `npm run build` makes: JavaScript only, the entry point among it.
    const dist = (await walk(join(root, "app/dist"))).paths;
    expect(dist).toContain("main.js");
    expect(dist.filter((p) => !/^[\w-]+\.js$/.test(p))).toEqual([]);
    const everything = (await walk(root)).paths;
    const app = everything.filter((p) => p.startsWith("app/"));
    expect(app.filter((p) => /node_modules|\/test\/|emulator|\.ts$/.test(p))).toEqual([]);
    // No npm cache and no npm: nothing in the image can install packages.
    expect(everything.filter((p) => /(^|\/)(_cacache|\.npm|node_modules\/npm)\//.test(p))).toEqual([]);
    for (const shell of ["usr/bin/sh", "usr/bin/bash", "usr/bin/dash"]) {
      expect(await exists(join(root, shell)), shell).toBe(false);
    }
  });

  it(`takes at most ${MAX_IMAGE_BYTES / 2 ** 20} MiB`, async () => {
    const { bytes } = await walk(rootfs().rootfs);
    console.log(`image ${image.ref}: ${(bytes / 2 ** 20).toFixed(0)} MiB of files`);
    expect(bytes).toBeLessThanOrEqual(MAX_IMAGE_BYTES);
  });

  it("prints its usage when run as uid 65532 on a read-only root", async () => {
    const container = await runRestricted(rootfs(), config, { args: ["--help"] });
    expect(await container.exited, container.stderr()).toBe(0);
    expect(container.stdout()).toContain("--kubeconfig");
  });

  it("as a restricted pod with a ServiceAccount: ready, attaches, detaches on delete, serves /metrics, exits 0 on SIGTERM", async () => {
    const ns = await testNamespace("image");
    const emulator = await startEmulator({ transitionMs: 200 });
    const serviceAccount = "eni-operator";
    const granted = await kubectl(["apply", "-n", ns.name, "-f", "-"], {
      input: operatorRbac(ns.name, serviceAccount),
    });
    expect(granted.code, granted.stderr).toBe(0);
    const volume = await serviceAccountVolume(
      await serviceAccountToken(ns.name, serviceAccount),
      clusterPki(inject("controlPlaneDir")).servingCa.certPath,
      ns.name,
    );
    const apiServer = new URL(inject("apiServerUrl"));
    const [metricsPort, probesPort] = await freePorts(2);
    const container = await runRestricted(rootfs(), config, {
      args: [
        `--watch-namespace=${ns.name}`,
        `--ecm-endpoint=${emulator.url}`,
        `--metrics-bind-address=127.0.0.1:${metricsPort}`,
        `--health-probe-bind-address=127.0.0.1:${probesPort}`,
        // The Lease's namespace comes from the ServiceAccount volume's namespace file.
        "--leader-elect",
      ],
      env: {
        KUBERNETES_SERVICE_HOST: apiServer.hostname,
        KUBERNETES_SERVICE_PORT: apiServer.port,
        TENCENTCLOUD_SECRET_ID: DEFAULT_CREDENTIAL.secretId,
        TENCENTCLOUD_SECRET_KEY: DEFAULT_CREDENTIAL.secretKey,
      },
      serviceAccountDir: volume,
    });
    const failure = () => `operator output:\n${container.stdout().slice(-3000)}\n${container.stderr().slice(-3000)}`;
    try {
      const died = container.exited.then((code) => {
        throw new Error(`the container exited with ${code} before it was ready; ${failure()}`);
      });
      await Promise.race([
        died,
        waitFor(async () => (await fetch(`http://127.0.0.1:${probesPort}/readyz`)).ok, 60_000, 200),
      ]);
      died.catch(() => undefined);

      const pid = await container.pid();
      const status = await readFile(`/proc/${pid}/status`, "utf8");
      expect(status).toMatch(new RegExp(`^Uid:\\s+${UID}\\s+${UID}\\s+${UID}\\s+${UID}$`, "m"));
      expect(status).toMatch(/^CapEff:\s+0+$/m);
      expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
      const mounts = mountTable(await readFile(`/proc/${pid}/mountinfo`, "utf8"));
      expect(mounts.get("/")?.options).toMatch(/^ro\b/);
      expect(mounts.get("/tmp")?.type).toBe("tmpfs");
      expect(mounts.get("/tmp")?.options).toMatch(/^rw\b/);
      // Where /var/run is a link to /run, as in Debian-based images, the mount point shows as /run/secrets/...
      const tokenMount = [...mounts].find(([point]) => point.endsWith("/secrets/kubernetes.io/serviceaccount"));
      expect(tokenMount?.[1].options).toMatch(/^ro\b/);

      await emulator.control.addEnis([{ networkInterfaceId: eniId(1), ecmRegion: REGION }]);
      const created = await applyEniAttachment(ns.name, "in-image", eniId(1));
      expect(created.code, created.stderr).toBe(0);
      const ready = await kubectl(["wait", "--for=condition=Ready", "enia/in-image", "-n", ns.name, "--timeout=60s"]);
      expect(ready.code, `${ready.stderr}\n${failure()}`).toBe(0);
      const attaches = (await emulator.control.calls()).filter((c) => c.action === "AttachNetworkInterface");
      expect(attaches.map((c) => c.code)).toEqual(["Success"]);

      const deleted = await kubectl(["delete", "enia", "in-image", "-n", ns.name, "--timeout=60s"]);
      expect(deleted.code, `${deleted.stderr}\n${failure()}`).toBe(0);
      const detaches = (await emulator.control.calls()).filter(
        (c) => c.action === "DetachNetworkInterface" && JSON.stringify(c.params).includes(eniId(1)),
      );
      expect(detaches.map((c) => c.code)).toEqual(["Success"]);
      expect((await emulator.control.enis()).find((e) => e.networkInterfaceId === eniId(1))).toMatchObject({
        attachedInstanceId: null,
      });

      const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(
        /ecm_api_requests_total\{action="DetachNetworkInterface",code="Success"\} 1\b/,
      );
      const lease = await kubectl(["get", "lease", "-n", ns.name, "eni-operator.ecm.eni-operator.io"]);
      expect(lease.code, lease.stderr).toBe(0);

      await container.kill("TERM");
      expect(await container.exited, failure()).toBe(0);
      expect(container.stdout()).toContain('"msg":"stopped"');
    } finally {
      await container.kill("KILL").catch(() => undefined);
      await container.exited;
      await emulator.close();
      await rm(volume, { recursive: true, force: true });
      await ns.cleanup().catch(() => undefined);
    }
  });
});

/** A process's mounts from /proc/PID/mountinfo: mount point -> its options and filesystem type. */
function mountTable(mountinfo: string): Map<string, { options: string; type: string }> {
  const table = new Map<string, { options: string; type: string }>();
  for (const line of mountinfo.split("\n")) {
    // ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPEROPTIONS
    const [before, after] = line.split(" - ");
    const fields = before?.split(" ") ?? [];
    const [mountPoint, options, type] = [fields[4], fields[5], after?.split(" ")[0]];
    if (mountPoint && options && type) table.set(mountPoint, { options, type });
  }
  return table;
}

/** The ServiceAccount and the chart's rules, as a Role in the one namespace it watches. */
function operatorRbac(namespace: string, serviceAccount: string): string {
  const rules = [...RESOURCE_RULES, ...leaseRules("eni-operator.ecm.eni-operator.io")];
  return JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: [
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: serviceAccount, namespace } },
      ...boundRole(namespace, rules, { kind: "ServiceAccount", name: serviceAccount, namespace }),
    ],
  });
}
