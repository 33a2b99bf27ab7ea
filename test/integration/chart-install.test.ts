// Installing as users do, each on a control plane of its own that has never seen the CRD:
// helm install / upgrade / uninstall, and `kubectl apply -f crds/ -f deploy/manifests/`.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveBinaries } from "../controlplane/binaries.ts";
import { startControlPlane, type ControlPlane } from "../controlplane/control-plane.ts";
import { helm, kubectl, type ToolOptions } from "../support/cluster.ts";
import { CHART } from "../support/chart.ts";

const CRD = "crd/eniattachments.ecm.eni-operator.io";
const DESCRIPTION = "{.spec.versions[0].schema.openAPIV3Schema.description}";

/** A fresh control plane for the enclosing describe block, and tools pointed at it. */
function useFreshControlPlane() {
  let plane: ControlPlane | undefined;
  beforeAll(async () => {
    plane = await startControlPlane({ binaries: await resolveBinaries() });
  });
  afterAll(async () => {
    await plane?.stop();
  });
  const options = (): ToolOptions => ({ kubeconfig: plane?.adminKubeconfigPath ?? "" });
  return {
    helm: (args: readonly string[]) => helm(args, options()),
    kubectl: (args: readonly string[], input?: string) =>
      kubectl(args, input === undefined ? options() : { ...options(), input }),
  };
}

describe("helm install, upgrade and uninstall", () => {
  const on = useFreshControlPlane();
  let changedChart = "";
  beforeAll(async () => {
    // The same chart with a changed CRD description, as a new chart version would bring.
    changedChart = join(await mkdtemp(join(tmpdir(), "eni-operator-chart-")), "eni-operator");
    await cp(CHART, changedChart, { recursive: true });
    const template = join(changedChart, "templates", "crd.yaml");
    const original = await readFile(template, "utf8");
    const changed = original.replace(
      "description: EniAttachment attaches a Tencent Cloud ECM elastic network",
      "description: EniAttachment (upgraded) attaches a Tencent Cloud ECM elastic network",
    );
    expect(changed).not.toBe(original);
    await writeFile(template, changed);
  });
  afterAll(async () => {
    if (changedChart) await rm(join(changedChart, ".."), { recursive: true, force: true });
  });

  it("installs the CRD and the operator, and tells the user what to do next", async () => {
    const installed = await on.helm(["install", "eni-operator", CHART, "-n", "eni-system", "--create-namespace"]);
    expect(installed.stderr).toBe("");
    expect(installed.stdout).toContain("STATUS: deployed");
    expect(installed.stdout).toContain("eni-operator 0.1.0 is installed in namespace eni-system.");
    expect(installed.stdout).toContain("create secret generic ecm-credentials");
    const established = await on.kubectl(["wait", "--for=condition=Established", CRD, "--timeout=30s"]);
    expect(established.code).toBe(0);
    const args = await on.kubectl([
      "get",
      "deployment/eni-operator",
      "-n",
      "eni-system",
      "-o",
      "jsonpath={.spec.template.spec.containers[0].args}",
    ]);
    expect(JSON.parse(args.stdout)).toContain("--log-level=info");
    // A user's resource, which must outlive the release.
    const applied = await on.kubectl(["apply", "-n", "default", "-f", "deploy/samples/attached.yaml"]);
    expect(applied.stderr).toBe("");
  });

  it("upgrades changed values and a changed CRD", async () => {
    const upgraded = await on.helm([
      "upgrade",
      "eni-operator",
      changedChart,
      "-n",
      "eni-system",
      "--set",
      "logLevel=debug",
      "--set",
      "replicaCount=3",
    ]);
    expect(upgraded.stderr).toBe("");
    expect(upgraded.stdout).toContain("REVISION: 2");
    const description = await on.kubectl(["get", CRD, "-o", `jsonpath=${DESCRIPTION}`]);
    expect(description.stdout).toContain("EniAttachment (upgraded) attaches");
    const deployment = await on.kubectl(["get", "deployment/eni-operator", "-n", "eni-system", "-o", "json"]);
    const spec = (
      JSON.parse(deployment.stdout) as {
        spec: { replicas: number; template: { spec: { containers: { args: string[] }[] } } };
      }
    ).spec;
    expect(spec.replicas).toBe(3);
    expect(spec.template.spec.containers[0]?.args).toContain("--log-level=debug");
  });

  it("uninstalls the operator but keeps the CRD and the users' EniAttachments (crds.keep)", async () => {
    const uninstalled = await on.helm(["uninstall", "eni-operator", "-n", "eni-system"]);
    expect(uninstalled.code).toBe(0);
    expect(uninstalled.stdout).toContain("kept due to the resource policy");
    const deployment = await on.kubectl(["get", "deployment/eni-operator", "-n", "eni-system"]);
    expect(deployment.stderr).toContain("NotFound");
    const role = await on.kubectl(["get", "clusterrole/eni-operator"]);
    expect(role.stderr).toContain("NotFound");
    const crd = await on.kubectl(["get", CRD, "-o", `jsonpath=${DESCRIPTION}`]);
    expect(crd.stdout).toContain("EniAttachment (upgraded) attaches");
    const resources = await on.kubectl(["get", "enia", "-n", "default", "-o", "name"]);
    expect(resources.stdout.trim()).toBe("eniattachment.ecm.eni-operator.io/web-primary");
  });
});

describe("kubectl apply -f crds/ -f deploy/manifests/, as the README writes it", () => {
  const on = useFreshControlPlane();

  it("installs the CRD and the operator in eni-system on a fresh control plane", async () => {
    const applied = await on.kubectl(["apply", "-f", "crds/", "-f", "deploy/manifests/"]);
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain("namespace/eni-system created");
    expect(applied.stdout).toContain("deployment.apps/eni-operator created");
    const established = await on.kubectl(["wait", "--for=condition=Established", CRD, "--timeout=30s"]);
    expect(established.code).toBe(0);
    const canWatch = await on.kubectl([
      "auth",
      "can-i",
      "watch",
      "eniattachments.ecm.eni-operator.io",
      "--all-namespaces",
      "--as",
      "system:serviceaccount:eni-system:eni-operator",
    ]);
    expect(canWatch.stdout.trim()).toBe("yes");
    // The README's way to give the plain install its credentials.
    const secret = await on.kubectl([
      "-n",
      "eni-system",
      "create",
      "secret",
      "generic",
      "ecm-env",
      "--from-literal=TENCENTCLOUD_SECRET_ID=AKIDexample",
      "--from-literal=TENCENTCLOUD_SECRET_KEY=example",
    ]);
    expect(secret.stderr).toBe("");
    const setEnv = await on.kubectl([
      "-n",
      "eni-system",
      "set",
      "env",
      "deployment/eni-operator",
      "--from=secret/ecm-env",
    ]);
    expect(setEnv.stderr).toBe("");
    const deployment = await on.kubectl([
      "get",
      "deployment/eni-operator",
      "-n",
      "eni-system",
      "-o",
      "jsonpath={.spec.template.spec.containers[0].env}",
    ]);
    // kubectl adds a Secret's keys in no fixed order.
    const env = (JSON.parse(deployment.stdout) as { name: string }[]).sort((a, b) => a.name.localeCompare(b.name));
    expect(env).toEqual([
      {
        name: "TENCENTCLOUD_SECRET_ID",
        valueFrom: { secretKeyRef: { key: "TENCENTCLOUD_SECRET_ID", name: "ecm-env" } },
      },
      {
        name: "TENCENTCLOUD_SECRET_KEY",
        valueFrom: { secretKeyRef: { key: "TENCENTCLOUD_SECRET_KEY", name: "ecm-env" } },
      },
    ]);
  });

  it("uninstalls with the README's command, keeping the namespace and the credentials Secret created in it", async () => {
    const deleted = await on.kubectl([
      "delete",
      "-f",
      "deploy/manifests/",
      "-l",
      "app.kubernetes.io/name=eni-operator",
    ]);
    expect(deleted.stderr).toBe("");
    expect(deleted.stdout).toContain('deployment.apps "eni-operator" deleted');
    expect(deleted.stdout).not.toMatch(/^namespace/m);
    const namespace = await on.kubectl(["get", "namespace/eni-system", "-o", "jsonpath={.status.phase}"]);
    expect(namespace.stdout).toBe("Active");
    const secret = await on.kubectl(["get", "secret/ecm-env", "-n", "eni-system", "-o", "name"]);
    expect(secret.stdout.trim()).toBe("secret/ecm-env");
    const left = await on.kubectl([
      "get",
      "deployment,serviceaccount,clusterrole",
      "-A",
      "-l",
      "app.kubernetes.io/name=eni-operator",
      "-o",
      "name",
    ]);
    expect(left.stdout.trim()).toBe("");
  });
});
