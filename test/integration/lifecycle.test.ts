import { describe, expect, it } from "vitest";
import { inject } from "vitest";
import { FINALIZER } from "../../src/api/eniattachment.ts";
import { DEFAULT_CREDENTIAL, startEmulator } from "../emulator/server.ts";
import { kubectl, testNamespace, userKubeconfig } from "../support/cluster.ts";
import { eniAttachmentPrefix } from "../support/detach-audit.ts";
import { field, recordEtcdHistory, type StoredVersion } from "../support/etcd-history.ts";
import { startOperator, waitFor } from "../support/operator.ts";
import { boundRole } from "../support/operator-rules.ts";
import { REGION, applyEniAttachment, condition, eniId, instanceId, useScenario } from "../support/scenario.ts";

const ATTACH = "AttachNetworkInterface";
const DETACH = "DetachNetworkInterface";
const DESCRIBE = "DescribeNetworkInterfaces";

describe("attaching, detaching and deleting", () => {
  const s = useScenario("lifecycle");

  it("leaves an interface already attached to its instance alone, and reports it Ready", async () => {
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(1), ecmRegion: REGION, attachedInstanceId: instanceId(1) },
    ]);
    await s.create("already", { networkInterfaceId: eniId(1) });
    const resource = await s.waitFor("already", (r) => condition(r, "Ready")?.status === "True");
    expect(resource.metadata.finalizers).toContain(FINALIZER);
    expect(resource.status).toMatchObject({ phase: "Attached", attachedInstanceId: instanceId(1) });
    expect(await s.calls(ATTACH)).toEqual([]);
    expect(await s.calls(DETACH)).toEqual([]);
  });

  it("attaches a free interface with exactly one AttachNetworkInterface call and shows its RequestId", async () => {
    await s.emulator.control.addEnis([{ networkInterfaceId: eniId(2), ecmRegion: REGION }]);
    await s.create("free", { networkInterfaceId: eniId(2) });
    const ready = await kubectl(["wait", "--for=condition=Ready", "enia/free", "-n", s.namespace, "--timeout=30s"]);
    expect(ready.stderr).toBe("");
    expect(ready.code).toBe(0);
    const resource = await s.get("free");
    const attaches = await s.calls(ATTACH, eniId(2));
    expect(attaches).toHaveLength(1);
    expect(attaches[0]?.code).toBe("Success");
    expect(resource?.status).toMatchObject({
      phase: "Attached",
      operation: { action: ATTACH, requestId: attaches[0]?.requestId, outcome: "Confirmed" },
    });
    const enis = await s.emulator.control.enis();
    expect(enis.find((e) => e.networkInterfaceId === eniId(2))?.attachedInstanceId).toBe(instanceId(1));
  });

  it("detaches on desiredState Detached: one call, its RequestId in status and events, Detached only once Describe confirms", async () => {
    await s.emulator.control.settings({ detachDelayMs: 2000 });
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(3), ecmRegion: REGION, attachedInstanceId: instanceId(1) },
    ]);
    await s.create("to-detach", { networkInterfaceId: eniId(3) });
    await s.waitFor("to-detach", (r) => r.status?.phase === "Attached");
    await s.patchSpec("to-detach", { desiredState: "Detached" });

    const [detach] = await waitFor(async () => {
      const calls = await s.calls(DETACH, eniId(3));
      return calls.length > 0 ? calls : undefined;
    });
    // ECM is still DETACHING: the resource must not claim Detached yet.
    const during = await s.waitFor("to-detach", (r) => r.status?.operation?.requestId === detach?.requestId);
    expect(during.status?.phase).toBe("Detaching");
    expect((await s.emulator.control.enis()).find((e) => e.networkInterfaceId === eniId(3))?.state).toBe("DETACHING");

    const done = await s.waitFor("to-detach", (r) => r.status?.phase === "Detached");
    expect(done.status?.operation).toMatchObject({ requestId: detach?.requestId, outcome: "Confirmed" });
    expect(condition(done, "Ready")).toMatchObject({ status: "True", reason: "Detached" });
    expect(await s.calls(DETACH, eniId(3))).toHaveLength(1);
    const describesAfterDetach = (await s.calls(DESCRIBE)).filter(
      (c) => Date.parse(c.time) >= Date.parse(detach?.time ?? "") + 2000 && c.code === "Success",
    );
    expect(describesAfterDetach.length).toBeGreaterThan(0);

    const events = await s.events("to-detach");
    expect(events).toMatch(new RegExp(`DetachRequested.*${detach?.requestId ?? "missing"}`));
    expect(events).toMatch(new RegExp(`Detached.*${detach?.requestId ?? "missing"}`));
    const table = await kubectl(["get", "enia", "to-detach", "-n", s.namespace]);
    expect(table.stdout).toMatch(
      /NAME\s+ENI\s+INSTANCE\s+REGION\s+DESIRED\s+PHASE\s+REASON\s+REQUEST-ID\s+ERROR\s+DESCRIBE-ERROR\s+PAUSED\s+AGE/,
    );
    expect(table.stdout).toContain(detach?.requestId);
    await s.emulator.control.settings({ detachDelayMs: 200 });
  });

  it("kubectl delete returns only after the detach is confirmed, and the resource is gone", async () => {
    await s.emulator.control.settings({ detachDelayMs: 1500 });
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(4), ecmRegion: REGION, attachedInstanceId: instanceId(1) },
    ]);
    await s.create("to-delete", { networkInterfaceId: eniId(4) });
    await s.waitFor("to-delete", (r) => r.status?.phase === "Attached");

    const deleted = await kubectl(["delete", "enia", "to-delete", "-n", s.namespace, "--timeout=60s"]);
    expect(deleted.code).toBe(0);
    const eni = (await s.emulator.control.enis()).find((e) => e.networkInterfaceId === eniId(4));
    expect(eni).toMatchObject({ state: "AVAILABLE", attachedInstanceId: null });
    const detaches = await s.calls(DETACH, eniId(4));
    expect(detaches.map((c) => c.code)).toEqual(["Success"]);
    expect(await s.get("to-delete")).toBeUndefined();
  });

  it("a deletion confirmed at the first look costs two writes: the status with the RequestId, then the finalizer", async () => {
    // ECM finishes the detach before the first confirmation poll (300 ms after the call).
    await s.emulator.control.settings({ detachDelayMs: 100 });
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(5), ecmRegion: REGION, attachedInstanceId: instanceId(1) },
    ]);
    await s.create("two-writes", { networkInterfaceId: eniId(5) });
    await s.waitFor("two-writes", (r) => r.status?.phase === "Attached");
    const history = await recordEtcdHistory(inject("etcdUrl"), `${eniAttachmentPrefix(s.namespace)}two-writes`);
    const logged = s.operator.logs.length;
    try {
      const deleted = await kubectl(["delete", "enia", "two-writes", "-n", s.namespace, "--timeout=60s"]);
      expect(deleted.code).toBe(0);
      const versions = await waitFor(() => {
        const all = history.versions;
        return all.at(-1)?.object === undefined && all.length > 0 ? all : undefined;
      });
      const [detach] = await s.calls(DETACH, eniId(5));
      expect(detach?.code).toBe("Success");
      const metadata = (v: StoredVersion) => field(v.object, "metadata");
      const status = (v: StoredVersion) => field(v.object, "status");
      // kubectl's delete sets deletionTimestamp; then the operator writes the status once and removes
      // the finalizer, which deletes the object.
      expect(versions).toHaveLength(3);
      const [marked, written, removed] = versions;
      if (!marked || !written || !removed) throw new Error("missing versions");
      expect(field(metadata(marked), "deletionTimestamp")).toBeTypeOf("string");
      expect(field(status(marked), "operation")).toBeUndefined();
      expect(field(metadata(written), "finalizers")).toContain(FINALIZER);
      expect(status(written)).toMatchObject({
        phase: "Detaching",
        operation: { action: DETACH, requestId: detach?.requestId, outcome: "Accepted" },
      });
      expect(removed.object).toBeUndefined();
      // Nor a write refused: a status write after the last finalizer went would find the object gone.
      // The reconcile that removed it has finished once no worker is busy.
      await waitFor(async () =>
        /^controller_runtime_active_workers\{controller="eniattachment"\} 0$/m.test(
          await (await fetch(s.operator.metricsUrl)).text(),
        ),
      );
      expect(s.operator.logs.slice(logged).filter((l) => l.level >= 50 && l["name"] === "two-writes")).toEqual([]);

      const events = await s.events("two-writes");
      expect(events).toMatch(new RegExp(`Detached.*${detach?.requestId ?? "missing"}`));
    } finally {
      history.stop();
    }
  });

  it("exposes controller-runtime and ECM metrics on /metrics", async () => {
    const metrics = await (await fetch(s.operator.metricsUrl)).text();
    for (const name of [
      "controller_runtime_reconcile_total",
      "controller_runtime_reconcile_errors_total",
      "controller_runtime_reconcile_time_seconds_bucket",
      "workqueue_depth",
      "workqueue_adds_total",
      "workqueue_queue_duration_seconds_bucket",
      "workqueue_work_duration_seconds_bucket",
      "workqueue_retries_total",
      "ecm_api_request_duration_seconds_bucket",
      "process_resident_memory_bytes",
    ]) {
      expect(metrics).toContain(name);
    }
    expect(metrics).toMatch(/ecm_api_requests_total\{action="DetachNetworkInterface",code="Success"\} [1-9]/);
    expect(metrics).toMatch(/ecm_api_requests_total\{action="AttachNetworkInterface",code="Success"\} [1-9]/);
  });
});

/** What the operator needs in the namespace it watches, granted to one user. */
function operatorRole(namespace: string, user: string): string {
  const rules = [
    { apiGroups: ["ecm.eni-operator.io"], resources: ["eniattachments"], verbs: ["get", "list", "watch", "patch"] },
    { apiGroups: ["ecm.eni-operator.io"], resources: ["eniattachments/status"], verbs: ["update"] },
    { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] },
  ];
  return JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: boundRole(namespace, rules, { kind: "User", name: user }),
  });
}

describe("readiness", () => {
  it("/readyz is false until the caches have synced, /healthz is true", async () => {
    // A user RBAC gives nothing: the operator's lists are refused, so it can never sync.
    const operator = await startOperator({
      kubeconfig: await userKubeconfig("no-rights"),
      namespace: "default",
      ecmEndpoint: "http://127.0.0.1:9",
      skipReadyWait: true,
    });
    try {
      expect((await fetch(`${operator.probesUrl}/healthz`)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const ready = await fetch(`${operator.probesUrl}/readyz`);
      expect(ready.status).toBe(503);
      expect(operator.logs.some((line) => line.msg === "list failed; listing again")).toBe(true);
    } finally {
      expect(await operator.stop()).toBe(0);
    }
  });

  it("recovers by itself once RBAC lets it list, then syncs and reconciles", async () => {
    const ns = await testNamespace("late-rights");
    const emulator = await startEmulator({ transitionMs: 100 });
    const operator = await startOperator({
      kubeconfig: await userKubeconfig("late-rights"),
      namespace: ns.name,
      ecmEndpoint: emulator.url,
      credentials: DEFAULT_CREDENTIAL,
      skipReadyWait: true,
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect((await fetch(`${operator.probesUrl}/readyz`)).status).toBe(503);
      const granted = await kubectl(["apply", "-n", ns.name, "-f", "-"], {
        input: operatorRole(ns.name, "late-rights"),
      });
      expect(granted.code, granted.stderr).toBe(0);
      await waitFor(async () => (await fetch(`${operator.probesUrl}/readyz`)).ok, 40_000, 250);

      await emulator.control.addEnis([{ networkInterfaceId: eniId(9), ecmRegion: REGION }]);
      const created = await applyEniAttachment(ns.name, "after-rights", eniId(9));
      expect(created.code, created.stderr).toBe(0);
      const ready = await kubectl([
        "wait",
        "--for=condition=Ready",
        "enia/after-rights",
        "-n",
        ns.name,
        "--timeout=30s",
      ]);
      expect(ready.code, ready.stderr).toBe(0);
    } finally {
      expect(await operator.stop()).toBe(0);
      await emulator.close();
    }
  });

  it("stops cleanly on SIGTERM with exit code 0", async () => {
    const operator = await startOperator({
      kubeconfig: inject("kubeconfigPath"),
      namespace: "default",
      ecmEndpoint: "http://127.0.0.1:9",
    });
    expect((await fetch(`${operator.probesUrl}/readyz`)).status).toBe(200);
    expect(await operator.stop()).toBe(0);
    expect(operator.logs.map((line) => line.msg)).toContain("stopped");
  });
});
