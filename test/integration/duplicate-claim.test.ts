// One ENI, one owner: of the EniAttachments naming one ENI in one region, in any namespace, the oldest
// owns it; the others make no ECM call, say who owns it, and take over when it goes.
import { CustomObjectsApi } from "@kubernetes/client-node";
import { describe, expect, inject, it } from "vitest";
import { API_VERSION, GROUP, KIND, PLURAL, VERSION } from "../../src/api/eniattachment.ts";
import { adminKubeConfig, kubectl, testNamespace } from "../support/cluster.ts";
import { REGION, condition, eniId, instanceId, useScenario, type Scenario } from "../support/scenario.ts";

const DETACH = "DetachNetworkInterface";
const ATTACH = "AttachNetworkInterface";
/** Long enough for a reconcile of a new resource to have called ECM, had it been going to. */
const SETTLE_MS = 2_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where the newer claimant lives: the owner's namespace, or another the operator also watches. */
type Place = (s: Scenario) => string;

async function createIn(namespace: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await adminKubeConfig()
    .makeApiClient(CustomObjectsApi)
    .createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      body: {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name },
        spec: { instanceId: instanceId(1), ecmRegion: REGION, ...spec },
      },
    });
}

async function getIn(namespace: string, name: string) {
  const got = await kubectl(["get", "enia", name, "-n", namespace, "-o", "json"]);
  return got.code === 0 ? (JSON.parse(got.stdout) as Parameters<typeof condition>[0]) : undefined;
}

async function waitIn(namespace: string, name: string, check: (r: Parameters<typeof condition>[0]) => boolean) {
  for (let i = 0; i < 300; i += 1) {
    const resource = await getIn(namespace, name);
    if (resource && check(resource)) return resource;
    await sleep(100);
  }
  throw new Error(`${namespace}/${name} did not reach the expected state`);
}

async function goneIn(namespace: string, name: string): Promise<void> {
  for (let i = 0; i < 300 && (await getIn(namespace, name)); i += 1) await sleep(100);
  expect(await getIn(namespace, name)).toBeUndefined();
}

async function duplicateClaims(s: Scenario, place: Place, eni: string): Promise<void> {
  const other = place(s);
  await s.emulator.control.addEnis([{ networkInterfaceId: eni, ecmRegion: REGION, attachedInstanceId: instanceId(1) }]);
  await s.create("owner", { networkInterfaceId: eni });
  await s.waitFor("owner", (r) => r.status?.phase === "Attached");
  const callsBefore = (await s.calls(undefined, eni)).length;
  // creationTimestamp counts whole seconds, and a tie goes to the first namespace/name: be newer.
  await sleep(1_100);

  // A newer resource wanting the ENI detached makes no call, and says who owns it.
  await createIn(other, "newer", { networkInterfaceId: eni, desiredState: "Detached" });
  const newer = await waitIn(other, "newer", (r) => condition(r, "Ready")?.reason === "DuplicateClaim");
  expect(condition(newer, "Ready")).toMatchObject({ status: "False" });
  expect(condition(newer, "Synced")).toMatchObject({ status: "False", reason: "DuplicateClaim" });
  expect(condition(newer, "Ready")?.message).toContain(`EniAttachment ${s.namespace}/owner`);
  const listed = await kubectl(["get", "enia", "newer", "-n", other]);
  expect(listed.stdout).toContain("DuplicateClaim");
  const events = await kubectl(["get", "events", "-n", other, "--field-selector", "involvedObject.name=newer"]);
  expect(events.stdout.match(/DuplicateClaim/g)).toHaveLength(1);
  await sleep(SETTLE_MS);
  expect((await s.calls(undefined, eni)).slice(callsBefore)).toEqual([]);
  expect(await s.get("owner")).toMatchObject({ status: { phase: "Attached" } });

  // Deleting it lets it go at once, with no call.
  const deleted = await kubectl(["delete", "enia", "newer", "-n", other, "--timeout=20s"]);
  expect(deleted.code, deleted.stderr).toBe(0);
  await goneIn(other, "newer");
  expect((await s.calls(undefined, eni)).slice(callsBefore)).toEqual([]);

  // A successor wanting it attached waits; the owner's deletion detaches once, then it attaches once.
  await createIn(other, "successor", { networkInterfaceId: eni });
  await waitIn(other, "successor", (r) => condition(r, "Ready")?.reason === "DuplicateClaim");
  await s.delete("owner");
  await s.waitForGone("owner");
  await waitIn(other, "successor", (r) => r.status?.phase === "Attached");
  const mutating = (await s.calls(undefined, eni)).filter((c) => c.action === DETACH || c.action === ATTACH);
  expect(mutating.map((c) => [c.action, c.code])).toEqual([
    [DETACH, "Success"],
    [ATTACH, "Success"],
  ]);
  const successor = await getIn(other, "successor");
  expect(condition(successor ?? newer, "Synced")).toMatchObject({ status: "True" });
  const cleanup = await kubectl(["delete", "enia", "successor", "-n", other, "--timeout=30s"]);
  expect(cleanup.code, cleanup.stderr).toBe(0);
}

describe("two EniAttachments naming one ENI in one namespace", () => {
  const s = useScenario("duplicate-one-namespace");

  it("the newer makes no call and names the owner, goes with no call, and takes over once the owner is gone", async () => {
    await duplicateClaims(s, (scenario) => scenario.namespace, eniId(30));
  });
});

describe("two EniAttachments naming one ENI in two namespaces", () => {
  let second = "";
  const s = useScenario("duplicate-two-namespaces", {
    prepare: async () => {
      const ns = await testNamespace("duplicate-second");
      second = ns.name;
      return { kubeconfig: inject("kubeconfigPath"), operatorArgs: [`--watch-namespace=${ns.name}`] };
    },
  });

  it("the newer, in the other namespace, makes no call and names the owner, and takes over once it is gone", async () => {
    await duplicateClaims(s, () => second, eniId(31));
    await kubectl(["delete", "namespace", second, "--wait=false"]);
  });
});
