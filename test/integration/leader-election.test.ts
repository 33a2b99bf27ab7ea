import { CoordinationV1Api, V1MicroTime } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { DEFAULT_CREDENTIAL, startEmulator, type RunningEmulator } from "../emulator/server.ts";
import { adminKubeConfig, testNamespace, type TestNamespace } from "../support/cluster.ts";
import { startOperator, waitFor, type RunningOperator } from "../support/operator.ts";
import { REGION, eniId, instanceId } from "../support/scenario.ts";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { API_VERSION, GROUP, KIND, PLURAL, VERSION, type EniAttachment } from "../../src/api/eniattachment.ts";

const LEASE = "eni-operator-test";

describe("two replicas with --leader-elect", () => {
  let ns: TestNamespace;
  let emulator: RunningEmulator;
  let replicas: RunningOperator[];

  beforeAll(async () => {
    ns = await testNamespace("leader");
    emulator = await startEmulator({ transitionMs: 100 });
    replicas = await Promise.all(
      [1, 2].map(() =>
        startOperator({
          kubeconfig: inject("kubeconfigPath"),
          namespace: ns.name,
          ecmEndpoint: emulator.url,
          credentials: DEFAULT_CREDENTIAL,
          extraArgs: ["--leader-elect", `--leader-election-namespace=${ns.name}`, `--leader-election-id=${LEASE}`],
        }),
      ),
    );
  });
  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.stop()));
    await emulator.close();
  });

  const api = () => adminKubeConfig().makeApiClient(CustomObjectsApi);
  const create = (name: string, n: number) =>
    api().createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: ns.name,
      body: {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name },
        spec: { networkInterfaceId: eniId(n), instanceId: instanceId(1), ecmRegion: REGION },
      },
    });
  const phase = async (name: string) =>
    (
      (await api().getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: ns.name,
        name,
      })) as EniAttachment
    ).status?.phase;
  const leads = (replica: RunningOperator) => replica.logs.some((line) => line.msg === "became leader");
  const calls = (replica: RunningOperator) => replica.logs.filter((line) => line.msg === "ECM call accepted").length;

  it("lets exactly one replica reconcile, and hands over when it stops", async () => {
    const leader = await waitFor(() => replicas.find(leads), 20_000);
    const follower = replicas.find((replica) => replica !== leader);
    if (!follower) throw new Error("two replicas expected");
    expect(leads(follower)).toBe(false);
    const lease = await adminKubeConfig()
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: LEASE, namespace: ns.name });
    expect(lease.spec?.holderIdentity).toBeTruthy();
    expect(await (await fetch(leader.metricsUrl)).text()).toMatch(
      /leader_election_master_status\{name="eni-operator-test"\} 1/,
    );
    expect(await (await fetch(follower.metricsUrl)).text()).toMatch(
      /leader_election_master_status\{name="eni-operator-test"\} 0/,
    );
    // Both replicas are ready: readiness means synced caches, not leadership.
    expect((await fetch(`${follower.probesUrl}/readyz`)).status).toBe(200);

    await emulator.control.addEnis([1, 2].map((n) => ({ networkInterfaceId: eniId(n), ecmRegion: REGION })));
    await create("first", 1);
    await waitFor(async () => (await phase("first")) === "Attached");
    expect(calls(leader)).toBe(1);
    expect(calls(follower)).toBe(0);

    const stoppedAt = Date.now();
    expect(await leader.stop()).toBe(0);
    await waitFor(() => leads(follower), 20_000);
    const handoverMs = Date.now() - stoppedAt;
    console.log(`the follower took over ${handoverMs} ms after the leader stopped (it released the lease)`);
    await create("second", 2);
    await waitFor(async () => (await phase("second")) === "Attached");
    expect(calls(follower)).toBe(1);
    expect((await emulator.control.calls()).filter((c) => c.action === "AttachNetworkInterface")).toHaveLength(2);
  });

  it("stops at once when another holder takes the lease", async () => {
    const leader = replicas.find((replica) => replica.process.exitCode === null && leads(replica));
    if (!leader) throw new Error("a running leader expected");
    const leases = adminKubeConfig().makeApiClient(CoordinationV1Api);
    const lease = await leases.readNamespacedLease({ name: LEASE, namespace: ns.name });
    if (!lease.spec) throw new Error("the lease has no spec");
    lease.spec.holderIdentity = "someone-else";
    lease.spec.renewTime = new V1MicroTime();
    const stolenAt = Date.now();
    await leases.replaceNamespacedLease({ name: LEASE, namespace: ns.name, body: lease });
    const code = await waitFor(() => leader.process.exitCode ?? undefined, 10_000);
    console.log(`the leader stopped ${Date.now() - stolenAt} ms after losing its lease`);
    expect(code).toBe(1);
    expect(leader.logs.map((line) => line.msg)).toContain("leader lease lost");
  });
});
