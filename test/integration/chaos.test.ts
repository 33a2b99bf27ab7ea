// The fault campaign. `npm test` runs a shorter one; `npm run chaos` runs it at full size (300 resources).
import { describe, expect, it } from "vitest";
import { runCampaign } from "../support/chaos-campaign.ts";

const resources = Number(process.env["CHAOS_RESOURCES"] ?? "60");
const seed = Number(process.env["CHAOS_SEED"] ?? String(Date.now() % 1_000_000));

describe("the fault campaign", () => {
  it(
    `deletes ${resources} resources through ECM faults, throttling, operator SIGKILLs and a kube-apiserver restart, losing nothing`,
    async () => {
      // One block at the end (or on failure), so the timeline reads as one.
      const lines: string[] = [];
      const result = await runCampaign(
        {
          resources,
          kills: 3,
          apiserverRestarts: 1,
          serviceFaultRate: 0.25,
          throttleRate: 0.05,
          describeLagMs: 2_000,
          describeLagShare: 0.5,
          seed,
          timeoutMs: 10 * 60_000,
        },
        (line) => lines.push(line),
      ).finally(() => {
        console.log(lines.join("\n"));
      });
      expect(result.violations).toEqual([]);
      expect(result.released).toBe(resources);
      expect(result.remaining).toBe(0);
      expect(result.attachedEnis).toEqual([]);
      expect([...result.detachSuccesses].filter(([, n]) => n !== 1)).toEqual([]);
      expect(result.detachSuccesses.size).toBe(resources);
    },
    20 * 60_000,
  );
});
