import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { JournalEntry } from "../emulator/journal.ts";
import { DEFAULT_CREDENTIAL } from "../emulator/server.ts";
import { adminKubeConfig } from "../support/cluster.ts";
import { waitFor } from "../support/operator.ts";
import { REGION, eniId, instanceId, useScenario, type Scenario } from "../support/scenario.ts";

// ECM's quota is 20 calls a second per account and per action: resources whose credentials belong to
// two accounts are detached twice as fast as one account's, and one throttled account slows no other.
const PER_ACCOUNT = 40;
const QUOTA = 20;
const DETACH = "DetachNetworkInterface";
const ACCOUNTS = {
  a: { secretId: "AKIDaccountsA0000000000000000000000", secretKey: "accountsAsecretKey00000000000000" },
  b: { secretId: "AKIDaccountsB0000000000000000000000", secretKey: "accountsBsecretKey00000000000000" },
};

function credentialsFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), "eni-operator-accounts-")), "credentials.json");
  writeFileSync(file, JSON.stringify([DEFAULT_CREDENTIAL, ACCOUNTS.a, ACCOUNTS.b]));
  return file;
}

function perSecond(calls: readonly JournalEntry[]): number[] {
  const counts = new Map<number, number>();
  for (const call of calls) {
    const second = Math.floor(Date.parse(call.time) / 1000);
    counts.set(second, (counts.get(second) ?? 0) + 1);
  }
  return [...counts.entries()].sort(([x], [y]) => x - y).map(([, count]) => count);
}

/** Secrets for both accounts, `count` attached interfaces per account starting at `first`, their resources Attached. */
async function prepare(s: Scenario, prefix: string, first: number, accounts: readonly ("a" | "b")[]) {
  const core = adminKubeConfig().makeApiClient(CoreV1Api);
  for (const account of ["a", "b"] as const) {
    await core
      .createNamespacedSecret({
        namespace: s.namespace,
        body: { metadata: { name: `account-${account}` }, stringData: ACCOUNTS[account] },
      })
      .catch(() => undefined);
  }
  const items = accounts.flatMap((account, k) =>
    Array.from({ length: PER_ACCOUNT }, (_, i) => ({
      name: `${prefix}-${account}-${i}`,
      eni: eniId(first + k * PER_ACCOUNT + i),
      account,
    })),
  );
  await s.emulator.control.addEnis(
    items.map((item) => ({ networkInterfaceId: item.eni, ecmRegion: REGION, attachedInstanceId: instanceId(1) })),
  );
  await Promise.all(
    items.map((item) =>
      s.create(item.name, { networkInterfaceId: item.eni, credentialsSecretRef: { name: `account-${item.account}` } }),
    ),
  );
  await Promise.all(items.map((item) => s.waitFor(item.name, (r) => r.status?.phase === "Attached", 120_000)));
  return items;
}

/** Deletes them all (the namespace's only resources) at once; resolves with the seconds until all are gone and the calls made meanwhile. */
async function deleteAll(s: Scenario, names: readonly string[]) {
  const before = (await s.emulator.control.calls()).length;
  const started = Date.now();
  await Promise.all(names.map((name) => s.delete(name)));
  await waitFor(async () => s.empty(), 120_000, 50);
  const seconds = (Date.now() - started) / 1000;
  const calls = (await s.emulator.control.calls()).slice(before);
  return { seconds, calls, detaches: calls.filter((c) => c.action === DETACH) };
}

describe("two ECM accounts", () => {
  const s = useScenario("accounts", {
    emulatorProcess: true,
    emulatorArgs: ["--credentials-file", credentialsFile()],
    operatorArgs: ["--per-resource-credentials"],
  });

  it("detach at the quota of each account: 2 x 40 deletions take about as long as 40 on one account", async () => {
    const one = await prepare(s, "one", 2000, ["a"]);
    const single = await deleteAll(
      s,
      one.map((item) => item.name),
    );
    const both = await prepare(s, "two", 3000, ["a", "b"]);
    const double = await deleteAll(
      s,
      both.map((item) => item.name),
    );
    const of = (calls: readonly JournalEntry[], account: "a" | "b") =>
      calls.filter((c) => c.secretId === ACCOUNTS[account].secretId);
    const throttled = [...single.calls, ...double.calls].filter((c) => c.code.startsWith("RequestLimitExceeded"));
    console.log(
      `${PER_ACCOUNT} deletions on one account: ${single.seconds.toFixed(2)} s; ${2 * PER_ACCOUNT} on two accounts: ` +
        `${double.seconds.toFixed(2)} s; ideal for both: ${PER_ACCOUNT / QUOTA} s of Detach calls. Detach calls per ` +
        `second, one account: ${perSecond(single.detaches).join(" ")}; two accounts: ${perSecond(double.detaches).join(" ")} ` +
        `(a: ${perSecond(of(double.detaches, "a")).join(" ")}, b: ${perSecond(of(double.detaches, "b")).join(" ")}); ` +
        `throttled: ${throttled.length}`,
    );
    expect(throttled).toEqual([]);
    expect(double.detaches.filter((c) => c.code === "Success")).toHaveLength(2 * PER_ACCOUNT);
    for (const account of ["a", "b"] as const) {
      expect(Math.max(...perSecond(of(double.detaches, account)))).toBeLessThanOrEqual(QUOTA);
    }
    // The accounts' quotas add up: some second carried more Detach calls than one account may make.
    expect(Math.max(...perSecond(double.detaches))).toBeGreaterThan(QUOTA);
  });

  it("keep their pace when another client throttles one of them", async () => {
    const items = await prepare(s, "noisy", 4000, ["a", "b"]);
    // Another client shares account a's quota: some of the operator's calls for it are refused.
    await s.emulator.control.addFault({
      secretId: ACCOUNTS.a.secretId,
      action: DETACH,
      code: "RequestLimitExceeded",
      count: 10,
    });
    const { detaches } = await deleteAll(
      s,
      items.map((item) => item.name),
    );
    const a = detaches.filter((c) => c.secretId === ACCOUNTS.a.secretId);
    const b = detaches.filter((c) => c.secretId === ACCOUNTS.b.secretId);
    console.log(
      `account a (throttled ${a.filter((c) => c.code !== "Success").length} times) Detach calls per second: ` +
        `${perSecond(a).join(" ")}; account b: ${perSecond(b).join(" ")}`,
    );
    expect(a.filter((c) => c.code === "Success")).toHaveLength(PER_ACCOUNT);
    // a wins its allowance back as the throttling stops, rather than crawling at its lowest pace:
    // after its first second some second carries several calls again.
    expect(Math.max(...perSecond(a).slice(1))).toBeGreaterThanOrEqual(6);
    expect(b.every((c) => c.code === "Success")).toBe(true);
    expect(b).toHaveLength(PER_ACCOUNT);
    // b runs at its own quota, as if a were not there: some second carries (nearly) its whole quota.
    // How long it took is printed above; speed is the benchmark's to judge.
    expect(Math.max(...perSecond(b))).toBeGreaterThanOrEqual(QUOTA - 2);
  });
});
