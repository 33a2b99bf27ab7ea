// Day-2 controls against the real API server and the emulator: pause, reconcile now, observe only and
// the per-resource drift interval, each judged by what reached ECM (the emulator's journal).
import { describe, expect, it } from "vitest";
import {
  PAUSED_ANNOTATION,
  RECONCILE_REQUESTED_ANNOTATION,
  SYNC_PERIOD_ANNOTATION,
} from "../../src/api/eniattachment.ts";
import { ecmClient, loopbackAgent } from "../emulator/clients.ts";
import { kubectl } from "../support/cluster.ts";
import { waitFor } from "../support/operator.ts";
import { REGION, condition, eniId, instanceId, useScenario, type Scenario } from "../support/scenario.ts";

async function lastSeq(s: Scenario): Promise<number> {
  return (await s.emulator.control.calls()).at(-1)?.seq ?? 0;
}

async function annotate(s: Scenario, name: string, ...pairs: string[]): Promise<void> {
  const result = await kubectl(["annotate", "--overwrite", "-n", s.namespace, "eniattachment", name, ...pairs]);
  expect(result.stderr).toBe("");
}

/** The calls naming one ENI since `after`. */
async function callsFor(s: Scenario, eni: string, after: number) {
  return (await s.emulator.control.calls(after)).filter((c) => JSON.stringify(c.params).includes(eni));
}

describe("pause, reconcile now, observe only, drift interval", () => {
  const s = useScenario("day2");

  it("pause: no ECM call while paused, the printer column shows it, removal resumes, deletion still detaches", async () => {
    await s.emulator.control.addEnis([1, 2].map((n) => ({ networkInterfaceId: eniId(n), ecmRegion: REGION })));
    // Created paused: the finalizer goes on, nothing reaches ECM.
    const created = await kubectl(["apply", "-n", s.namespace, "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "ecm.eni-operator.io/v1alpha1",
        kind: "EniAttachment",
        metadata: { name: "held", annotations: { [PAUSED_ANNOTATION]: "true" } },
        spec: { networkInterfaceId: eniId(1), instanceId: instanceId(1), ecmRegion: REGION },
      }),
    });
    expect(created.stderr).toBe("");
    const paused = await s.waitFor("held", (r) => condition(r, "Synced")?.reason === "Paused");
    expect(condition(paused, "Synced")?.status).toBe("False");
    expect(await callsFor(s, eniId(1), 0)).toEqual([]);
    const table = await kubectl(["get", "eniattachment", "-n", s.namespace, "held"]);
    expect(table.stdout.split("\n")[0]).toMatch(/PAUSED/);
    expect(table.stdout.split("\n")[1]).toMatch(/\btrue\b/);
    expect(await s.events("held")).toMatch(/Paused/);

    // Removing the annotation resumes at once.
    await annotate(s, "held", `${PAUSED_ANNOTATION}-`);
    await s.waitFor("held", (r) => r.status?.phase === "Attached");
    expect((await callsFor(s, eniId(1), 0)).map((c) => c.action)).toContain("AttachNetworkInterface");

    // Paused again, a spec change is seen (observedGeneration) but not acted on.
    await annotate(s, "held", `${PAUSED_ANNOTATION}=true`);
    await s.waitFor("held", (r) => condition(r, "Synced")?.reason === "Paused");
    const before = await lastSeq(s);
    await s.patchSpec("held", { desiredState: "Detached" });
    await s.waitFor("held", (r) => r.status?.observedGeneration === r.metadata.generation);
    expect(await callsFor(s, eniId(1), before)).toEqual([]);
    expect((await s.emulator.control.enis()).find((e) => e.networkInterfaceId === eniId(1))?.attachedInstanceId).toBe(
      instanceId(1),
    );

    // Deletion of a paused resource is the later instruction: it detaches, and the event says so.
    await s.delete("held");
    await s.waitForGone("held");
    expect((await callsFor(s, eniId(1), before)).map((c) => c.action)).toContain("DetachNetworkInterface");
    expect(await s.events("held")).toMatch(/deletion is the later, explicit instruction/);
  });

  it("reconcile now: a failure waiting on its slow retry is retried at once and acknowledged", async () => {
    await s.emulator.control.addFault({
      action: "AttachNetworkInterface",
      networkInterfaceId: eniId(2),
      code: "AuthFailure.UnauthorizedOperation",
      count: 1,
    });
    await s.create("retry", { networkInterfaceId: eniId(2) });
    const failed = await s.waitFor(
      "retry",
      (r) => r.status?.operation?.errorCode === "AuthFailure.UnauthorizedOperation",
    );
    const retryAt = Date.parse(failed.status?.operation?.nextAttemptTime ?? "");
    await annotate(s, "retry", `${RECONCILE_REQUESTED_ANNOTATION}=after-fix`);
    const done = await s.waitFor("retry", (r) => r.status?.phase === "Attached");
    expect(done.status?.lastHandledReconcileAt).toBe("after-fix");
    const attaches = (await callsFor(s, eniId(2), 0)).filter((c) => c.action === "AttachNetworkInterface");
    expect(attaches.map((c) => c.code)).toEqual(["AuthFailure.UnauthorizedOperation", "Success"]);
    // Made on request, before the retry the 30 s credentials backoff had scheduled.
    expect(Date.parse(attaches[1]?.time ?? "")).toBeLessThan(retryAt);
  });

  it("observe only: no attach or detach across desiredState changes and deletion; Manage adopts", async () => {
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(3), ecmRegion: REGION, attachedInstanceId: instanceId(7) },
      { networkInterfaceId: eniId(4), ecmRegion: REGION },
    ]);
    const before = await lastSeq(s);
    await s.create("seen", { networkInterfaceId: eniId(3), managementPolicy: "Observe" });
    const seen = await s.waitFor("seen", (r) => condition(r, "Ready")?.reason === "Observed");
    expect(seen.status).toMatchObject({ phase: "Attached", attachedInstanceId: instanceId(7) });
    expect(condition(seen, "Ready")?.status).toBe("True");
    await s.patchSpec("seen", { desiredState: "Detached" });
    await s.waitFor("seen", (r) => r.status?.observedGeneration === r.metadata.generation);
    await s.delete("seen");
    await s.waitForGone("seen");
    expect(await s.events("seen")).toMatch(/Released/);
    expect((await callsFor(s, eniId(3), before)).map((c) => c.action)).not.toContain("DetachNetworkInterface");
    expect((await callsFor(s, eniId(3), before)).every((c) => c.action === "DescribeNetworkInterfaces")).toBe(true);

    // Observe, then Manage: the interface is adopted and attached as declared.
    await s.create("adopt", { networkInterfaceId: eniId(4), managementPolicy: "Observe" });
    const observed = await s.waitFor("adopt", (r) => condition(r, "Ready")?.reason === "Observed");
    expect(observed.status?.phase).toBe("Detached");
    expect((await callsFor(s, eniId(4), before)).map((c) => c.action)).not.toContain("AttachNetworkInterface");
    await s.patchSpec("adopt", { managementPolicy: "Manage" });
    await s.waitFor("adopt", (r) => r.status?.phase === "Attached" && condition(r, "Ready")?.reason === "Attached");
    expect((await callsFor(s, eniId(4), before)).map((c) => c.action)).toContain("AttachNetworkInterface");
  });

  it("drift interval: a detach made outside the cluster is corrected on the resource's own 30s schedule, not before", async () => {
    await s.emulator.control.addEnis([{ networkInterfaceId: eniId(5), ecmRegion: REGION }]);
    const created = await kubectl(["apply", "-n", s.namespace, "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "ecm.eni-operator.io/v1alpha1",
        kind: "EniAttachment",
        metadata: { name: "drift", annotations: { [SYNC_PERIOD_ANNOTATION]: "30s" } },
        spec: { networkInterfaceId: eniId(5), instanceId: instanceId(1), ecmRegion: REGION },
      }),
    });
    expect(created.stderr).toBe("");
    await s.waitFor("drift", (r) => r.status?.phase === "Attached");
    // Someone detaches it with ECM's own API, as a console user would.
    const agent = loopbackAgent(s.emulator.port);
    await waitFor(
      async () =>
        (await s.emulator.control.enis()).find((e) => e.networkInterfaceId === eniId(5))?.state === "AVAILABLE",
    );
    const manual = await ecmClient(agent).request("DetachNetworkInterface", {
      NetworkInterfaceId: eniId(5),
      InstanceId: instanceId(1),
      EcmRegion: REGION,
    });
    agent.destroy();
    const journal = await callsFor(s, eniId(5), 0);
    const manualAt = journal.find((c) => c.requestId === manual.RequestId);
    const lastLook = journal
      .filter((c) => c.action === "DescribeNetworkInterfaces" && c.seq < (manualAt?.seq ?? 0))
      .at(-1);
    const attachedTo = async () =>
      (await s.emulator.control.enis()).find((e) => e.networkInterfaceId === eniId(5))?.attachedInstanceId;
    await waitFor(async () => (await attachedTo()) === null);
    // Corrected well within the operator's default 5 minutes.
    await waitFor(
      async () =>
        (await s.emulator.control.enis()).find((e) => e.networkInterfaceId === eniId(5))?.attachedInstanceId ===
        instanceId(1),
      90_000,
      500,
    );
    const after = (await callsFor(s, eniId(5), manualAt?.seq ?? 0)).filter(
      (c) => c.action !== "DetachNetworkInterface",
    );
    const nextLook = after.find((c) => c.action === "DescribeNetworkInterfaces");
    expect(after.map((c) => c.action)).toContain("AttachNetworkInterface");
    // Not before: the first look after the detach comes a whole sync period after the one before it.
    expect(Date.parse(nextLook?.time ?? "") - Date.parse(lastLook?.time ?? "")).toBeGreaterThanOrEqual(29_500);
  });
});
