import { CustomObjectsApi } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GROUP, PLURAL, VERSION } from "../../src/api/eniattachment.ts";
import { startEmulator, type RunningEmulator } from "../emulator/server.ts";
import { adminKubeConfig, testNamespace, userKubeconfig, type TestNamespace } from "../support/cluster.ts";
import { auditedIn, createAttached, leaderSince } from "../support/leader-handover.ts";
import { startOperator, waitFor, type RunningOperator } from "../support/operator.ts";
import { REGION, eniId, instanceId } from "../support/scenario.ts";

const LEASE = "eni-operator-freeze";
const COUNT = 60;
// Each replica has an ECM account and a Kubernetes user of its own, so the emulator's journal and the
// API server's audit log tell which replica made each call and each write.
const ACCOUNTS = {
  old: { secretId: "AKIDfreezeOLD000000000000000000000000", secretKey: "freezeOldSecretKey00000000000000" },
  new: { secretId: "AKIDfreezeNEW000000000000000000000000", secretKey: "freezeNewSecretKey00000000000000" },
};

describe("a leader frozen past its lease", () => {
  let ns: TestNamespace;
  let emulator: RunningEmulator;
  const replicas: RunningOperator[] = [];

  beforeAll(async () => {
    ns = await testNamespace("freeze");
    emulator = await startEmulator({ transitionMs: 1500, credentials: [ACCOUNTS.old, ACCOUNTS.new] });
  });
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await emulator.close();
  });

  const start = async (name: "old" | "new") =>
    startOperator({
      kubeconfig: await userKubeconfig(`replica-${name}`, ["system:masters"]),
      namespace: ns.name,
      ecmEndpoint: emulator.url,
      credentials: ACCOUNTS[name],
      extraArgs: ["--leader-elect", `--leader-election-namespace=${ns.name}`, `--leader-election-id=${LEASE}`],
    });
  it("makes no ECM call and no write after the new leader started, and exits non-zero", async () => {
    const api = adminKubeConfig().makeApiClient(CustomObjectsApi);
    const base = { group: GROUP, version: VERSION, plural: PLURAL, namespace: ns.name };
    const names = Array.from({ length: COUNT }, (_, i) => `freeze-${i}`);
    await emulator.control.addEnis(
      names.map((_, i) => ({
        networkInterfaceId: eniId(500 + i),
        ecmRegion: REGION,
        attachedInstanceId: instanceId(1),
      })),
    );
    const old = await start("old");
    replicas.push(old);
    await waitFor(() => leaderSince(old), 20_000);
    const next = await start("new");
    replicas.push(next);
    const list = await createAttached(api, ns.name, names, 500);

    // Deletions in flight: detaches queued at the quota, confirmations pending. Then the leader freezes.
    await Promise.all(names.map((name) => api.deleteNamespacedCustomObject({ ...base, name })));
    await waitFor(async () => (await emulator.control.calls()).some((c) => c.action === "DetachNetworkInterface"));
    await new Promise((resolve) => setTimeout(resolve, 500));
    old.process.kill("SIGSTOP");
    const frozenAt = Date.now();
    const takenOverAt = await waitFor(() => leaderSince(next), 60_000);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    old.process.kill("SIGCONT");
    const code = await waitFor(() => old.process.exitCode ?? undefined, 20_000);
    await waitFor(async () => (await list()).length === 0 || undefined, 60_000);

    const calls = await emulator.control.calls();
    const byOldAfter = calls.filter((c) => c.secretId === ACCOUNTS.old.secretId && Date.parse(c.time) >= takenOverAt);
    const byOldBefore = calls.filter((c) => c.secretId === ACCOUNTS.old.secretId && Date.parse(c.time) < frozenAt);
    const byNew = calls.filter((c) => c.secretId === ACCOUNTS.new.secretId);
    const audit = await auditedIn(ns.name);
    const writes = (user: string) => audit.filter((e) => e.user.username === user);
    // A request already on its way when the process froze (past the fence, in connection setup) reaches
    // the API server on resume; its resourceVersion guard refuses it. Only what the API server accepted
    // is a write.
    const oldAfter = writes("replica-old").filter((e) => Date.parse(e.requestReceivedTimestamp) >= takenOverAt);
    const oldWritesAfter = oldAfter.filter((e) => (e.responseStatus?.code ?? 0) < 300);
    const refused = oldAfter.filter((e) => (e.responseStatus?.code ?? 0) >= 300);
    console.log(
      `leader frozen; the other took over ${takenOverAt - frozenAt} ms later; after that the old leader made ` +
        `${byOldAfter.length} ECM calls and ${oldWritesAfter.length} API writes (requests in flight at the freeze ` +
        `that reached the API server on resume and were refused: ${refused.length} ` +
        `${refused.map((e) => `${e.verb} ${String(e.responseStatus?.code)}`).join(", ")}; before its freeze: ` +
        `${byOldBefore.length} calls, ${writes("replica-old").length} writes; the new leader: ${byNew.length} calls, ` +
        `${writes("replica-new").length} writes); the old leader exited with ${code}`,
    );
    expect(byOldBefore.length).toBeGreaterThan(0);
    expect(writes("replica-new").length).toBeGreaterThan(0);
    expect(byOldAfter).toEqual([]);
    expect(oldWritesAfter).toEqual([]);
    expect(code).not.toBe(0);
    expect(old.logs.map((line) => line.msg)).toContain("leader lease lost");
    const enis = await emulator.control.enis();
    expect(enis.filter((e) => e.attachedInstanceId !== null)).toEqual([]);
  });
});
