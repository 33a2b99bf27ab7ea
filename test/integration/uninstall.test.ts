// `eni-operator uninstall` run as a user runs it, after the operator has been removed: it leaves no
// EniAttachment behind, detaching each ENI itself (Detach) or making no ECM call at all (Orphan), and
// names what is left, and why, when it cannot finish. Beside a running leader, it takes the leader's
// Lease, so that it alone acts.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, inject, it } from "vitest";
import { API_VERSION, FINALIZER, KIND } from "../../src/api/eniattachment.ts";
import { DEFAULT_CREDENTIAL } from "../emulator/server.ts";
import { objectsOf, only, renderChart, toYamlStream } from "../support/chart.ts";
import { kubectl, serviceAccountKubeconfig, testNamespace } from "../support/cluster.ts";
import { REGION, eniId, instanceId, useScenario, type Scenario } from "../support/scenario.ts";

const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

/** Runs the command against the scenario's namespace and emulator, as the admin unless given a kubeconfig. */
async function runUninstall(
  s: Scenario,
  args: readonly string[],
  kubeconfig = inject("kubeconfigPath"),
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(
    process.execPath,
    [
      MAIN,
      "uninstall",
      `--watch-namespace=${s.namespace}`,
      "--log-level=warn",
      ...args,
      `--kubeconfig=${kubeconfig}`,
      `--ecm-endpoint=${s.emulator.url}`,
    ],
    {
      env: {
        ...process.env,
        TENCENTCLOUD_SECRET_ID: DEFAULT_CREDENTIAL.secretId,
        TENCENTCLOUD_SECRET_KEY: DEFAULT_CREDENTIAL.secretKey,
      },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, stderr };
}

/** Three attached ENIs under EniAttachments with finalizers, one with deletionPolicy Orphan, then the operator gone. */
async function attachThreeThenRemoveOperator(s: Scenario): Promise<number> {
  await s.emulator.control.addEnis([1, 2, 3].map((n) => ({ networkInterfaceId: eniId(n), ecmRegion: REGION })));
  await s.create("one", { networkInterfaceId: eniId(1) });
  await s.create("two", { networkInterfaceId: eniId(2) });
  await s.create("three", { networkInterfaceId: eniId(3), deletionPolicy: "Orphan" });
  for (const name of ["one", "two", "three"]) await s.waitFor(name, (r) => r.status?.phase === "Attached");
  expect(await s.operator.stop()).toBe(0);
  const journal = await s.emulator.control.calls();
  return journal.at(-1)?.seq ?? 0;
}

describe("eni-operator uninstall --policy Detach", () => {
  const s = useScenario("uninstall-detach");

  it("detaches and confirms every ENI itself, then leaves no EniAttachment", async () => {
    const before = await attachThreeThenRemoveOperator(s);
    const result = await runUninstall(s, ["--policy", "Detach"]);
    expect(result.stderr).toContain("3 EniAttachment(s) in namespaces");
    expect(result.stderr).toContain("done: 3 EniAttachment(s) removed (each ENI detached and confirmed by ECM)");
    expect(result.code).toBe(0);
    expect(await s.list()).toEqual([]);
    const calls = await s.emulator.control.calls(before);
    const detached = calls.filter((c) => c.action === "DetachNetworkInterface" && c.code === "Success");
    expect(detached.map((c) => (c.params as { NetworkInterfaceId: string }).NetworkInterfaceId).sort()).toEqual([
      eniId(1),
      eniId(2),
      eniId(3),
    ]);
    const enis = await s.emulator.control.enis();
    expect(enis.filter((e) => e.attachedInstanceId)).toEqual([]);
  });

  it("exits non-zero naming what is left and why when a detach cannot succeed", async () => {
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(4), ecmRegion: REGION, attachedInstanceId: instanceId(1) },
    ]);
    // As the operator leaves a resource it attached: with its finalizer.
    const created = await kubectl(["apply", "-n", s.namespace, "-f", "-"], {
      input: JSON.stringify({
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: "stuck", finalizers: [FINALIZER] },
        spec: { networkInterfaceId: eniId(4), instanceId: instanceId(1), ecmRegion: REGION },
      }),
    });
    expect(created.stderr).toBe("");
    await s.emulator.control.addFault({ action: "DetachNetworkInterface", code: "InvalidParameterValue.Malformed" });
    const result = await runUninstall(s, ["--policy=Detach", "--timeout=5s"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("gave up after 5 s: 0 removed, 1 left:");
    expect(result.stderr).toMatch(
      new RegExp(`${s.namespace}/stuck \\(Terminating, phase Failed, InvalidParameterValue.Malformed`),
    );
    expect(result.stderr).toContain("--policy Orphan");
    expect((await s.list()).map((r) => r.metadata.name)).toEqual(["stuck"]);
    // The way out it names: Orphan lets it go without another call.
    const orphaned = await runUninstall(s, ["--policy", "Orphan"]);
    expect(orphaned.code).toBe(0);
    expect(await s.list()).toEqual([]);
  });
});

describe("the chart's pre-delete hook: eni-operator uninstall --policy Orphan", () => {
  const s = useScenario("uninstall-orphan");

  it("lets every EniAttachment go with no ECM call, as the hook's own ServiceAccount with the hook's flags", async () => {
    const before = await attachThreeThenRemoveOperator(s);
    const release = await testNamespace("uninstall-hook");
    const objects = objectsOf(
      await renderChart("hook", release.name, [
        "--set",
        "uninstall.hook.enabled=true",
        "--set",
        "uninstall.policy=Orphan",
        "--set",
        `watchNamespaces={${s.namespace}}`,
      ]),
    ).filter((o) => o.metadata?.annotations?.["helm.sh/hook"] === "pre-delete");
    const applied = await kubectl(["apply", "-f", "-"], {
      input: toYamlStream(objects.filter((o) => o.kind !== "Job")),
    });
    expect(applied.stderr).toBe("");
    const job = only(objects, "Job");
    const container = (job.spec?.["template"] as { spec: { containers: { args: string[] }[] } }).spec.containers[0];
    const args = (container?.args ?? []).filter((arg) => arg !== "uninstall" && !arg.startsWith("--ecm-endpoint="));
    expect(args).toContain("--policy=Orphan");
    const kubeconfig = await serviceAccountKubeconfig(release.name, "hook-eni-operator-uninstall");

    const result = await runUninstall(s, args, kubeconfig);
    expect(result.stderr).toContain("done: 3 EniAttachment(s) removed (no ECM call made)");
    expect(result.code).toBe(0);
    expect(await s.list()).toEqual([]);
    expect(await s.emulator.control.calls(before)).toEqual([]);
    const enis = await s.emulator.control.enis();
    expect(enis.map((e) => e.attachedInstanceId)).toEqual([instanceId(1), instanceId(1), instanceId(1)]);
    expect(await s.events("one")).toContain("Orphaned");
  });
});

describe("eni-operator uninstall beside a running leader", () => {
  const s = useScenario("uninstall-leader", {
    prepare: (namespace) =>
      Promise.resolve({
        kubeconfig: inject("kubeconfigPath"),
        operatorArgs: ["--leader-elect", `--leader-election-namespace=${namespace}`],
      }),
  });

  it("takes the Lease, so the leader stops at once and the command alone acts: Orphan makes no ECM call", async () => {
    await s.emulator.control.addEnis([1, 2].map((n) => ({ networkInterfaceId: eniId(n), ecmRegion: REGION })));
    await s.create("one", { networkInterfaceId: eniId(1) });
    await s.create("two", { networkInterfaceId: eniId(2) });
    for (const name of ["one", "two"]) await s.waitFor(name, (r) => r.status?.phase === "Attached");
    const before = (await s.emulator.control.calls()).at(-1)?.seq ?? 0;

    // Deleted with their own policy, Detach, the leader would detach them: the command sets Orphan
    // holding the Lease, so nothing reconciles them between its delete and its policy change.
    const result = await runUninstall(s, ["--policy", "Orphan", `--leader-election-namespace=${s.namespace}`]);
    expect(result.stderr).toContain(`taking the operator's Lease ${s.namespace}/`);
    expect(result.stderr).toContain("done: 2 EniAttachment(s) removed (no ECM call made)");
    expect(result.code).toBe(0);
    expect(await s.list()).toEqual([]);
    expect((await s.emulator.control.calls(before)).filter((c) => c.action !== "DescribeNetworkInterfaces")).toEqual(
      [],
    );
    const enis = await s.emulator.control.enis();
    expect(enis.map((e) => e.attachedInstanceId)).toEqual([instanceId(1), instanceId(1)]);
    // The deposed leader exited at once, as controller-runtime does.
    expect(s.operator.logs.some((line) => line.msg === "leader lease lost")).toBe(true);
    expect(s.operator.process.exitCode).toBe(1);
  });
});
