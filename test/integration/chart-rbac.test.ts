// RBAC is sufficient: the operator, authenticated only by a TokenRequest token of the chart's
// ServiceAccount with the chart's rendered RBAC applied, with the flags the chart's Deployment gives
// it, attaches, detaches and deletes, with leader election. The PrometheusRule's alerts are checked
// against what that operator serves on /metrics.
import { request } from "node:https";
import { CoordinationV1Api, CoreV1Api, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { parser } from "@prometheus-io/lezer-promql";
import { describe, expect, it } from "vitest";
import { CREDENTIALS_FINALIZER } from "../../src/kube/credentials-finalizer.ts";
import { DEFAULT_CREDENTIAL, TEAM_CREDENTIAL } from "../emulator/server.ts";
import {
  adminKubeConfig,
  kubectl,
  serviceAccountKubeconfig,
  serviceAccountToken,
  testNamespace,
} from "../support/cluster.ts";
import { RBAC_KINDS, objectsOf, only, renderChart, toYamlStream, type Rendered } from "../support/chart.ts";
import { waitFor } from "../support/operator.ts";
import { REGION, eniId, instanceId, useScenario, type Scenario } from "../support/scenario.ts";

const COMPARISONS = ["Gtr", "Gte", "Lss", "Lte"];
/** Flags the test harness sets itself: loopback ports, the emulator, the scenario's namespace. */
const HARNESS_FLAGS = [
  "--metrics-bind-address=",
  "--health-probe-bind-address=",
  "--ecm-endpoint=",
  "--watch-namespace=",
];

function containerArgs(deployment: Rendered): string[] {
  const template = deployment.spec?.["template"] as { spec: { containers: { args: string[] }[] } };
  return template.spec.containers[0]?.args ?? [];
}

/**
 * Installs the chart's ServiceAccount and RBAC (rendered with `values`) in a release namespace of its
 * own, and gives the operator that ServiceAccount's token and the Deployment's flags.
 */
function asChartServiceAccount(release: string, values: (watched: string) => readonly string[]) {
  return async (watched: string) => {
    const ns = await testNamespace(`release-${release}`);
    const objects = objectsOf(await renderChart(release, ns.name, values(watched)));
    const rbac = objects.filter((o) => RBAC_KINDS.includes(o.kind ?? ""));
    const applied = await kubectl(["apply", "-f", "-"], { input: toYamlStream(rbac) });
    if (applied.code !== 0) throw new Error(applied.stderr);
    const account = only(objects, "ServiceAccount").metadata?.name ?? "";
    const args = containerArgs(only(objects, "Deployment"));
    return {
      kubeconfig: await serviceAccountKubeconfig(ns.name, account),
      operatorArgs: args.filter((arg) => !HARNESS_FLAGS.some((flag) => arg.startsWith(flag))),
    };
  };
}

/** Attach, detach by desiredState, delete: what the operator does, all of it through its RBAC. */
async function attachDetachDelete(s: Scenario): Promise<void> {
  await s.emulator.control.addEnis([
    { networkInterfaceId: eniId(1), ecmRegion: REGION },
    { networkInterfaceId: eniId(2), ecmRegion: REGION, attachedInstanceId: instanceId(1) },
  ]);
  await s.create("attach", { networkInterfaceId: eniId(1) });
  await s.waitFor("attach", (r) => r.status?.phase === "Attached");
  await s.patchSpec("attach", { desiredState: "Detached" });
  await s.waitFor("attach", (r) => r.status?.phase === "Detached");
  await s.create("delete", { networkInterfaceId: eniId(2) });
  await s.waitFor("delete", (r) => r.status?.phase === "Attached");
  await s.delete("delete");
  await s.waitForGone("delete");
  const calls = (await s.calls()).filter((c) => c.action !== "DescribeNetworkInterfaces");
  expect(
    calls.map((c) => [c.action, (c.params as { NetworkInterfaceId?: string }).NetworkInterfaceId, c.code]),
  ).toEqual([
    ["AttachNetworkInterface", eniId(1), "Success"],
    ["DetachNetworkInterface", eniId(1), "Success"],
    ["DetachNetworkInterface", eniId(2), "Success"],
  ]);
  const events = await s.events("attach");
  expect(events).toContain("AttachRequested");
  expect(s.operator.logs.filter((line) => JSON.stringify(line).includes("forbidden"))).toEqual([]);
}

async function leaseHolder(release: string): Promise<string | undefined> {
  const api = adminKubeConfig().makeApiClient(CoordinationV1Api);
  const leases = await api.listLeaseForAllNamespaces({ fieldSelector: `metadata.name=${release}-eni-operator` });
  return leases.items[0]?.spec?.holderIdentity;
}

describe("the chart's RBAC suffices: listed namespace, per-resource credentials off", () => {
  const s = useScenario("rbac-off", {
    prepare: asChartServiceAccount("suff-off", (watched) => ["--set", `watchNamespaces={${watched}}`]),
  });

  it("attaches, detaches and deletes as the chart's ServiceAccount, holding its Lease", async () => {
    await attachDetachDelete(s);
    expect(await leaseHolder("suff-off")).toBeTruthy();
  });
});

describe("the chart's RBAC suffices: all namespaces, per-resource credentials on", () => {
  const s = useScenario("rbac-on", {
    emulator: { credentials: [DEFAULT_CREDENTIAL, TEAM_CREDENTIAL] },
    prepare: asChartServiceAccount("suff-on", () => ["--set", "perResourceCredentials.enabled=true"]),
  });

  it("attaches, detaches and deletes as the chart's ServiceAccount, holding its Lease", async () => {
    await attachDetachDelete(s);
    expect(await leaseHolder("suff-on")).toBeTruthy();
  });

  it("reads a resource's credentials Secret with the get it is granted, and holds it with the patch", async () => {
    const core = adminKubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({
      namespace: s.namespace,
      body: { metadata: { name: "team-ecm" }, stringData: TEAM_CREDENTIAL },
    });
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(3), ecmRegion: REGION, attachedInstanceId: instanceId(1) },
    ]);
    await s.create("team", {
      networkInterfaceId: eniId(3),
      desiredState: "Detached",
      credentialsSecretRef: { name: "team-ecm" },
    });
    await s.waitFor("team", (r) => r.status?.phase === "Detached");
    const detach = (await s.calls("DetachNetworkInterface", eniId(3)))[0];
    expect(detach?.secretId).toBe(TEAM_CREDENTIAL.secretId);
    // Held with the patch it is granted, while the resource names it.
    const held = await core.readNamespacedSecret({ namespace: s.namespace, name: "team-ecm" });
    expect(held.metadata?.finalizers).toEqual([CREDENTIALS_FINALIZER]);
  });

  it("serves every metric that the PrometheusRule's alerts name, in expressions that parse", async () => {
    const rule = only(
      objectsOf(
        await renderChart("alerts", s.namespace, [
          "--set",
          "prometheusRule.enabled=true",
          "--set",
          "metrics.serviceMonitor.enabled=true",
        ]),
      ),
      "PrometheusRule",
    );
    const groups = rule.spec?.["groups"] as { rules: { alert: string; expr: string }[] }[];
    const alerts = groups.flatMap((group) => group.rules);
    expect(alerts.map((a) => a.alert)).toEqual([
      "EniOperatorDown",
      "EniOperatorNoLeader",
      "EniAttachmentTerminatingTooLong",
      "EniAttachmentCredentialsFailing",
      "EniOperatorThrottled",
      "EniOperatorReconcileErrors",
    ]);
    const exposition = await (await fetch(s.operator.metricsUrl)).text();
    const families = new Set([...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const problems: string[] = [];
    for (const { alert, expr } of alerts) {
      const tree = parser.parse(expr);
      // An alert fires on a comparison at the top, or on absent(): anything else would fire whenever
      // the series exists.
      const top = tree.topNode.firstChild;
      const operators: string[] = [];
      for (let child = top?.firstChild; child; child = child.nextSibling) operators.push(child.name);
      const absent = top?.name === "FunctionCall" && expr.startsWith("absent(");
      if (!absent && (top?.name !== "BinaryExpr" || !operators.some((name) => COMPARISONS.includes(name)))) {
        problems.push(`${alert}: not a comparison: ${expr}`);
      }
      tree.iterate({
        enter: (node) => {
          if (node.type.isError) problems.push(`${alert}: syntax error at ${node.from} in ${expr}`);
          if (node.name === "VectorSelector") {
            const metric = node.node.getChild("Identifier");
            const name = metric ? expr.slice(metric.from, metric.to) : "";
            // `up` is Prometheus's own, written for every scrape.
            if (name !== "up" && !families.has(name)) problems.push(`${alert}: ${name} is not on /metrics`);
          }
        },
      });
    }
    expect(problems).toEqual([]);
  });

  it("serves every metric the Grafana dashboard names, in queries that parse", async () => {
    const configMap = only(
      objectsOf(await renderChart("dash", s.namespace, ["--set", "grafanaDashboard.enabled=true"])),
      "ConfigMap",
    );
    expect(configMap.metadata?.labels?.["grafana_dashboard"]).toBe("1");
    const data = configMap["data"] as Record<string, string>;
    const queries = dashboardQueries(
      JSON.parse(data["eni-operator.json"] ?? "{}") as Parameters<typeof dashboardQueries>[0],
    );
    expect(queries.length).toBeGreaterThan(10);
    const exposition = await (await fetch(s.operator.metricsUrl)).text();
    const families = new Set([...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const named = new Set<string>();
    const problems: string[] = [];
    for (const { where, expr } of queries) {
      parser.parse(expr).iterate({
        enter: (node) => {
          if (node.type.isError) problems.push(`${where}: syntax error at ${node.from} in ${expr}`);
          if (node.name === "VectorSelector") {
            const metric = node.node.getChild("Identifier");
            const name = metric ? expr.slice(metric.from, metric.to) : "";
            named.add(name);
            const family = name.replace(/_(bucket|sum|count)$/, "");
            if (name !== "up" && !families.has(name) && !families.has(family)) {
              problems.push(`${where}: ${name} is not on /metrics`);
            }
          }
        },
      });
    }
    expect(problems).toEqual([]);
    // What an on-call engineer looks for: reconciles and errors, the queue, ECM calls and throttling,
    // Terminating and failing resources, the leader.
    expect([...named]).toEqual(
      expect.arrayContaining([
        "controller_runtime_reconcile_total",
        "controller_runtime_reconcile_errors_total",
        "workqueue_depth",
        "workqueue_queue_duration_seconds_bucket",
        "ecm_api_requests_total",
        "ecm_api_limiter_allowance",
        "eniattachment_terminating_resources",
        "eniattachment_failing_resources",
        "leader_election_master_status",
      ]),
    );
  });
});

/** The PromQL of a Grafana dashboard: each panel's targets, and the metric of each label_values() variable. */
function dashboardQueries(dashboard: {
  panels: { title: string; targets: { expr: string }[] }[];
  templating: { list: { query?: unknown }[] };
}): { where: string; expr: string }[] {
  const panels = dashboard.panels.flatMap((panel) =>
    panel.targets.map((target) => ({ where: panel.title, expr: target.expr.replaceAll("$__rate_interval", "5m") })),
  );
  const variables = dashboard.templating.list.flatMap((variable) => {
    const match = typeof variable.query === "string" ? /^label_values\((.+), \w+\)$/.exec(variable.query) : null;
    return match?.[1] ? [{ where: "variables", expr: match[1] }] : [];
  });
  return [...panels, ...variables];
}

/** A GET of the operator's self-signed HTTPS endpoint, with a bearer token or none. */
function httpsGet(url: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { rejectUnauthorized: false, agent: false, headers: token ? { authorization: `Bearer ${token}` } : {} },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("secure metrics (metrics.secure), with the chart's RBAC", () => {
  const s = useScenario("metrics-secure", {
    prepare: asChartServiceAccount("scrape", () => ["--set", "metrics.secure=true"]),
  });

  it("answers 401 without a valid token, 403 to a token without get on /metrics, 200 to a metrics reader", async () => {
    const core = adminKubeConfig().makeApiClient(CoreV1Api);
    const rbac = adminKubeConfig().makeApiClient(RbacAuthorizationV1Api);
    const token = async (name: string) => {
      await core.createNamespacedServiceAccount({ namespace: s.namespace, body: { metadata: { name } } });
      return serviceAccountToken(s.namespace, name, 600);
    };
    const nobody = await token("nobody");
    const scraper = await token("scraper");
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: `${s.namespace}-scraper` },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "scrape-eni-operator-metrics-reader",
        },
        subjects: [{ kind: "ServiceAccount", name: "scraper", namespace: s.namespace }],
      },
    });
    const url = s.operator.metricsUrl.replace(/^http:/, "https:");

    expect((await httpsGet(url)).status).toBe(401);
    expect((await httpsGet(url, "not-a-token")).status).toBe(401);
    const forbidden = await httpsGet(url, nobody);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toContain(`system:serviceaccount:${s.namespace}:nobody may not get /metrics`);
    // RBAC bindings take effect at once in the API server; poll in case the authorizer's cache lags.
    const allowed = await waitFor(async () => {
      const result = await httpsGet(url, scraper);
      return result.status === 200 ? result : undefined;
    }, 10_000);
    expect(allowed.body).toContain("controller_runtime_reconcile_total");
    // Plain HTTP is not served on that port.
    await expect(fetch(s.operator.metricsUrl)).rejects.toThrow();
  });
});
