// What the operator relies on from a real kube-apiserver, checked against the harness's control plane
// through @kubernetes/client-node and the built kubectl.
import {
  ApiException,
  AuthenticationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  VersionApi,
  Watch,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type RbacV1Subject,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { pinnedVersions } from "../controlplane/binaries.ts";
import { applyCrds } from "../controlplane/crds.ts";
import {
  adminKubeConfig,
  kubectl,
  loadKubeConfig,
  serviceAccountKubeconfig,
  testNamespace,
  userKubeconfig,
  type TestNamespace,
} from "../support/cluster.ts";

const group = "harness.test.io";
const version = "v1";
const plural = "widgets";
const finalizer = `${group}/cleanup`;
const celMessage = "spec.size must not exceed spec.maxSize";
const rbacGroup = "rbac.authorization.k8s.io";

// Written with the wire's field names (x-kubernetes-validations), as a CRD file would be.
const widgetCrd: KubernetesObject & { spec: object } = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: `${plural}.${group}` },
  spec: {
    group,
    scope: "Namespaced",
    names: { plural, singular: "widget", kind: "Widget", listKind: "WidgetList" },
    versions: [
      {
        name: version,
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: {
                type: "object",
                required: ["size", "maxSize"],
                properties: { size: { type: "integer" }, maxSize: { type: "integer" } },
                "x-kubernetes-validations": [{ rule: "self.size <= self.maxSize", message: celMessage }],
              },
              status: { type: "object", properties: { phase: { type: "string" } } },
            },
          },
        },
      },
    ],
  },
};

interface Widget extends KubernetesObject {
  spec: { size: number; maxSize: number };
  status?: { phase?: string };
}

const widget = (name: string, size = 1, maxSize = 3): Widget => ({
  apiVersion: `${group}/${version}`,
  kind: "Widget",
  metadata: { name },
  spec: { size, maxSize },
});

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

/** The status code and message of the API error a call fails with (client-node leaves the body as raw text). */
async function apiError(call: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const { code, body } = err as ApiException<unknown>;
    const status = JSON.parse(typeof body === "string" ? body : JSON.stringify(body)) as { message?: string };
    return { code, message: status.message ?? "" };
  }
  throw new Error("the call succeeded; an API error was expected");
}

describe("the test control plane", () => {
  let admin: KubeConfig;
  let widgets: CustomObjectsApi;
  let ns: TestNamespace;

  const widgetRef = (name: string) => ({ group, version, plural, namespace: ns.name, name });
  const getWidget = async (name: string, api = widgets): Promise<Widget> =>
    (await api.getNamespacedCustomObject(widgetRef(name))) as Widget;

  beforeAll(async () => {
    admin = adminKubeConfig();
    widgets = admin.makeApiClient(CustomObjectsApi);
    await applyCrds(admin, [widgetCrd]);
    ns = await testNamespace("controlplane");
  });

  afterAll(async () => {
    await ns.cleanup();
  });

  it("serves the pinned Kubernetes version to the client and to the built kubectl", async () => {
    const { kube } = pinnedVersions();
    expect((await admin.makeApiClient(VersionApi).getCode()).gitVersion).toBe(kube);

    const result = await kubectl(["version", "--output=json"]);
    expect(result.code, result.stderr).toBe(0);
    const versions = JSON.parse(result.stdout) as {
      clientVersion: { gitVersion: string };
      serverVersion: { gitVersion: string };
    };
    expect(versions.clientVersion.gitVersion).toBe(kube);
    expect(versions.serverVersion.gitVersion).toBe(kube);
  });

  it("rejects an object that breaks the CRD's CEL rule with 422 and the rule's message", async () => {
    const error = await apiError(
      widgets.createNamespacedCustomObject({
        group,
        version,
        plural,
        namespace: ns.name,
        body: widget("too-big", 5, 3),
      }),
    );
    expect(error.code).toBe(422);
    expect(error.message).toContain(celMessage);
  });

  it("writes status only through the status subresource", async () => {
    const body = widget("status");
    await widgets.createNamespacedCustomObject({ group, version, plural, namespace: ns.name, body });

    await widgets.patchNamespacedCustomObject(
      { ...widgetRef("status"), body: { status: { phase: "Ignored" } } },
      mergePatch,
    );
    expect((await getWidget("status")).status).toBeUndefined();

    const patched = (await widgets.patchNamespacedCustomObjectStatus(
      { ...widgetRef("status"), body: { status: { phase: "Ready" } } },
      mergePatch,
    )) as Widget;
    expect(patched.status?.phase).toBe("Ready");
    expect(patched.metadata?.generation).toBe(1);
  });

  it("keeps a deleted object until its finalizer is removed, and a watch sees every step", async () => {
    const list = (await widgets.listNamespacedCustomObject({ group, version, plural, namespace: ns.name })) as {
      metadata: { resourceVersion: string };
    };
    const events: { type: string; object: Widget }[] = [];
    const watch = await new Watch(admin).watch(
      `/apis/${group}/${version}/namespaces/${ns.name}/${plural}`,
      // Starting from the list's version, the watch cannot miss anything created afterwards.
      { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: false },
      (type: string, object: Widget) => {
        if (object.metadata?.name === "finalized") events.push({ type, object });
      },
      () => undefined,
    );
    try {
      await widgets.createNamespacedCustomObject({
        group,
        version,
        plural,
        namespace: ns.name,
        body: widget("finalized"),
      });
      await widgets.patchNamespacedCustomObject(
        { ...widgetRef("finalized"), body: { metadata: { finalizers: [finalizer] } } },
        mergePatch,
      );

      await widgets.deleteNamespacedCustomObject(widgetRef("finalized"));
      const terminating = await getWidget("finalized");
      expect(terminating.metadata?.deletionTimestamp).toBeDefined();
      expect(terminating.metadata?.finalizers).toEqual([finalizer]);

      await widgets.patchNamespacedCustomObject(
        { ...widgetRef("finalized"), body: { metadata: { finalizers: null } } },
        mergePatch,
      );
      expect((await apiError(getWidget("finalized"))).code).toBe(404);

      await vi.waitFor(() => {
        expect(events.map((e) => e.type)).toEqual(["ADDED", "MODIFIED", "MODIFIED", "DELETED"]);
      });
      expect(events[1]?.object.metadata?.finalizers).toEqual([finalizer]);
      expect(events[2]?.object.metadata?.deletionTimestamp).toBeDefined();
    } finally {
      watch.abort();
    }
  });

  it("denies a client-certificate user until a Role and RoleBinding grant access", async () => {
    const alice = loadKubeConfig(await userKubeconfig("alice", ["harness-testers"])).makeApiClient(CustomObjectsApi);
    await widgets.createNamespacedCustomObject({ group, version, plural, namespace: ns.name, body: widget("rbac") });

    const denied = await apiError(getWidget("rbac", alice));
    expect(denied.code).toBe(403);
    expect(denied.message).toContain('User "alice" cannot get resource "widgets"');

    await grantWidgetReaders(admin, ns.name, { kind: "Group", name: "harness-testers", apiGroup: rbacGroup });
    // The authorizer learns of new bindings through its informers: allow it a moment.
    await vi.waitFor(
      async () => {
        expect((await getWidget("rbac", alice)).spec.size).toBe(1);
      },
      { timeout: 10_000 },
    );
    expect((await apiError(alice.deleteNamespacedCustomObject(widgetRef("rbac")))).code).toBe(403);
  });

  it("authenticates a TokenRequest token as its ServiceAccount, which RBAC then governs", async () => {
    const core = admin.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: "reader" } } });
    const kubeconfig = await serviceAccountKubeconfig(ns.name, "reader");
    const username = `system:serviceaccount:${ns.name}:reader`;

    const review = await loadKubeConfig(kubeconfig)
      .makeApiClient(AuthenticationV1Api)
      .createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).toBe(username);

    const args = ["get", "widgets", "--namespace", ns.name, "--output=name"];
    const denied = await kubectl(args, { kubeconfig });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("Forbidden");

    await grantWidgetReaders(admin, ns.name, { kind: "ServiceAccount", name: "reader", namespace: ns.name });
    await vi.waitFor(
      async () => {
        const allowed = await kubectl(args, { kubeconfig });
        expect(allowed.code, allowed.stderr).toBe(0);
      },
      { timeout: 10_000 },
    );
  });
});

/** A Role allowed to get and list widgets, bound to `subject`. */
async function grantWidgetReaders(kc: KubeConfig, namespace: string, subject: RbacV1Subject): Promise<void> {
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const name = `widget-readers-${subject.kind.toLowerCase()}-${subject.name}`;
  await rbac.createNamespacedRole({
    namespace,
    body: { metadata: { name }, rules: [{ apiGroups: [group], resources: [plural], verbs: ["get", "list"] }] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name },
      roleRef: { apiGroup: rbacGroup, kind: "Role", name },
      subjects: [subject],
    },
  });
}
