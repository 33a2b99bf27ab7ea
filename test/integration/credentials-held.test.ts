// Credentials held while in use: with per-resource credentials, the Secret that EniAttachments name
// keeps the operator's finalizer until the last of them is gone, so deleting the namespace (whatever
// order its controller deletes things in) or the Secret by hand never leaves an ENI attached for want
// of credentials to detach it.
import { CoreV1Api, type V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { CREDENTIALS_FINALIZER } from "../../src/kube/credentials-finalizer.ts";
import { DEFAULT_CREDENTIAL, TEAM_CREDENTIAL } from "../emulator/server.ts";
import { adminKubeConfig, kubectl } from "../support/cluster.ts";
import { waitFor } from "../support/operator.ts";
import { REGION, condition, eniId, instanceId, useScenario, type Scenario } from "../support/scenario.ts";

const DETACH = "DetachNetworkInterface";
const SECRET = "tenant";
/** Resources sharing one Secret; CREDENTIALS_HELD_RESOURCES=50 measures a larger namespace once. */
const COUNT = Number(process.env["CREDENTIALS_HELD_RESOURCES"] ?? "5");
const options = {
  emulator: { credentials: [DEFAULT_CREDENTIAL, TEAM_CREDENTIAL] },
  operatorArgs: ["--per-resource-credentials"],
};
const core = () => adminKubeConfig().makeApiClient(CoreV1Api);

async function readSecret(namespace: string): Promise<V1Secret | undefined> {
  try {
    return await core().readNamespacedSecret({ namespace, name: SECRET });
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/** The Secret, and `count` attached resources naming it (ENIs `first` on), all Ready. */
async function attachedWithSecret(s: Scenario, count: number, first = 1): Promise<string[]> {
  await core().createNamespacedSecret({
    namespace: s.namespace,
    body: { metadata: { name: SECRET }, stringData: TEAM_CREDENTIAL },
  });
  const names = Array.from({ length: count }, (_, i) => `held-${first + i}`);
  await s.emulator.control.addEnis(
    names.map((_, i) => ({
      networkInterfaceId: eniId(first + i),
      ecmRegion: REGION,
      attachedInstanceId: instanceId(1),
    })),
  );
  for (const [i, name] of names.entries()) {
    await s.create(name, { networkInterfaceId: eniId(first + i), credentialsSecretRef: { name: SECRET } });
  }
  for (const name of names) await s.waitFor(name, (r) => r.status?.phase === "Attached");
  expect((await readSecret(s.namespace))?.metadata?.finalizers).toEqual([CREDENTIALS_FINALIZER]);
  return names;
}

/** Each ENI detached exactly once, with the Secret's credentials, and left detached. */
async function detachedOnce(s: Scenario, count: number, first = 1): Promise<void> {
  const enis = await s.emulator.control.enis();
  for (let i = first; i < first + count; i += 1) {
    expect(
      enis.find((e) => e.networkInterfaceId === eniId(i)),
      eniId(i),
    ).toMatchObject({
      state: "AVAILABLE",
      attachedInstanceId: null,
    });
    // A call the emulator's quota refused (RequestLimitExceeded) detached nothing.
    const detaches = (await s.calls(DETACH, eniId(i))).filter((c) => c.code !== "RequestLimitExceeded");
    expect(
      detaches.map((c) => [c.code, c.secretId]),
      eniId(i),
    ).toEqual([["Success", TEAM_CREDENTIAL.secretId]]);
  }
}

/** Deletes the namespace right after `before`, waits until it is gone, and checks what the operator did. */
async function deleteNamespaceAfter(s: Scenario, what: string, before: string[]): Promise<void> {
  await attachedWithSecret(s, COUNT);
  const first = await kubectl(before);
  expect(first.code, first.stderr).toBe(0);
  const began = performance.now();
  const deleted = await kubectl(["delete", "namespace", s.namespace, "--timeout=180s"]);
  const tookMs = performance.now() - began;
  expect(deleted.code, deleted.stderr).toBe(0);
  console.log(
    `kubectl delete namespace, ${what}, ${COUNT} EniAttachments sharing one Secret: ` +
      `namespace gone after ${(tookMs / 1000).toFixed(1)} s`,
  );
  expect((await kubectl(["get", "namespace", s.namespace])).stderr).toContain("NotFound");
  await detachedOnce(s, COUNT);
  // No event write refused by the terminating namespace shows as a warning.
  const warnings = s.operator.logs.filter((line) => line.level >= 40 && /event/i.test(line.msg));
  expect(warnings).toEqual([]);
}

describe("kubectl delete namespace with per-resource credentials: the Secret deleted first", () => {
  const s = useScenario("held-secret-first", options);

  it("detaches every ENI once with the Secret, which goes last, then the namespace goes", async () => {
    await deleteNamespaceAfter(s, "Secret deleted first", [
      "delete",
      "secret",
      SECRET,
      "-n",
      s.namespace,
      "--wait=false",
    ]);
    const metrics = await (await fetch(s.operator.metricsUrl)).text();
    // The resources' events (DetachRequested, Detached) were all refused by the terminating namespace.
    expect(metrics).toMatch(/^eniattachment_events_namespace_terminating_total [1-9]/m);
  });
});

describe("kubectl delete namespace with per-resource credentials: the EniAttachments deleted first", () => {
  const s = useScenario("held-resources-first", options);

  it("detaches every ENI once, then the Secret and the namespace go", async () => {
    await deleteNamespaceAfter(s, "EniAttachments deleted first", [
      "delete",
      "eniattachments",
      "--all",
      "-n",
      s.namespace,
      "--wait=false",
    ]);
  });
});

describe("a credentials Secret deleted by hand while two resources name it", () => {
  const s = useScenario("held-by-hand", options);

  it("waits, says which resources hold it, and goes only after the last of them", async () => {
    const [a = "", b = ""] = await attachedWithSecret(s, 2);
    const deleting = await kubectl(["delete", "secret", SECRET, "-n", s.namespace, "--wait=false"]);
    expect(deleting.code, deleting.stderr).toBe(0);
    expect((await readSecret(s.namespace))?.metadata?.deletionTimestamp).toBeDefined();

    // Noticed without a watch of Secrets: the Secret's event and each resource's name the holders.
    const said = await waitFor(async () => {
      const events = await kubectl([
        "get",
        "events",
        "-n",
        s.namespace,
        "--field-selector",
        `involvedObject.kind=Secret,involvedObject.name=${SECRET}`,
      ]);
      return events.stdout.includes("CredentialsInUse") ? events.stdout : undefined;
    }, 60_000);
    expect(said).toContain(`named by ${a}, ${b}`);
    await waitFor(async () => (await s.events(b)).includes("CredentialsSecretDeleting"), 10_000);
    const told = await s.waitFor(b, (r) => (condition(r, "Synced")?.message ?? "").includes("is being deleted"));
    expect(condition(told, "Synced")?.message).toContain(`Secret ${s.namespace}/${SECRET}`);

    await s.delete(a);
    await s.waitForGone(a);
    const stillHeld = await readSecret(s.namespace);
    expect(stillHeld?.metadata?.finalizers).toEqual([CREDENTIALS_FINALIZER]);

    await s.delete(b);
    await s.waitForGone(b);
    await waitFor(async () => (await readSecret(s.namespace)) === undefined, 20_000);
    await detachedOnce(s, 2);
  });

  it("a reference changed to another Secret releases the old one once nothing names it", async () => {
    await core().createNamespacedSecret({
      namespace: s.namespace,
      body: { metadata: { name: "old" }, stringData: TEAM_CREDENTIAL },
    });
    await core().createNamespacedSecret({
      namespace: s.namespace,
      body: { metadata: { name: "new" }, stringData: TEAM_CREDENTIAL },
    });
    await s.emulator.control.addEnis([{ networkInterfaceId: eniId(10), ecmRegion: REGION }]);
    await s.create("moving", { networkInterfaceId: eniId(10), credentialsSecretRef: { name: "old" } });
    await s.waitFor("moving", (r) => r.status?.phase === "Attached");
    const finalizersOf = async (name: string) =>
      (await core().readNamespacedSecret({ namespace: s.namespace, name })).metadata?.finalizers ?? [];
    expect(await finalizersOf("old")).toEqual([CREDENTIALS_FINALIZER]);

    await s.patchSpec("moving", { credentialsSecretRef: { name: "new" } });
    await waitFor(async () => (await finalizersOf("old")).length === 0, 20_000);
    // The new one is held at its first use: the next look at the ENI (a spec change is observed at once).
    await waitFor(async () => (await finalizersOf("new")).includes(CREDENTIALS_FINALIZER), 20_000);
  });
});

describe("the operator stopped after releasing the Secret, before letting its last resource go", () => {
  const s = useScenario("held-restart", options);

  it("lets the resource go on the Detached status it wrote, without another call, and the namespace goes", async () => {
    const [name = ""] = await attachedWithSecret(s, 1);
    await s.patchSpec(name, { desiredState: "Detached" });
    await s.waitFor(
      name,
      (r) => r.status?.phase === "Detached" && r.status.observedGeneration === r.metadata.generation,
    );
    await s.crashAndRestartOperator(async () => {
      // What the operator leaves when stopped there: the namespace being deleted, the resource's
      // settled status written after its deletion, the Secret released and so gone.
      expect((await kubectl(["delete", "namespace", s.namespace, "--wait=false"])).code).toBe(0);
      const deleted = await s.waitFor(name, (r) => r.metadata.deletionTimestamp !== undefined);
      const written = await kubectl([
        ...["patch", "eniattachment", name, "-n", s.namespace, "--subresource=status", "--type=merge"],
        ...["-p", JSON.stringify({ status: { observedGeneration: deleted.metadata.generation } })],
      ]);
      expect(written.code, written.stderr).toBe(0);
      await waitFor(async () => (await readSecret(s.namespace))?.metadata?.deletionTimestamp !== undefined, 30_000);
      const released = await kubectl([
        ...["patch", "secret", SECRET, "-n", s.namespace, "--type=json"],
        ...["-p", JSON.stringify([{ op: "remove", path: "/metadata/finalizers" }])],
      ]);
      expect(released.code, released.stderr).toBe(0);
      await waitFor(async () => (await readSecret(s.namespace)) === undefined, 30_000);
    });
    await waitFor(async () => (await kubectl(["get", "namespace", s.namespace])).stderr.includes("NotFound"), 60_000);
    await detachedOnce(s, 1);
    expect(s.operator.logs.some((line) => line.msg === "finalizer removed")).toBe(true);
  });
});
