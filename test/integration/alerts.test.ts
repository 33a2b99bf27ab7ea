// The PrometheusRule's alerts evaluated by Prometheus's own rule engine (`promtool test rules`), built
// from its Go module like the control plane: for each alert, series that must fire it and series that
// must not, with the job matcher of each scrape method the chart offers.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { runTool } from "../support/cluster.ts";
import { objectsOf, only, renderChart } from "../support/chart.ts";

const BUILD = fileURLToPath(new URL("../controlplane/build-binaries.sh", import.meta.url));
const NS = "eni-system";

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** promtool, built once and cached by build-binaries.sh (only this test needs it). */
async function promtool(): Promise<string> {
  const { stdout } = await promisify(execFile)("bash", [BUILD, "promtool"], { maxBuffer: 1 << 20 });
  const path = /^promtool=(.+)$/m.exec(stdout)?.[1];
  if (!path) throw new Error(`build-binaries.sh promtool printed no path: ${stdout}`);
  return path;
}

async function rulesOf(args: readonly string[]): Promise<Rule[]> {
  const rule = only(
    objectsOf(await renderChart("eni-operator", NS, ["--set", "prometheusRule.enabled=true", ...args])),
    "PrometheusRule",
  );
  return (rule.spec?.["groups"] as { rules: Rule[] }[]).flatMap((group) => group.rules);
}

/** One promtool test case: input series at a 1-minute interval, and the alerts expected at `at`. */
interface Case {
  name: string;
  series: Record<string, string>;
  at: string;
  alert: string;
  fires: boolean;
}

const SEVERITY: Record<string, string> = {
  EniOperatorDown: "critical",
  EniOperatorNoLeader: "critical",
  EniAttachmentTerminatingTooLong: "warning",
  EniAttachmentCredentialsFailing: "critical",
  EniOperatorThrottled: "warning",
  EniOperatorReconcileErrors: "warning",
};

/** Every alert, a case that fires it and one that must not; `target` is the label set of one scraped replica. */
function cases(target: string, other: string): Case[] {
  const of = (metric: string, extra = "") => `${metric}{${target}${extra}}`;
  return [
    { name: "operator gone: no series at all", series: {}, at: "6m", alert: "EniOperatorDown", fires: true },
    {
      name: "every replica fails its scrape",
      series: { [of("up")]: "0x10" },
      at: "6m",
      alert: "EniOperatorDown",
      fires: true,
    },
    {
      name: "only another job's target is up",
      series: { [`up{${other}}`]: "1x10" },
      at: "6m",
      alert: "EniOperatorDown",
      fires: true,
    },
    { name: "a replica is up", series: { [of("up")]: "1x10" }, at: "6m", alert: "EniOperatorDown", fires: false },
    {
      name: "down for less than downMinutes",
      series: { [of("up")]: "1 1 1 1 1 1 0 0 0 0" },
      at: "9m",
      alert: "EniOperatorDown",
      fires: false,
    },
    { name: "no replica scraped: no leader either", series: {}, at: "6m", alert: "EniOperatorNoLeader", fires: true },
    {
      name: "replicas scraped, none leads",
      series: { [of("leader_election_master_status", ', name="eni-operator"')]: "0x10" },
      at: "6m",
      alert: "EniOperatorNoLeader",
      fires: true,
    },
    {
      name: "one replica leads",
      series: {
        [of("leader_election_master_status", ', name="eni-operator"')]: "1x10",
        [`leader_election_master_status{${other}, name="eni-operator"}`]: "0x10",
      },
      at: "6m",
      alert: "EniOperatorNoLeader",
      fires: false,
    },
    {
      name: "Terminating for 20 minutes",
      series: { [of("eniattachment_terminating_oldest_seconds")]: "1200+60x10" },
      at: "5m",
      alert: "EniAttachmentTerminatingTooLong",
      fires: true,
    },
    {
      name: "Terminating for 10 minutes",
      series: { [of("eniattachment_terminating_oldest_seconds")]: "600+60x3" },
      at: "3m",
      alert: "EniAttachmentTerminatingTooLong",
      fires: false,
    },
    {
      name: "two resources failing on credentials",
      series: { [of("eniattachment_failing_resources", ', class="Credentials"')]: "2x10" },
      at: "6m",
      alert: "EniAttachmentCredentialsFailing",
      fires: true,
    },
    {
      name: "resources failing on another class",
      series: {
        [of("eniattachment_failing_resources", ', class="Credentials"')]: "0x10",
        [of("eniattachment_failing_resources", ', class="ServiceFault"')]: "2x10",
      },
      at: "6m",
      alert: "EniAttachmentCredentialsFailing",
      fires: false,
    },
    {
      name: "ECM throttles for 20 minutes",
      series: {
        [of(
          "ecm_api_requests_total",
          ', action="DescribeNetworkInterfaces", code="RequestLimitExceeded.UinLimitExceeded"',
        )]: "0+5x20",
      },
      at: "20m",
      alert: "EniOperatorThrottled",
      fires: true,
    },
    {
      name: "ECM answers Success only",
      series: {
        [of("ecm_api_requests_total", ', action="DescribeNetworkInterfaces", code="Success"')]: "0+50x20",
        [of("ecm_api_requests_total", ', action="DescribeNetworkInterfaces", code="RequestLimitExceeded"')]: "3x20",
      },
      at: "20m",
      alert: "EniOperatorThrottled",
      fires: false,
    },
    {
      name: "reconciles fail for 20 minutes",
      series: { [of("controller_runtime_reconcile_errors_total", ', controller="eniattachment"')]: "0+2x20" },
      at: "20m",
      alert: "EniOperatorReconcileErrors",
      fires: true,
    },
    {
      name: "reconcile errors stopped",
      series: { [of("controller_runtime_reconcile_errors_total", ', controller="eniattachment"')]: "0+2x5 10x15" },
      at: "20m",
      alert: "EniOperatorReconcileErrors",
      fires: false,
    },
  ];
}

describe("the alerts, evaluated by promtool", () => {
  let dir = "";
  let bin = "";
  beforeAll(async () => {
    [dir, bin] = await Promise.all([mkdtemp(join(tmpdir(), "eni-operator-alerts-")), promtool()]);
  }, 1_800_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function run(name: string, rules: Rule[], testCases: Case[]) {
    const full = join(dir, `${name}-full.yaml`);
    await writeFile(full, stringify({ groups: [{ name: "eni-operator", rules }] }));
    const check = await runTool(bin, ["check", "rules", full]);
    expect(check.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
    // Expressions and labels only: the annotations are checked above, not compared case by case.
    const bare = join(dir, `${name}-rules.yaml`);
    await writeFile(
      bare,
      stringify({
        groups: [{ name: "eni-operator", rules: rules.map((rule) => ({ ...rule, annotations: undefined })) }],
      }),
    );
    const tests = join(dir, `${name}-test.yaml`);
    await writeFile(
      tests,
      stringify({
        rule_files: [bare],
        evaluation_interval: "1m",
        tests: testCases.map((c) => ({
          name: c.name,
          interval: "1m",
          input_series: Object.entries(c.series).map(([series, values]) => ({ series, values })),
          alert_rule_test: [
            {
              eval_time: c.at,
              alertname: c.alert,
              exp_alerts: c.fires ? [{ exp_labels: { severity: SEVERITY[c.alert] } }] : [],
            },
          ],
        })),
      }),
    );
    const result = await runTool(bin, ["test", "rules", tests]);
    expect(`${result.stdout}${result.stderr}`).toContain("SUCCESS");
    expect(result.code).toBe(0);
  }

  it("covers every alert the chart renders, fired and not fired, with the ServiceMonitor's job", async () => {
    const rules = await rulesOf(["--set", "metrics.serviceMonitor.enabled=true"]);
    const all = cases(
      `job="eni-operator-metrics", namespace="${NS}", pod="eni-operator-6d4f9c7b8-x2x9z"`,
      `job="other", namespace="${NS}", pod="eni-operator-6d4f9c7b8-abcde"`,
    );
    expect(new Set(all.map((c) => c.alert))).toEqual(new Set(rules.map((r) => r.alert)));
    for (const alert of rules.map((r) => r.alert)) {
      expect(all.filter((c) => c.alert === alert).map((c) => c.fires)).toEqual(expect.arrayContaining([true, false]));
    }
    await run("service-monitor", rules, all);
  });

  it("matches the operator's pods by name with pod annotations, and no other pod of the namespace", async () => {
    const rules = await rulesOf(["--set", "metrics.podAnnotations=true"]);
    await run(
      "pod-annotations",
      rules,
      cases(
        `job="kubernetes-pods", namespace="${NS}", pod="eni-operator-6d4f9c7b8-x2x9z"`,
        `job="kubernetes-pods", namespace="${NS}", pod="someone-else-7c9d8b6f5-qwert"`,
      ),
    );
  });

  it("renders no leader alert without leader election", async () => {
    const rules = await rulesOf([
      "--set",
      "metrics.serviceMonitor.enabled=true",
      "--set",
      "leaderElection.enabled=false",
      "--set",
      "replicaCount=1",
    ]);
    expect(rules.map((r) => r.alert)).not.toContain("EniOperatorNoLeader");
  });
});
