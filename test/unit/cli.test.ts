import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FINALIZER, PAUSED_ANNOTATION } from "../../src/api/eniattachment.ts";
import { humanDuration, parseDurationMs, parseTarget } from "../../src/cli/args.ts";
import { kubeTarget } from "../../src/cli/kube-target.ts";
import { statusReport } from "../../src/cli/status.ts";
import { ToolError } from "../../src/cli/tool-error.ts";
import { syncPeriodOf } from "../../src/controller/sync-period.ts";
import type { EniAttachment } from "../../src/api/eniattachment.ts";
import { eniAttachment } from "./fixtures.ts";

function built(mutate: (resource: EniAttachment) => void = () => undefined): EniAttachment {
  const resource = eniAttachment().build();
  mutate(resource);
  return resource;
}

const NOW = new Date("2026-12-04T12:00:00Z");

function kubeconfig(dir: string, file: string, contexts: { name: string; namespace?: string }[], current: string) {
  const path = join(dir, file);
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: contexts.map((c) => ({ name: c.name, cluster: { server: `https://${c.name}.example:6443` } })),
      users: contexts.map((c) => ({ name: c.name, user: { token: "t" } })),
      contexts: contexts.map((c) => ({
        name: c.name,
        context: { cluster: c.name, user: c.name, ...(c.namespace ? { namespace: c.namespace } : {}) },
      })),
      "current-context": current,
    }),
  );
  return path;
}

describe("the CLI's kubeconfig rules, as kubectl's", () => {
  const dir = mkdtempSync(join(tmpdir(), "kubectl-eni-"));
  const first = kubeconfig(dir, "a", [{ name: "one", namespace: "team-a" }], "one");
  const second = kubeconfig(dir, "b", [{ name: "two" }], "two");

  it("reads --kubeconfig over $KUBECONFIG, the context's namespace, and -n over it", () => {
    const target = kubeTarget({ kubeconfig: first }, { KUBECONFIG: second });
    expect(target.kc.getCurrentCluster()?.server).toBe("https://one.example:6443");
    expect(target.namespace).toBe("team-a");
    expect(kubeTarget({ kubeconfig: first, namespace: "x" }, {}).namespace).toBe("x");
  });

  it("merges the files of $KUBECONFIG, and --context picks one of their contexts", () => {
    const env = { KUBECONFIG: `${first}:${second}` };
    const saved = process.env["KUBECONFIG"];
    process.env["KUBECONFIG"] = env.KUBECONFIG;
    try {
      const target = kubeTarget({ context: "two" }, env);
      expect(target.kc.getCurrentCluster()?.server).toBe("https://two.example:6443");
      expect(target.namespace).toBe("default");
      expect(() => kubeTarget({ context: "three" }, env)).toThrow("--context three: no such context");
    } finally {
      if (saved === undefined) delete process.env["KUBECONFIG"];
      else process.env["KUBECONFIG"] = saved;
    }
  });

  it("says which file is missing", () => {
    expect(() => kubeTarget({ kubeconfig: join(dir, "none") }, {})).toThrow(/--kubeconfig .*none: no such file/);
  });
});

describe("the CLI's arguments", () => {
  it("takes NAMESPACE/NAME or NAME in the default namespace, and refuses anything else with exit code 2", () => {
    expect(parseTarget("a/b", "d")).toEqual({ namespace: "a", name: "b" });
    expect(parseTarget("b", "d")).toEqual({ namespace: "d", name: "b" });
    for (const bad of [undefined, "a/b/c", "/b", "a/"]) {
      expect(() => parseTarget(bad, "d")).toThrow(ToolError);
    }
  });

  it("reads durations and prints ages as a person reads them", () => {
    expect(parseDurationMs("wait", "1h2m3s")).toBe(3_723_000);
    expect(() => parseDurationMs("wait", "soon")).toThrow(/--wait must be a duration/);
    expect([4_000, 300_000, 7_500_000, 3 * 86_400_000].map(humanDuration)).toEqual([
      "4 s",
      "5 min",
      "2 h 5 min",
      "3 d",
    ]);
  });
});

describe("the per-resource drift interval", () => {
  const withPeriod = (value: string) =>
    built((r) => (r.metadata.annotations = { "ecm.eni-operator.io/sync-period": value }));

  it("takes the annotation within [30s, 24h], else the operator's --sync-period with the reason", () => {
    expect(syncPeriodOf(built(), 300_000)).toEqual({ ms: 300_000 });
    expect(syncPeriodOf(withPeriod("90s"), 300_000)).toEqual({ ms: 90_000 });
    expect(syncPeriodOf(withPeriod("24h"), 300_000)).toEqual({ ms: 86_400_000 });
    for (const bad of ["29s", "25h", "often"]) {
      expect(syncPeriodOf(withPeriod(bad), 300_000)).toMatchObject({
        ms: 300_000,
        invalid: expect.stringContaining(`from 30s to 24h such as 90s or 10m, got "${bad}"`) as unknown,
      });
    }
  });
});

describe("kubectl eni status: what it explains", () => {
  it("names the finalizer, the pause and the failed detach holding a terminating resource, and the way out", () => {
    const resource = built((r) => {
      r.metadata.deletionTimestamp = new Date("2026-12-04T11:50:00Z");
      r.metadata.finalizers = [FINALIZER];
      r.metadata.annotations = { [PAUSED_ANNOTATION]: "true", "other.example/x": "y" };
      r.status = {
        phase: "Failed",
        operation: {
          action: "DetachNetworkInterface",
          requestId: "req-1",
          outcome: "Failed",
          errorCode: "InvalidParameterValue.Malformed",
          errorMessage: "bad",
          attempts: 1,
          time: "2026-12-04T11:59:00Z",
        },
      };
    });
    const report = statusReport(resource, [], NOW);
    expect(report.annotations).toEqual({ [PAUSED_ANNOTATION]: "true" });
    expect(report.terminating?.for).toBe("10 min");
    expect(report.terminating?.heldBy).toEqual([
      `finalizer ${FINALIZER} (the operator's: it detaches first)`,
      "nothing from the pause: a deletion of a paused resource proceeds",
    ]);
    expect(report.lastCall).toEqual({
      action: "DetachNetworkInterface",
      requestId: "req-1",
      result: "Failed: InvalidParameterValue.Malformed bad",
      ago: "60 s ago",
    });
    expect(report.nextStep).toContain(
      `kubectl eni orphan ${resource.metadata.namespace ?? ""}/${resource.metadata.name ?? ""}`,
    );
  });

  it("points a resource waiting on its retry to reconcile, and a settled one to nothing", () => {
    const waiting = built((r) => {
      r.metadata.generation = 1;
      r.status = {
        observedGeneration: 1,
        phase: "Attaching",
        operation: {
          action: "AttachNetworkInterface",
          outcome: "Failed",
          errorCode: "InternalError",
          attempts: 1,
          time: "2026-12-04T11:59:00Z",
          nextAttemptTime: "2026-12-04T12:04:00Z",
        },
      };
    });
    const report = statusReport(waiting, [], NOW);
    expect(report.nextAttempt).toEqual({ at: "2026-12-04T12:04:00Z", in: "4 min" });
    expect(report.nextStep).toMatch(/retries by itself at 2026-12-04T12:04:00Z; to retry now: kubectl eni reconcile /);
    const settled = built((r) => {
      r.metadata.generation = 1;
      r.status = {
        observedGeneration: 1,
        phase: "Attached",
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "Attached",
            message: "m",
            lastTransitionTime: "2026-12-04T11:00:00Z",
          },
        ],
      };
    });
    expect(statusReport(settled, [], NOW).nextStep).toBe("nothing: ECM shows it as declared");
    expect(statusReport(settled, [], NOW).conditions[0]?.age).toBe("60 min");
  });
});
