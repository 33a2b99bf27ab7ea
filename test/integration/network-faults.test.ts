// Network faults between the operator and its servers, made with the fault bed (network-faults.ts: a
// silencing proxy and Toxiproxy in front of kube-apiserver and of the ECM endpoint) while the operator
// runs. Each asserts what must hold: changes acted on (within client-go's 45 s where the fault is a dead
// connection), nothing lost, no interface detached twice with Success, the quota kept, and the status
// saying what happened.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  busiestSecond,
  duplicateDetaches,
  proxiedKubeconfig,
  startFaultBed,
  type FaultBed,
  type Route,
} from "../support/network-faults.ts";
import { waitFor } from "../support/operator.ts";
import { REGION, eniId, instanceId, startScenario, type Scenario } from "../support/scenario.ts";
import { currentFailure } from "../../src/api/current-failure.ts";

const DETACH = "DetachNetworkInterface";
/** client-go's bound on a dead connection (30 s read idle + 15 s ping), plus one list on this machine. */
const BOUND_MS = 45_000 + 5_000;
const QUOTA = 20;
const PARTITION_MS = 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

const hostPort = (url: string): string => new URL(url).host;

/** Seeds `count` ENIs from `first`, attached to instance 1 or not, and creates a resource for each. */
async function seed(s: Scenario, prefix: string, first: number, count: number, attached: boolean): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  await s.emulator.control.addEnis(
    names.map((_, i) => ({
      networkInterfaceId: eniId(first + i),
      ecmRegion: REGION,
      ...(attached ? { attachedInstanceId: instanceId(1) } : {}),
    })),
  );
  for (const [i, name] of names.entries()) await s.create(name, { networkInterfaceId: eniId(first + i) });
  for (const name of names) await s.waitFor(name, (r) => r.status?.phase === "Attached", 60_000);
  return names;
}

/** Every ENI from `first` detached in ECM, each by exactly one successful Detach. */
async function expectDetachedOnce(s: Scenario, first: number, count: number): Promise<void> {
  const journal = await s.calls();
  expect(duplicateDetaches(journal)).toEqual({});
  for (let i = 0; i < count; i += 1) {
    expect((await s.calls(DETACH, eniId(first + i))).filter((c) => c.code === "Success")).toHaveLength(1);
  }
  const enis = await s.emulator.control.enis();
  const ids = new Set(Array.from({ length: count }, (_, i) => eniId(first + i)));
  expect(enis.filter((e) => ids.has(e.networkInterfaceId) && e.attachedInstanceId !== null)).toEqual([]);
}

/** A scenario whose operator reaches the API server and ECM through the fault bed. */
function faultScenario(prefix: string, leaderElect = false) {
  const bed: { faults?: FaultBed; api?: Route; ecm?: Route; s?: Scenario } = {};
  beforeAll(async () => {
    const faults = await startFaultBed();
    bed.faults = faults;
    const api = await faults.route("api", hostPort(inject("apiServerUrl")));
    bed.api = api;
    bed.s = await startScenario(prefix, {
      prepare: async (namespace, emulatorUrl) => {
        const ecm = await faults.route("ecm", hostPort(emulatorUrl));
        bed.ecm = ecm;
        return {
          kubeconfig: await proxiedKubeconfig(inject("kubeconfigPath"), api.address),
          operatorArgs: leaderElect ? ["--leader-elect", `--leader-election-namespace=${namespace}`] : [],
          ecmEndpoint: `http://${ecm.address}`,
        };
      },
    });
  });
  afterAll(async () => {
    try {
      await bed.s?.close();
    } finally {
      await bed.faults?.close();
    }
  });
  const need = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error(`${prefix}: the fault bed is not up`);
    return value;
  };
  return {
    get s() {
      return need(bed.s);
    },
    get faults() {
      return need(bed.faults);
    },
    get api() {
      return need(bed.api);
    },
    get ecm() {
      return need(bed.ecm);
    },
  };
}

describe("the API server's open connections go silent while new ones work", () => {
  const bed = faultScenario("net-silent", true);

  it("acts on a change made after it within client-go's 45 s plus a list, in the same process", async () => {
    const { s, faults, api } = bed;
    const names = await seed(s, "silent", 1, 3, true);
    await s.emulator.control.addEnis([{ networkInterfaceId: eniId(10), ecmRegion: REGION }]);
    const pid = s.operator.process.pid;
    const before = api.silencer.connections();
    // The watch's connection, the pool's idle ones and any a write is on all go silent at once.
    await faults.start("silence-open");
    const silencedAt = performance.now();
    await s.create("after", { networkInterfaceId: eniId(10) });
    await s.delete(names[0] ?? "");
    await s
      .waitFor("after", (r) => r.status?.phase === "Attached", 120_000)
      .catch(async (e: unknown) => {
        console.log(JSON.stringify(await s.get("after")));
        console.log(
          s.operator.logs
            .slice(-60)
            .map((l) => JSON.stringify(l))
            .join("\n"),
        );
        throw e;
      });
    await s.waitForGone(names[0] ?? "", 120_000);
    const actedOnMs = performance.now() - silencedAt;
    const after = api.silencer.connections();
    console.log(
      `open connections silenced (${before.open} to the API server); a creation and a deletion made then were ` +
        `acted on ${(actedOnMs / 1000).toFixed(1)} s later over ${after.accepted - before.accepted} new connections`,
    );
    expect(actedOnMs).toBeLessThan(BOUND_MS);
    expect(after.accepted).toBeGreaterThan(before.accepted);
    expect(s.operator.process.pid).toBe(pid);
    expect(s.operator.process.exitCode).toBeNull();
    expect((await s.calls(DETACH, eniId(1))).map((c) => c.code)).toEqual(["Success"]);
    expect((await s.get(names[1] ?? ""))?.status?.phase).toBe("Attached");
  });
});

describe("everything silent for 60 s, then healed", () => {
  const bed = faultScenario("net-partition");

  it("acts on every change made meanwhile within 45 s of the heal, loses nothing and detaches each once", async () => {
    const { s, faults } = bed;
    const names = await seed(s, "part", 20, 4, true);
    await s.emulator.control.addEnis([{ networkInterfaceId: eniId(30), ecmRegion: REGION }]);
    await faults.start("partition");
    const silencedAt = performance.now();
    await s.delete(names[0] ?? "");
    await s.delete(names[1] ?? "");
    await s.patchSpec(names[2] ?? "", { desiredState: "Detached" });
    await s.create("during", { networkInterfaceId: eniId(30) });
    await sleep(PARTITION_MS - (performance.now() - silencedAt));
    await faults.end("partition");
    const healedAt = performance.now();
    await s.waitForGone(names[0] ?? "", 120_000);
    await s.waitForGone(names[1] ?? "", 120_000);
    await s.waitFor(names[2] ?? "", (r) => r.status?.phase === "Detached", 120_000);
    await s.waitFor("during", (r) => r.status?.phase === "Attached", 120_000);
    const actedOnMs = performance.now() - healedAt;
    console.log(
      `everything silent 60 s; the 4 changes made meanwhile were acted on ${(actedOnMs / 1000).toFixed(1)} s after the heal`,
    );
    expect(actedOnMs).toBeLessThan(BOUND_MS);
    await expectDetachedOnce(s, 20, 3);
    expect((await s.get(names[3] ?? ""))?.status?.phase).toBe("Attached");
  }, 300_000);
});

describe("one new connection in ten reset", () => {
  const bed = faultScenario("net-reset");

  it("converges, loses nothing and detaches each interface once", async () => {
    const { s, faults, api, ecm } = bed;
    await faults.start("resets");
    // Rounds of work 5 s apart, past the 4 s after which idle ECM connections close, so each round
    // opens new ones (about two), until some were reset: 25 rounds leave well under a 1% chance of none.
    let rounds = 0;
    while (rounds < 25 && (rounds < 3 || ecm.silencer.connections().reset === 0)) {
      const first = 40 + 3 * rounds;
      const names = await seed(s, `reset${rounds}`, first, 3, false);
      for (const name of names) await s.delete(name);
      await waitFor(() => s.empty(), 120_000);
      await expectDetachedOnce(s, first, 3);
      rounds += 1;
      await sleep(5_000);
    }
    const [toApi, toEcm] = [api.silencer.connections(), ecm.silencer.connections()];
    console.log(
      `resets on one connection in ten, ${rounds} rounds of 3 attachments and deletions: ${toApi.accepted} ` +
        `connections to the API server (${toApi.reset} reset), ${toEcm.accepted} to ECM (${toEcm.reset} reset)`,
    );
    expect(toEcm.reset + toApi.reset).toBeGreaterThan(0);
  }, 300_000);
});

describe("2 s of added latency to the API server and to ECM", () => {
  const bed = faultScenario("net-latency");

  it("converges, detaches each interface once and keeps within the quota", async () => {
    const { s, faults } = bed;
    await faults.start("latency");
    const names = await seed(s, "slow", 60, 6, false);
    for (const name of names) await s.delete(name);
    await waitFor(() => s.empty(), 180_000);
    await expectDetachedOnce(s, 60, 6);
    const journal = await s.calls();
    expect(journal.filter((c) => c.code.startsWith("RequestLimitExceeded"))).toEqual([]);
    expect(busiestSecond(journal)).toBeLessThanOrEqual(QUOTA);
  }, 300_000);
});

describe("the ECM endpoint answering after 15 s, past the call's deadline, for a minute", () => {
  const bed = faultScenario("net-ecm-late");

  it("says Transport.* in status meanwhile, then detaches each interface once and loses nothing", async () => {
    const { s, faults } = bed;
    const names = await seed(s, "ecmlate", 80, 3, true);
    await faults.start("ecm-late");
    const lateSince = performance.now();
    for (const name of names) await s.delete(name);
    const shown = await waitFor(async () => {
      for (const r of await s.list()) {
        const code = currentFailure(r.status)?.code;
        if (code?.startsWith("Transport.")) return code;
      }
      return undefined;
    }, 60_000);
    await sleep(60_000 - (performance.now() - lateSince));
    await faults.end("ecm-late");
    await waitFor(() => s.empty(), 180_000);
    console.log(`ECM answering after 15 s for a minute: status showed ${shown}`);
    expect(shown).toMatch(/^Transport\./);
    await expectDetachedOnce(s, 80, 3);
  }, 300_000);
});
