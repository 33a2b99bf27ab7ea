// The day-2 commands run as a person runs them: `kubectl eni ...` through the real kubectl's plugin
// lookup on PATH, and `eni-operator ...`, against the suite's cluster with a running operator and
// against broken installations (operator down, bad credentials, ECM's clock off, no CRD).
import { spawn } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AuthenticationV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse, stringify } from "yaml";
import { RECONCILE_REQUESTED_ANNOTATION } from "../../src/api/eniattachment.ts";
import { resolveBinaries } from "../controlplane/binaries.ts";
import { startControlPlane, type ControlPlane } from "../controlplane/control-plane.ts";
import { DEFAULT_CREDENTIAL } from "../emulator/server.ts";
import { adminKubeConfig } from "../support/cluster.ts";
import { REGION, eniId, useScenario } from "../support/scenario.ts";

const PLUGIN = fileURLToPath(new URL("../../src/kubectl-eni.ts", import.meta.url));
const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));
const LEASE = "eni-operator-cli-test";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let pluginDir = "";

beforeAll(async () => {
  // `npm install` links bin/kubectl-eni onto the PATH; here a wrapper of the same entry point stands in.
  pluginDir = await mkdtemp(join(tmpdir(), "kubectl-eni-bin-"));
  const wrapper = join(pluginDir, "kubectl-eni");
  await writeFile(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${PLUGIN}" "$@"\n`);
  await chmod(wrapper, 0o755);
});

afterAll(async () => {
  await rm(pluginDir, { recursive: true, force: true });
});

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      env: {
        ...process.env,
        PATH: `${pluginDir}:${process.env["PATH"] ?? ""}`,
        KUBECONFIG: inject("kubeconfigPath"),
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** `kubectl eni ARGS`: the real kubectl finds the plugin on PATH. */
const kubectlEni = (args: readonly string[], env?: NodeJS.ProcessEnv) =>
  run(inject("kubectlPath"), ["eni", ...args], env);
/** `eni-operator ARGS`. */
const eniOperator = (args: readonly string[], env?: NodeJS.ProcessEnv) => run(process.execPath, [MAIN, ...args], env);

describe("kubectl eni on a healthy installation, then a broken one", () => {
  const s = useScenario("kubectl-eni", {
    prepare: (namespace) =>
      Promise.resolve({
        kubeconfig: inject("kubeconfigPath"),
        operatorArgs: ["--leader-elect", `--leader-election-namespace=${namespace}`, `--leader-election-id=${LEASE}`],
      }),
  });
  const credentialsEnv = () => ({
    TENCENTCLOUD_SECRET_ID: DEFAULT_CREDENTIAL.secretId,
    TENCENTCLOUD_SECRET_KEY: DEFAULT_CREDENTIAL.secretKey,
    ECM_ENDPOINT: s.emulator.url,
  });
  const checkArgs = () => [
    "check",
    "--credentials",
    `--ecm-region=${REGION}`,
    `--operator-namespace=${s.namespace}`,
    `--leader-election-id=${LEASE}`,
    "-n",
    s.namespace,
  ];

  it("check: passes every check, names the leader and prints the clock skew", async () => {
    const result = await kubectlEni([...checkArgs(), "--wait=60s"], credentialsEnv());
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("ok    CRD eniattachments.ecm.eni-operator.io is installed and serves v1alpha1");
    expect(result.stdout).toContain(
      `ok    a server-side dry-run create of an EniAttachment in ${s.namespace} was accepted`,
    );
    expect(result.stdout).toMatch(
      new RegExp(`ok    the operator has a live leader: \\S+ renewed Lease ${s.namespace}/${LEASE}`),
    );
    expect(result.stdout).toMatch(
      /ok {4}ECM at http:\/\/127\.0\.0\.1:\d+ accepted DescribeNetworkInterfaces .* clock skew against ECM: [+-][01] s/,
    );
    expect(result.stdout).toContain("all checks passed");
    // The dry run created nothing.
    expect(await s.list()).toEqual([]);
  });

  it("status: explains an attached resource, as text and as JSON, by NAMESPACE/NAME and by -n", async () => {
    await s.emulator.control.addEnis([{ networkInterfaceId: eniId(1), ecmRegion: REGION }]);
    await s.create("web", { networkInterfaceId: eniId(1) });
    const attached = await s.waitFor("web", (r) => r.status?.phase === "Attached");
    const text = await kubectlEni(["status", `${s.namespace}/web`]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`EniAttachment ${s.namespace}/web`);
    expect(text.stdout).toMatch(/Phase: +Attached/);
    expect(text.stdout).toMatch(/Ready +True +Attached/);
    expect(text.stdout).toContain(
      `AttachNetworkInterface Confirmed, RequestId ${attached.status?.operation?.requestId ?? "?"}`,
    );
    expect(text.stdout).toMatch(/Normal +AttachRequested/);
    expect(text.stdout).toMatch(/Next step: +nothing: ECM shows it as declared/);
    const json = await eniOperator(["status", "-n", s.namespace, "web", "-o", "json"]);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as { phase: string; lastCall: { requestId: string }; nextStep: string };
    expect(report.phase).toBe("Attached");
    expect(report.lastCall.requestId).toBe(attached.status?.operation?.requestId);
    const missing = await kubectlEni(["status", `${s.namespace}/nothing`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`kubectl eni status: no EniAttachment ${s.namespace}/nothing\n`);
  });

  it("reconcile --wait: sets the annotation and returns once the operator acknowledges it with a fresh Describe", async () => {
    const before = (await s.emulator.control.calls()).at(-1)?.seq ?? 0;
    const result = await kubectlEni(["reconcile", `${s.namespace}/web`, "--wait", "--timeout=60s"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const requested = /reconcile-requested-at=(\S+)\)/.exec(result.stdout)?.[1] ?? "";
    expect(result.stdout).toContain("the operator handled it: phase Attached, Ready True (Attached)");
    const resource = await s.get("web");
    expect(resource?.metadata.annotations?.[RECONCILE_REQUESTED_ANNOTATION]).toBe(requested);
    expect(resource?.status?.lastHandledReconcileAt).toBe(requested);
    const describes = (await s.emulator.control.calls(before)).filter((c) => c.action === "DescribeNetworkInterfaces");
    expect(describes.length).toBeGreaterThanOrEqual(1);
  });

  it("orphan: sets deletionPolicy Orphan on a selector's resources and records who did it", async () => {
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(2), ecmRegion: REGION },
      { networkInterfaceId: eniId(3), ecmRegion: REGION },
    ]);
    await s.create("keep", { networkInterfaceId: eniId(2) });
    await s.create("other", { networkInterfaceId: eniId(3) });
    for (const name of ["keep", "other"]) await s.waitFor(name, (r) => r.status?.phase === "Attached");
    const labelled = await run(inject("kubectlPath"), ["label", "-n", s.namespace, "eniattachment", "keep", "tier=db"]);
    expect(labelled.code, labelled.stderr).toBe(0);

    const review = await adminKubeConfig()
      .makeApiClient(AuthenticationV1Api)
      .createSelfSubjectReview({ body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" } });
    const me = review.status?.userInfo?.username ?? "?";
    const result = await kubectlEni(["orphan", "-n", s.namespace, "-l", "tier=db"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      `${s.namespace}/keep: deletionPolicy Orphan (was Detach), recorded as done by ${me}`,
    );
    expect(result.stdout).not.toContain("/other");
    expect((await s.get("keep"))?.spec.deletionPolicy).toBe("Orphan");
    expect((await s.get("other"))?.spec.deletionPolicy).toBe("Detach");
    expect(await s.events("keep")).toMatch(
      new RegExp(`OrphanRequested.*deletionPolicy set to Orphan \\(was Detach\\) by ${me}`),
    );

    const before = (await s.emulator.control.calls()).at(-1)?.seq ?? 0;
    await s.delete("keep");
    await s.waitForGone("keep");
    expect((await s.emulator.control.calls(before)).filter((c) => c.action === "DetachNetworkInterface")).toEqual([]);
    const none = await kubectlEni(["orphan", "-n", s.namespace, "-l", "tier=none"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`no EniAttachment in ${s.namespace} matches tier=none`);
  });

  it("uninstall --dry-run -l: names what it would release and changes nothing", async () => {
    const before = (await s.emulator.control.calls()).at(-1)?.seq ?? 0;
    const result = await kubectlEni(
      ["uninstall", "--policy=Detach", "--dry-run", "-l", "tier!=db", `--watch-namespace=${s.namespace}`],
      credentialsEnv(),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("dry run: would delete 2 EniAttachment(s)");
    expect(result.stderr).toContain(`${s.namespace}/web`);
    expect(result.stderr).toContain(`${s.namespace}/other`);
    expect((await s.list()).map((r) => r.metadata.deletionTimestamp)).toEqual([undefined, undefined]);
    expect(await s.emulator.control.calls(before)).toEqual([]);
  });

  it("check --credentials: fails on bad credentials and on ECM's clock six minutes ahead, saying so", async () => {
    const bad = await kubectlEni(checkArgs(), { ...credentialsEnv(), TENCENTCLOUD_SECRET_KEY: "wrong" });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(
      /FAIL {2}ECM at \S+ refused DescribeNetworkInterfaces .*: AuthFailure\.SignatureFailure/,
    );
    expect(bad.stderr).toBe("kubectl eni check: 1 of 4 checks failed\n");

    await s.emulator.control.settings({ clockSkewMs: 6 * 60_000 });
    try {
      const skewed = await kubectlEni(checkArgs(), credentialsEnv());
      expect(skewed.code).toBe(1);
      expect(skewed.stdout).toMatch(
        /FAIL .*AuthFailure\.SignatureExpire.*clock skew against ECM: \+3(59|60|61) s \(ECM ahead\)/,
      );
    } finally {
      await s.emulator.control.settings({ clockSkewMs: 0 });
    }
  });

  it("check and reconcile with the operator down: both fail naming why", async () => {
    expect(await s.operator.stop()).toBe(0);
    const check = await kubectlEni(checkArgs(), credentialsEnv());
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(
      new RegExp(`FAIL  no live operator in namespace ${s.namespace}: Lease ${s.namespace}/${LEASE} has no holder`),
    );
    expect(check.stdout).toContain("ok    CRD");
    const reconcile = await eniOperator(["reconcile", `${s.namespace}/web`, "--wait", "--timeout=3s"]);
    expect(reconcile.code).toBe(1);
    expect(reconcile.stderr).toMatch(
      /^eni-operator reconcile: the operator did not acknowledge the request within 3 s/,
    );
    expect(reconcile.stderr).toContain("kubectl eni check");
  });
});

describe("kubectl eni check on a cluster without the CRD, chosen by --context from a merged $KUBECONFIG", () => {
  let bare: ControlPlane | undefined;
  let merged = "";

  beforeAll(async () => {
    bare = await startControlPlane({ binaries: await resolveBinaries() });
    // Two files in $KUBECONFIG, as kubectl merges them: the suite's cluster and the bare one.
    const rename = async (path: string, name: string) => {
      const config = parse(await readFile(path, "utf8")) as {
        clusters: { name: string }[];
        users: { name: string }[];
        contexts: { name: string; context: { cluster: string; user: string } }[];
        "current-context": string;
      };
      const file = join(pluginDir, `${name}.kubeconfig`);
      await writeFile(
        file,
        stringify({
          ...config,
          clusters: config.clusters.map((c) => ({ ...c, name })),
          users: config.users.map((u) => ({ ...u, name })),
          contexts: [{ name, context: { cluster: name, user: name } }],
          "current-context": name,
        }),
      );
      return file;
    };
    merged = `${await rename(inject("kubeconfigPath"), "healthy")}:${await rename(bare.adminKubeconfigPath, "bare")}`;
  }, 120_000);

  afterAll(async () => {
    await bare?.stop();
  });

  it("fails on the CRD and skips the dry run; --context healthy reaches the other cluster's CRD", async () => {
    const result = await kubectlEni(["check", "--context", "bare"], { KUBECONFIG: merged });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL {2}CRD eniattachments\.ecm\.eni-operator\.io: the API server answered 404/);
    expect(result.stdout).toContain("FAIL  the dry-run create was skipped: the CRD is not served");
    expect(result.stderr).toBe("kubectl eni check: 3 of 3 checks failed\n");
    const healthy = await kubectlEni(["check", "--context", "healthy"], { KUBECONFIG: merged });
    expect(healthy.stdout).toContain("ok    CRD eniattachments.ecm.eni-operator.io is installed and serves v1alpha1");
  });
});
