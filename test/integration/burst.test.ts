import { beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/operator.ts";
import { REGION, eniId, inBatches, instanceId, useScenario } from "../support/scenario.ts";

const COUNT = 200;
const QUOTA = 20;
const DETACH = "DetachNetworkInterface";

describe(`a burst of ${COUNT} deletions`, () => {
  const s = useScenario("burst", { emulatorProcess: true });
  const names = Array.from({ length: COUNT }, (_, i) => `burst-${i}`);
  beforeAll(async () => {
    await s.emulator.control.addEnis(
      names.map((_, i) => ({
        networkInterfaceId: eniId(1000 + i),
        ecmRegion: REGION,
        attachedInstanceId: instanceId(1),
      })),
    );
    await inBatches(names, 25, (name) => s.create(name, { networkInterfaceId: eniId(1000 + names.indexOf(name)) }));
    await inBatches(names, 50, (name) => s.waitFor(name, (r) => r.status?.phase === "Attached", 120_000));
  });

  // Speed is `npm run bench`'s to judge: this test checks the quota and that nothing is lost, and prints the pace.
  it("never puts more than the 20/s quota into one second, provokes no RequestLimitExceeded and loses no deletion", async () => {
    const before = (await s.emulator.control.calls()).length;
    const started = Date.now();
    await inBatches(names, 10, (name) => s.delete(name));
    await waitFor(async () => s.empty(), 60_000, 50).catch(async (error: unknown) => {
      const left = await s.list();
      const problems = s.operator.logs.filter((l) => l.level >= 40).slice(-20);
      console.log("not deleted:", JSON.stringify(left.slice(0, 5).map((r) => [r.metadata.name, r.status])));
      console.log("operator warnings:", JSON.stringify(problems));
      throw error;
    });
    const seconds = (Date.now() - started) / 1000;
    const calls = (await s.emulator.control.calls()).slice(before);
    const detaches = calls.filter((c) => c.action === DETACH);
    const throttled = calls.filter((c) => c.code.startsWith("RequestLimitExceeded"));
    const span = (Date.parse(detaches.at(-1)?.time ?? "") - Date.parse(detaches[0]?.time ?? "")) / 1000;
    const perSecond = new Map<number, number>();
    for (const c of detaches) {
      const second = Math.floor(Date.parse(c.time) / 1000);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    }
    console.log(
      `${COUNT} deletions finished in ${seconds.toFixed(2)} s (${(COUNT / seconds).toFixed(1)} deletions/s, ` +
        `ideal ${COUNT / QUOTA} s); Detach calls spanned ${span.toFixed(2)} s; per wall-clock second: ` +
        `${[...perSecond.values()].join(" ")}; Describe calls: ${calls.length - detaches.length}; throttled: ${throttled.length}`,
    );
    expect(throttled).toEqual([]);
    expect(detaches).toHaveLength(COUNT);
    expect(detaches.every((c) => c.code === "Success")).toBe(true);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(QUOTA);
  });
});
