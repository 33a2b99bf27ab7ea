// The chart as helm renders it, checked against the real API server: lint, server-side dry runs,
// values refused by the schema, the CRD, Pod Security admission, and the RBAC it grants.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { MANIFESTS_FILE, renderManifests } from "../../deploy/render-manifests.ts";
import { helm, kubectl, testNamespace, type TestNamespace } from "../support/cluster.ts";
import {
  CHART,
  RBAC_KINDS,
  fixture,
  objectsOf,
  only,
  renderChart,
  toYamlStream,
  type PolicyRule,
  type Rendered,
} from "../support/chart.ts";
import { waitFor } from "../support/operator.ts";
import { RESOURCE_RULES, SECRET_RULE, leaseRules, userRoles } from "../support/operator-rules.ts";

const CRD_FILE = fileURLToPath(new URL("../../crds/ecm.eni-operator.io_eniattachments.yaml", import.meta.url));

async function serverDryRun(yaml: string): Promise<{ code: number; stdout: string; stderr: string }> {
  // Server-side apply: the CRD already exists, applied by the test bed's own field manager.
  return kubectl(
    ["apply", "--server-side", "--force-conflicts", "--field-manager=helm", "--dry-run=server", "-f", "-"],
    {
      input: yaml,
    },
  );
}

describe("the chart, rendered", () => {
  const namespaces: TestNamespace[] = [];
  let release: TestNamespace;
  let watched: [TestNamespace, TestNamespace];

  beforeAll(async () => {
    release = await testNamespace("chart-release");
    watched = [await testNamespace("chart-watched-a"), await testNamespace("chart-watched-b")];
    namespaces.push(release, ...watched);
    const monitoring = await kubectl(["apply", "-f", fixture("monitoring-crds.yaml")]);
    expect(monitoring.stderr).toBe("");
    await kubectl(["wait", "--for=condition=Established", "crd/servicemonitors.monitoring.coreos.com"]);
    await kubectl(["wait", "--for=condition=Established", "crd/prometheusrules.monitoring.coreos.com"]);
  });
  afterAll(async () => {
    for (const ns of namespaces) await ns.cleanup().catch(() => undefined);
  });

  it("passes helm lint, with defaults and with every value set", async () => {
    const defaults = await helm(["lint", CHART]);
    expect(defaults.stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
    const every = await helm(["lint", CHART, "-f", fixture("every-value.yaml")]);
    expect(every.stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
  });

  it("renders, with its defaults, objects the API server accepts (server-side dry run)", async () => {
    const result = await serverDryRun(await renderChart("defaults", release.name));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("deployment.apps/defaults-eni-operator serverside-applied (server dry run)");
  });

  it("renders, with every value set, objects the API server accepts (server-side dry run)", async () => {
    const rendered = await renderChart("every", release.name, [
      "-f",
      fixture("every-value.yaml"),
      "--set",
      `watchNamespaces={${watched[0].name},${watched[1].name}}`,
    ]);
    const objects = objectsOf(rendered);
    expect(new Set(objects.map((o) => o.kind))).toEqual(
      new Set([
        "ServiceAccount",
        "CustomResourceDefinition",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "Service",
        "Deployment",
        "PodDisruptionBudget",
        "ServiceMonitor",
        "PrometheusRule",
        "Job",
        "NetworkPolicy",
        "ConfigMap",
      ]),
    );
    const result = await serverDryRun(rendered);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const deployment = only(objects, "Deployment");
    const container = (deployment.spec?.["template"] as { spec: { containers: { args: string[] }[] } }).spec
      .containers[0];
    expect(container?.args).toEqual(
      expect.arrayContaining([
        "--metrics-bind-address=:8443",
        "--metrics-secure=true",
        "--leader-elect=true",
        `--watch-namespace=${watched[0].name},${watched[1].name}`,
        "--ecm-endpoint=http://ecm-proxy.eni-system.svc:9000",
        "--ecm-qps=10",
        "--ecm-burst=5",
        "--max-concurrent-reconciles=8",
        "--per-resource-credentials=true",
        "--log-level=debug",
        "--ecm-qps=9",
        "--health-probe-bind-address=:9440",
        "--sts-endpoint=http://sts-proxy.eni-system.svc:9000",
        "--operator-credentials-namespaces=platform",
        "--credentials-dir=/var/run/secrets/eni-operator/credentials",
      ]),
    );
  });

  // Each: the --set that helm must refuse, and the value its message must name.
  const badValues: [string, string][] = [
    ["replicaCount=two", "/replicaCount"],
    ["replicaCount=0", "/replicaCount"],
    ["replicaCount=1.5", "/replicaCount"],
    ["image.pullPolicy=Sometimes", "/image/pullPolicy"],
    ["image.digest=latest", "/image/digest"],
    ["image.repository=", "/image/repository"],
    ["leaderElection.enabled=yes", "/leaderElection/enabled"],
    ["logLevel=verbose", "/logLevel"],
    ["watchNamespaces=Not_A_Namespace", "/watchNamespaces"],
    ["ecm.endpoint=ftp://ecm.example.com", "/ecm/endpoint"],
    ["ecm.qps=0", "/ecm/qps"],
    ["ecm.qps=0.0001", "/ecm/qps"],
    ["ecm.qps=fast", "/ecm/qps"],
    ["ecm.burst=0", "/ecm/burst"],
    ["maxConcurrentReconciles=0", "/maxConcurrentReconciles"],
    ["perResourceCredentials.enabled=maybe", "/perResourceCredentials/enabled"],
    ["serviceAccount.create=1", "/serviceAccount/create"],
    ["metrics.port=80", "/metrics/port"],
    ["metrics.port=8081", "metrics.port and healthProbe.port must differ"],
    ["metrics.port=70000", "/metrics/port"],
    ["metrics.secure=on", "/metrics/secure"],
    ["metrics.serviceMonitor.interval=often", "/metrics/serviceMonitor/interval"],
    ["prometheusRule.terminatingMinutes=0", "/prometheusRule/terminatingMinutes"],
    ["prometheusRule.enabled=true", "prometheusRule.enabled needs a scrape method"],
    ["podDisruptionBudget.minAvailable=-1", "/podDisruptionBudget/minAvailable"],
    ["podDisruptionBudget.maxUnavailable=half", "/podDisruptionBudget/maxUnavailable"],
    ["replicaCount=1,podDisruptionBudget.minAvailable=1", "podDisruptionBudget.minAvailable with replicaCount 1"],
    ["podAntiAffinity=strict", "/podAntiAffinity"],
    ["strategy.type=Replace", "/strategy/type"],
    ["terminationGracePeriodSeconds=5", "/terminationGracePeriodSeconds"],
    ["healthProbe.port=8080", "metrics.port and healthProbe.port must differ"],
    ["extraArgs={--leader-elect=false}", "extraArgs: --leader-elect=false with replicaCount > 1"],
    [
      "extraArgs={--health-probe-bind-address=:9000}",
      "extraArgs: --health-probe-bind-address=:9000 is set from the chart's values",
    ],
    ["credentials.allowedNamespaces={Team_A}", "/credentials/allowedNamespaces/0"],
    ["sts.endpoint=sts.example.com", "/sts/endpoint"],
    ["networkPolicy.egressPorts={}", "/networkPolicy/egressPorts"],
    ["extraVolumeMounts[0].name=ca", "/extraVolumeMounts/0"],
    ["uninstall.timeoutMinutes=0", "/uninstall/timeoutMinutes"],
    ["metrics.podAnnotations=true,metrics.secure=true", "metrics.podAnnotations cannot describe metrics.secure"],
    ["resources.requests.cpu=a lot", "/resources/requests/cpu"],
    ["extraArgs={ecm-qps=5}", "/extraArgs/0"],
    ["crds.keep=no", "/crds/keep"],
    ["uninstall.policy=Delete", "/uninstall/policy"],
    ["replicaCunt=2", "replicaCunt"],
    ["image.tags=1", "tags"],
    ["metrics.serviceMonitor.enable=true", "enable"],
    ["credentials.tkePodIdentity.role=x", "role"],
    ["perResourceCredentials=true", "/perResourceCredentials"],
    ["leaderElection.enabled=false", "replicaCount > 1 needs leaderElection.enabled"],
  ];

  it(`refuses ${badValues.length} wrong types, out-of-range numbers, bad enums and unknown keys, naming each`, async () => {
    const accepted: string[] = [];
    const unnamed: string[] = [];
    for (const [set, named] of badValues) {
      const result = await helm(["template", "bad", CHART, "--set", set]);
      if (result.code === 0) accepted.push(set);
      else if (!result.stderr.includes(named)) unnamed.push(`${set}: ${result.stderr}`);
    }
    console.log(`${badValues.length} bad values tried, all refused by values.schema.json`);
    expect(accepted).toEqual([]);
    expect(unnamed).toEqual([]);
  });

  it("ships the same CRD as crds/, annotated to be kept on uninstall unless crds.keep is false", async () => {
    const committed = parse(await readFile(CRD_FILE, "utf8")) as Rendered;
    const kept = only(objectsOf(await renderChart("crd", release.name)), "CustomResourceDefinition");
    const { labels, annotations, ...metadata } = kept.metadata ?? {};
    expect({ ...kept, metadata }).toEqual(committed);
    expect(annotations).toEqual({ "helm.sh/resource-policy": "keep" });
    expect(labels?.["app.kubernetes.io/name"]).toBe("eni-operator");
    const notKept = only(
      objectsOf(await renderChart("crd", release.name, ["--set", "crds.keep=false"])),
      "CustomResourceDefinition",
    );
    expect(notKept.metadata?.annotations).toBeUndefined();
    const none = objectsOf(await renderChart("crd", release.name, ["--set", "crds.enabled=false"]));
    expect(none.filter((o) => o.kind === "CustomResourceDefinition")).toEqual([]);
  });

  it("has pod templates (operator and uninstall hook) that Pod Security admission admits at the restricted level", async () => {
    const restricted = await testNamespace("chart-restricted");
    namespaces.push(restricted);
    await kubectl([
      "label",
      "namespace",
      restricted.name,
      "pod-security.kubernetes.io/enforce=restricted",
      "pod-security.kubernetes.io/enforce-version=latest",
    ]);
    const objects = objectsOf(await renderChart("pss", restricted.name, ["--set", "uninstall.hook.enabled=true"]));
    const podOf = (kind: string) =>
      only(objects, kind).spec?.["template"] as { metadata: object; spec: Record<string, unknown> };
    const template = podOf("Deployment");
    const pod = (spec: Record<string, unknown>, metadata: object = template.metadata) =>
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { ...metadata, name: "pss", namespace: restricted.name },
        spec,
      });
    const admitted = await serverDryRun(pod(template.spec));
    expect(admitted.stderr).toBe("");
    expect(admitted.stdout).toContain("pod/pss serverside-applied (server dry run)");
    // The uninstall hook's Job runs under the same rules.
    const hook = podOf("Job");
    const hookAdmitted = await serverDryRun(pod(hook.spec, hook.metadata));
    expect(hookAdmitted.stderr).toBe("");
    expect(hookAdmitted.stdout).toContain("pod/pss serverside-applied (server dry run)");
    // The same template without the pod's security context is refused: the check is real.
    const refused = await serverDryRun(pod({ ...template.spec, securityContext: {} }));
    expect(refused.stderr).toContain('violates PodSecurity "restricted:latest"');
  });

  it("keeps deploy/manifests/ equal to the chart rendered with its defaults (run `npm run manifests`)", async () => {
    const manifests = await readFile(MANIFESTS_FILE, "utf8");
    expect(manifests).toBe(await renderManifests(inject("helmPath")));
    // Never a hook in what `kubectl apply` takes: it would run at once.
    expect(manifests).not.toContain("helm.sh/hook");
  });

  it("spreads two replicas over nodes, keeps one up through a drain, and requests the memory it uses", async () => {
    const objects = objectsOf(await renderChart("eni-operator", release.name));
    const pod = only(objects, "Deployment").spec?.["template"] as {
      spec: { affinity: unknown; containers: { resources: unknown }[] };
    };
    expect(pod.spec.affinity).toEqual({
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          {
            weight: 100,
            podAffinityTerm: {
              topologyKey: "kubernetes.io/hostname",
              labelSelector: {
                matchLabels: { "app.kubernetes.io/name": "eni-operator", "app.kubernetes.io/instance": "eni-operator" },
              },
            },
          },
        ],
      },
    });
    expect(pod.spec.containers[0]?.resources).toEqual({
      requests: { cpu: "100m", memory: "116Mi" },
      limits: { memory: "256Mi" },
    });
    expect(only(objects, "PodDisruptionBudget").spec).toMatchObject({ maxUnavailable: 1 });
    const single = objectsOf(await renderChart("eni-operator", release.name, ["--set", "replicaCount=1"]));
    expect(single.filter((o) => o.kind === "PodDisruptionBudget")).toEqual([]);
    const singlePod = only(single, "Deployment").spec?.["template"] as { spec: Record<string, unknown> };
    expect(singlePod.spec["affinity"]).toBeUndefined();
    const percent = objectsOf(
      await renderChart("eni-operator", release.name, ["--set", "podDisruptionBudget.minAvailable=50%"]),
    );
    expect(only(percent, "PodDisruptionBudget").spec).toMatchObject({ minAvailable: "50%" });
  });

  it("prints NOTES with -n in every command, the hook's helm uninstall --timeout, and no Lease without leader election", async () => {
    const notes = async (args: readonly string[]) => {
      const result = await helm(["install", "eni-operator", CHART, "-n", "eni-system", "--dry-run=client", ...args]);
      expect(result.stderr).toBe("");
      return result.stdout.slice(result.stdout.indexOf("NOTES:"));
    };
    const withHook = await notes(["--set", "uninstall.hook.enabled=true", "--set", "uninstall.timeoutMinutes=20"]);
    expect(withHook).toContain("helm uninstall eni-operator -n eni-system --timeout 22m");
    expect(withHook).toContain("kubectl -n eni-system get lease eni-operator");
    expect(withHook).toContain("kubectl -n default wait --for=condition=Ready enia/example");
    expect(withHook).not.toContain("--reuse-values ");
    const single = await notes(["--set", "replicaCount=1", "--set", "leaderElection.enabled=false"]);
    expect(single).not.toContain("lease");
  });

  it("moves the probes with healthProbe.port", async () => {
    const objects = objectsOf(await renderChart("eni-operator", release.name, ["--set", "healthProbe.port=9440"]));
    const container = (
      only(objects, "Deployment").spec?.["template"] as {
        spec: { containers: { args: string[]; ports: { name: string; containerPort: number }[] }[] };
      }
    ).spec.containers[0];
    expect(container?.args).toContain("--health-probe-bind-address=:9440");
    expect(container?.ports).toContainEqual({ name: "probes", containerPort: 9440, protocol: "TCP" });
  });

  it("names, for the release name the README uses, the objects the README names", async () => {
    const readme = await readFile(fileURLToPath(new URL("../../README.md", import.meta.url)), "utf8");
    const objects = objectsOf(
      await renderChart("eni-operator", "eni-system", [
        "--set",
        "uninstall.hook.enabled=true",
        "--set",
        "metrics.secure=true",
      ]),
    );
    const names = new Set(objects.map((o) => `${o.kind}/${o.metadata?.name ?? ""}`));
    for (const named of ["Job/eni-operator-uninstall", "ClusterRole/eni-operator-metrics-reader"]) {
      expect(names).toContain(named);
      expect(readme).toContain(named.split("/")[1]);
    }
    expect(readme).toContain("helm install eni-operator deploy/helm/eni-operator -n eni-system");
  });
});

/** Every Role and ClusterRole rendered, as "Kind namespace/name" to its rules. */
function rulesOf(objects: readonly Rendered[]): Record<string, PolicyRule[] | undefined> {
  return Object.fromEntries(
    objects
      .filter((o) => o.kind === "Role" || o.kind === "ClusterRole")
      .map((o) => [`${o.kind} ${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`, o.rules]),
  );
}

describe("the chart's RBAC is least privilege", () => {
  const namespaces: TestNamespace[] = [];
  afterAll(async () => {
    for (const ns of namespaces) await ns.cleanup().catch(() => undefined);
  });

  /** Renders a release's RBAC, applies it, and returns the rules and a `kubectl auth can-i` as its ServiceAccount. */
  async function install(release: string, args: readonly string[]) {
    const ns = await testNamespace(`rbac-${release}`);
    namespaces.push(ns);
    const objects = objectsOf(await renderChart(release, ns.name, args)).filter((o) =>
      RBAC_KINDS.includes(o.kind ?? ""),
    );
    const applied = await kubectl(["apply", "-f", "-"], { input: toYamlStream(objects) });
    expect(applied.stderr).toBe("");
    const as = `system:serviceaccount:${ns.name}:${release}-eni-operator`;
    const canI = async (verb: string, resource: string, namespace: string, name?: string) => {
      const target = name ? `${resource}/${name}` : resource;
      const result = await kubectl(["auth", "can-i", verb, target, "-n", namespace, "--as", as]);
      return result.stdout.trim();
    };
    return { ns: ns.name, rules: rulesOf(objects), canI };
  }

  it("all namespaces, per-resource credentials off (the default): no access to Secrets at all", async () => {
    const { ns, rules, canI } = await install("off", []);
    expect(rules).toEqual({
      "ClusterRole /off-eni-operator": RESOURCE_RULES,
      [`Role ${ns}/off-eni-operator-leader-election`]: leaseRules("off-eni-operator"),
      ...userRoles("off-eni-operator"),
    });
    expect(await canI("update", "eniattachments.ecm.eni-operator.io", "default")).toBe("yes");
    expect(await canI("get", "secrets", "default", "any")).toBe("no");
    expect(await canI("list", "secrets", "default")).toBe("no");
    expect(await canI("watch", "secrets", "default")).toBe("no");
    expect(await canI("get", "pods", "default")).toBe("no");
    expect(await canI("create", "eniattachments.ecm.eni-operator.io", "default")).toBe("no");
    expect(await canI("delete", "eniattachments.ecm.eni-operator.io", "default")).toBe("no");
    expect(await canI("update", "customresourcedefinitions.apiextensions.k8s.io", "default")).toBe("no");
    expect(await canI("create", "customresourcedefinitions.apiextensions.k8s.io", "default")).toBe("no");
    expect(await canI("update", "leases.coordination.k8s.io", ns, "off-eni-operator")).toBe("yes");
    expect(await canI("update", "leases.coordination.k8s.io", ns, "someone-elses")).toBe("no");
    expect(await canI("update", "leases.coordination.k8s.io", "default", "off-eni-operator")).toBe("no");
  });

  it("aggregates EniAttachments into the cluster's edit and view roles, for users", async () => {
    const { ns } = await install("users", []);
    for (const [user, role] of [
      ["alice", "edit"],
      ["bob", "view"],
    ] as const) {
      const bound = await kubectl([
        "create",
        "rolebinding",
        `${user}-${role}`,
        `--clusterrole=${role}`,
        `--user=${user}`,
        "-n",
        ns,
      ]);
      expect(bound.stderr).toBe("");
    }
    const canI = async (user: string, verb: string) =>
      (
        await kubectl(["auth", "can-i", verb, "eniattachments.ecm.eni-operator.io", "-n", ns, "--as", user])
      ).stdout.trim();
    // kube-controller-manager's aggregation controller fills edit and view in shortly after.
    await waitFor(
      async () => (await canI("alice", "create")) === "yes" && (await canI("bob", "list")) === "yes",
      30_000,
    );
    expect(await canI("alice", "delete")).toBe("yes");
    expect(await canI("bob", "get")).toBe("yes");
    expect(await canI("bob", "create")).toBe("no");
    expect(await canI("bob", "update")).toBe("no");
  });

  it("all namespaces, per-resource credentials on: get and patch (the in-use finalizer) on Secrets, never list, watch, update or delete", async () => {
    const { ns, rules, canI } = await install("on", ["--set", "perResourceCredentials.enabled=true"]);
    expect(rules).toEqual({
      "ClusterRole /on-eni-operator": [...RESOURCE_RULES, SECRET_RULE],
      [`Role ${ns}/on-eni-operator-leader-election`]: leaseRules("on-eni-operator"),
      ...userRoles("on-eni-operator"),
    });
    expect(await canI("get", "secrets", "default", "team-ecm")).toBe("yes");
    expect(await canI("patch", "secrets", "default", "team-ecm")).toBe("yes");
    expect(await canI("list", "secrets", "default")).toBe("no");
    expect(await canI("watch", "secrets", "default")).toBe("no");
    expect(await canI("update", "secrets", "default", "team-ecm")).toBe("no");
    expect(await canI("delete", "secrets", "default", "team-ecm")).toBe("no");
    expect(await canI("create", "secrets", "default")).toBe("no");
    expect(await canI("get", "pods", "default")).toBe("no");
    expect(await canI("create", "eniattachments.ecm.eni-operator.io", "default")).toBe("no");
  });

  it("listed namespaces: a Role in each of them and nothing cluster-wide", async () => {
    const a = await testNamespace("rbac-listed-a");
    const b = await testNamespace("rbac-listed-b");
    namespaces.push(a, b);
    const { ns, rules, canI } = await install("listed", [
      "--set",
      `watchNamespaces={${a.name},${b.name}}`,
      "--set",
      "perResourceCredentials.enabled=true",
    ]);
    expect(rules).toEqual({
      [`Role ${a.name}/listed-eni-operator`]: [...RESOURCE_RULES, SECRET_RULE],
      [`Role ${b.name}/listed-eni-operator`]: [...RESOURCE_RULES, SECRET_RULE],
      [`Role ${ns}/listed-eni-operator-leader-election`]: leaseRules("listed-eni-operator"),
      ...userRoles("listed-eni-operator"),
    });
    expect(await canI("watch", "eniattachments.ecm.eni-operator.io", a.name)).toBe("yes");
    expect(await canI("get", "secrets", b.name, "team-ecm")).toBe("yes");
    expect(await canI("watch", "eniattachments.ecm.eni-operator.io", "default")).toBe("no");
    expect(await canI("get", "secrets", "default", "team-ecm")).toBe("no");
    expect(await canI("list", "secrets", a.name)).toBe("no");
  });

  it("secure metrics: TokenReview and SubjectAccessReview create, and a metrics-reader role for scrapers", async () => {
    const { ns, rules } = await install("secure", ["--set", "metrics.secure=true"]);
    expect(rules).toEqual({
      "ClusterRole /secure-eni-operator": RESOURCE_RULES,
      [`Role ${ns}/secure-eni-operator-leader-election`]: leaseRules("secure-eni-operator"),
      "ClusterRole /secure-eni-operator-metrics-auth": [
        { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
        { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
      ],
      "ClusterRole /secure-eni-operator-metrics-reader": [{ nonResourceURLs: ["/metrics"], verbs: ["get"] }],
      ...userRoles("secure-eni-operator"),
    });
  });
});
