// The leader's connections to the API server go silent (open ones and new ones) while the follower's
// stay healthy: the follower takes over within the lease duration plus the renew deadline, and the old
// leader, fenced, makes no ECM call and no accepted write after that, even once its network heals.
import { CustomObjectsApi } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { GROUP, PLURAL, VERSION } from "../../src/api/eniattachment.ts";
import { startEmulator, type RunningEmulator } from "../emulator/server.ts";
import { adminKubeConfig, testNamespace, userKubeconfig, type TestNamespace } from "../support/cluster.ts";
import { duplicateDetaches, proxiedKubeconfig } from "../support/network-faults.ts";
import { auditedIn, createAttached, leaderSince } from "../support/leader-handover.ts";
import { startOperator, waitFor, type RunningOperator } from "../support/operator.ts";
import { REGION, eniId, instanceId } from "../support/scenario.ts";
import { startSilencingProxy, type SilencingProxy } from "../support/silencing-proxy.ts";

const LEASE = "eni-operator-net";
const COUNT = 20;
/** client-go's lease duration plus renew deadline, the operator's defaults. */
const TAKEOVER_BOUND_MS = 15_000 + 10_000;
const ACCOUNTS = {
  old: { secretId: "AKIDnetOLD00000000000000000000000000", secretKey: "netOldSecretKey000000000000000000" },
  new: { secretId: "AKIDnetNEW00000000000000000000000000", secretKey: "netNewSecretKey000000000000000000" },
};

describe("a leader whose API server connections go silent while the follower's are fine", () => {
  let ns: TestNamespace;
  let emulator: RunningEmulator;
  const proxies: SilencingProxy[] = [];
  const replicas: RunningOperator[] = [];

  beforeAll(async () => {
    ns = await testNamespace("net-leader");
    emulator = await startEmulator({ transitionMs: 1500, credentials: [ACCOUNTS.old, ACCOUNTS.new] });
  });
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await emulator.close();
    await ns.cleanup().catch(() => undefined);
  });

  const start = async (name: "old" | "new") => {
    const proxy = await startSilencingProxy({ host: "127.0.0.1", port: Number(new URL(inject("apiServerUrl")).port) });
    proxies.push(proxy);
    const replica = await startOperator({
      kubeconfig: await proxiedKubeconfig(await userKubeconfig(`net-${name}`, ["system:masters"]), proxy.address),
      namespace: ns.name,
      ecmEndpoint: emulator.url,
      credentials: ACCOUNTS[name],
      extraArgs: ["--leader-elect", `--leader-election-namespace=${ns.name}`, `--leader-election-id=${LEASE}`],
    });
    replicas.push(replica);
    return { replica, proxy };
  };
  it("is replaced in time, and neither calls ECM nor writes after its fence, even once healed", async () => {
    const api = adminKubeConfig().makeApiClient(CustomObjectsApi);
    const base = { group: GROUP, version: VERSION, plural: PLURAL, namespace: ns.name };
    const names = Array.from({ length: COUNT }, (_, i) => `net-leader-${i}`);
    await emulator.control.addEnis(
      names.map((_, i) => ({
        networkInterfaceId: eniId(700 + i),
        ecmRegion: REGION,
        attachedInstanceId: instanceId(1),
      })),
    );
    const old = await start("old");
    await waitFor(() => leaderSince(old.replica), 20_000);
    const follower = await start("new");
    const list = await createAttached(api, ns.name, names, 700);

    // Deletions in flight, then the leader's network goes silent, open connections and new ones.
    await Promise.all(names.map((name) => api.deleteNamespacedCustomObject({ ...base, name })));
    await waitFor(async () => (await emulator.control.calls()).some((c) => c.action === "DetachNetworkInterface"));
    old.proxy.silenceAll();
    const silencedAt = Date.now();
    const takenOverAt = await waitFor(() => leaderSince(follower.replica), 60_000);
    // Its network heals: whatever it still tries would now reach the API server.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    old.proxy.heal();
    const code = await waitFor(() => old.replica.process.exitCode ?? undefined, 60_000);
    await waitFor(async () => (await list()).length === 0 || undefined, 120_000);

    const calls = await emulator.control.calls();
    const byOldAfter = calls.filter((c) => c.secretId === ACCOUNTS.old.secretId && Date.parse(c.time) >= takenOverAt);
    const audit = await auditedIn(ns.name);
    const oldWritesAfter = audit.filter(
      (e) =>
        e.user.username === "net-old" &&
        Date.parse(e.requestReceivedTimestamp) >= takenOverAt &&
        (e.responseStatus?.code ?? 0) < 300 &&
        e.verb !== "get" &&
        e.verb !== "list" &&
        e.verb !== "watch",
    );
    console.log(
      `leader's connections silent; the follower took over ${takenOverAt - silencedAt} ms later; after that the old ` +
        `leader made ${byOldAfter.length} ECM calls and ${oldWritesAfter.length} accepted writes, and exited with ${code}`,
    );
    expect(takenOverAt - silencedAt).toBeLessThan(TAKEOVER_BOUND_MS);
    expect(byOldAfter).toEqual([]);
    expect(oldWritesAfter).toEqual([]);
    expect(code).not.toBe(0);
    expect(old.replica.logs.map((line) => line.msg)).toContain("leader lease lost");
    expect(duplicateDetaches(calls)).toEqual({});
    expect((await emulator.control.enis()).filter((e) => e.attachedInstanceId !== null)).toEqual([]);
  });
});
