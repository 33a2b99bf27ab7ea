import { ApiException } from "@kubernetes/client-node";
import type { Secret } from "../../src/kube/secrets.ts";
import { describe, expect, it } from "vitest";
import { CREDENTIALS_FINALIZER, CredentialsFinalizer } from "../../src/kube/credentials-finalizer.ts";
import { SecretReader } from "../../src/kube/secret-reader.ts";
import { silentLogger } from "./fakes.ts";

type Op = { op: "test" | "add"; path: string; value: unknown } | { op: "remove"; path: string };

/**
 * The API server's side of one Secret: GET and JSON patch of its metadata, with `test` refused as
 * the API server does (422), a resourceVersion bumped on every write, and deletion held by finalizers.
 */
function fakeSecretApi(initial: Secret | undefined) {
  const api = {
    current: initial && structuredClone(initial),
    patches: [] as Op[][],
    /** Someone else's write, just before the next patch arrives. */
    before: undefined as (() => void) | undefined,
    readNamespacedSecret: ({ name }: { namespace: string; name: string }): Promise<Secret> =>
      api.current
        ? Promise.resolve(structuredClone(api.current))
        : Promise.reject(new ApiException(404, `secrets "${name}" not found`, "", {})),
    patchNamespacedSecret: ({ name, body }: { namespace: string; name: string; body: Op[] }): Promise<Secret> => {
      api.before?.();
      api.before = undefined;
      api.patches.push(body);
      const secret = api.current;
      if (!secret?.metadata) return Promise.reject(new ApiException(404, `secrets "${name}" not found`, "", {}));
      const meta = secret.metadata;
      for (const op of body) {
        if (op.op === "test") {
          const actual = op.path === "/metadata/resourceVersion" ? meta.resourceVersion : pathValue(meta, op.path);
          if (JSON.stringify(actual) !== JSON.stringify(op.value)) {
            return Promise.reject(new ApiException(422, "the test failed", "", {}));
          }
        } else if (op.op === "add") {
          if (op.path === "/metadata/finalizers") meta.finalizers = [...(op.value as string[])];
          else meta.finalizers = [...(meta.finalizers ?? []), op.value as string];
        } else {
          const index = Number(op.path.split("/").at(-1));
          meta.finalizers = (meta.finalizers ?? []).filter((_, i) => i !== index);
        }
      }
      meta.resourceVersion = String(Number(meta.resourceVersion ?? "0") + 1);
      const answer = structuredClone(secret);
      if (meta.deletionTimestamp && (meta.finalizers ?? []).length === 0) api.current = undefined;
      return Promise.resolve(answer);
    },
  };
  return api;
}

function pathValue(meta: NonNullable<Secret["metadata"]>, path: string): unknown {
  const [, , field, index] = path.split("/");
  if (field !== "finalizers") throw new Error(`unexpected path ${path}`);
  return index === undefined ? meta.finalizers : meta.finalizers?.[Number(index)];
}

const tenant = (metadata: Partial<NonNullable<Secret["metadata"]>> = {}): Secret => ({
  metadata: { name: "tenant", namespace: "team-a", uid: "s-1", resourceVersion: "1", ...metadata },
  data: { secretId: "aWQ=", secretKey: "a2V5" },
});

function setup(secret: Secret | undefined, needed = () => false) {
  const api = fakeSecretApi(secret);
  const reader = new SecretReader(api);
  const deleting: Secret[] = [];
  const holds = new CredentialsFinalizer({
    core: api,
    reader,
    needed: () => needed(),
    onDeleting: (s) => deleting.push(s),
    logger: silentLogger,
    retryMs: 1,
  });
  return { api, reader, holds, deleting };
}

describe("holding a credentials Secret while resources name it", () => {
  it("adds the finalizer before the first use, guarded by resourceVersion, and only once", async () => {
    const { api, holds, reader } = setup(tenant());
    const held = await holds.hold("team-a", "tenant", tenant());
    expect(held?.metadata?.finalizers).toEqual([CREDENTIALS_FINALIZER]);
    expect(api.patches).toEqual([
      [
        { op: "test", path: "/metadata/resourceVersion", value: "1" },
        { op: "add", path: "/metadata/finalizers", value: [CREDENTIALS_FINALIZER] },
      ],
    ]);
    // The reader now holds the answer: the next use finds the finalizer and patches nothing.
    const cached = await reader.read("team-a", "tenant");
    await holds.hold("team-a", "tenant", cached ?? tenant());
    expect(api.patches).toHaveLength(1);
  });

  it("appends to another controller's finalizers, testing the list it read", async () => {
    const { api, holds } = setup(tenant({ finalizers: ["example.com/keep"] }));
    await holds.hold("team-a", "tenant", tenant({ finalizers: ["example.com/keep"] }));
    expect(api.patches[0]?.[0]).toEqual({ op: "test", path: "/metadata/finalizers", value: ["example.com/keep"] });
    expect(api.current?.metadata?.finalizers).toEqual(["example.com/keep", CREDENTIALS_FINALIZER]);
  });

  it("reads the Secret again when someone wrote it in between, and never overwrites their change", async () => {
    const { api, holds } = setup(tenant());
    api.before = () => {
      if (!api.current?.metadata) return;
      api.current.metadata.finalizers = ["example.com/other"];
      api.current.metadata.resourceVersion = "2";
    };
    await holds.hold("team-a", "tenant", tenant());
    expect(api.current?.metadata?.finalizers).toEqual(["example.com/other", CREDENTIALS_FINALIZER]);
    expect(api.patches).toHaveLength(2);
  });

  it("uses a Secret already being deleted as it is (no finalizer can be added), and tells once that its deletion waits", async () => {
    const terminating = tenant({ deletionTimestamp: new Date().toISOString(), finalizers: [CREDENTIALS_FINALIZER] });
    const { api, holds, deleting } = setup(terminating);
    expect(await holds.hold("team-a", "tenant", terminating)).toEqual(terminating);
    await holds.hold("team-a", "tenant", terminating);
    expect(api.patches).toEqual([]);
    expect(deleting).toHaveLength(1);
    expect(holds.deleting("team-a", "tenant")).toBe(true);
    // A new Secret of the same name, not being deleted, is not.
    await holds.hold("team-a", "tenant", tenant({ uid: "s-2", finalizers: [CREDENTIALS_FINALIZER] }));
    expect(holds.deleting("team-a", "tenant")).toBe(false);
  });

  it("answers undefined for a Secret removed between the read and the patch", async () => {
    const { api, holds } = setup(tenant());
    api.before = () => (api.current = undefined);
    expect(await holds.hold("team-a", "tenant", tenant())).toBeUndefined();
  });
});

describe("releasing a credentials Secret", () => {
  it("removes the finalizer when no resource names it, testing it at the index it was read at", async () => {
    const { api, holds } = setup(tenant({ finalizers: ["example.com/keep", CREDENTIALS_FINALIZER] }));
    await holds.release("team-a", "tenant");
    expect(api.patches).toEqual([
      [
        { op: "test", path: "/metadata/finalizers/1", value: CREDENTIALS_FINALIZER },
        { op: "remove", path: "/metadata/finalizers/1" },
      ],
    ]);
    expect(api.current?.metadata?.finalizers).toEqual(["example.com/keep"]);
  });

  it("keeps it while a resource names it, and lets a Secret whose deletion waited go", async () => {
    let named = true;
    const waiting = tenant({ deletionTimestamp: new Date().toISOString(), finalizers: [CREDENTIALS_FINALIZER] });
    const { api, holds } = setup(waiting, () => named);
    await holds.release("team-a", "tenant");
    expect(api.patches).toEqual([]);
    named = false;
    await holds.release("team-a", "tenant");
    expect(api.current).toBeUndefined();
  });

  it("does nothing to a Secret that is gone or not held", async () => {
    const gone = setup(undefined);
    await gone.holds.release("team-a", "tenant");
    const free = setup(tenant());
    await free.holds.release("team-a", "tenant");
    expect([...gone.api.patches, ...free.api.patches]).toEqual([]);
  });

  it("waits for a hold of the same Secret in progress, then sees the resource that named it meanwhile", async () => {
    let named = false;
    const { api, holds } = setup(tenant(), () => named);
    api.before = () => (named = true);
    const holding = holds.hold("team-a", "tenant", tenant());
    const releasing = holds.release("team-a", "tenant");
    await Promise.all([holding, releasing]);
    expect(api.current?.metadata?.finalizers).toEqual([CREDENTIALS_FINALIZER]);
  });

  it("tries a failed release again", async () => {
    const { api, holds } = setup(tenant({ finalizers: [CREDENTIALS_FINALIZER] }));
    const real = api.patchNamespacedSecret;
    let failures = 1;
    api.patchNamespacedSecret = (request) =>
      failures-- > 0 ? Promise.reject(new ApiException(503, "unavailable", "", {})) : real(request);
    await holds.release("team-a", "tenant");
    await holds.idle();
    for (let i = 0; i < 50 && (api.current?.metadata?.finalizers ?? []).length > 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(api.current?.metadata?.finalizers).toEqual([]);
    holds.stop();
  });
});

describe("the last resource needing a credentials Secret", () => {
  const held = () => tenant({ deletionTimestamp: new Date().toISOString(), finalizers: [CREDENTIALS_FINALIZER] });

  it("persists its record, releases the Secret, then lets itself go, in that order", async () => {
    const { api, holds } = setup(held());
    const order: string[] = [];
    api.before = () => order.push("release");
    const ran = await holds.lastUse(
      "team-a",
      "tenant",
      () => true,
      () => {
        order.push("persist");
        return Promise.resolve(true);
      },
      () => {
        order.push(api.current ? "let go (Secret still there)" : "let go");
        return Promise.resolve();
      },
    );
    expect(ran).toBe(true);
    expect(order).toEqual(["persist", "release", "let go"]);
  });

  it("releases nothing and is not let go when its record could not be written", async () => {
    const { api, holds } = setup(held());
    let letGo = false;
    const ran = await holds.lastUse(
      "team-a",
      "tenant",
      () => true,
      () => Promise.resolve(false),
      () => Promise.resolve(void (letGo = true)),
    );
    expect([ran, letGo, api.patches]).toEqual([false, false, []]);
  });

  it("is not let go when the release fails, so the next pass releases again", async () => {
    const { api, holds } = setup(held());
    api.patchNamespacedSecret = () => Promise.reject(new ApiException(503, "unavailable", "", {}));
    let letGo = false;
    const lastUse = holds.lastUse(
      "team-a",
      "tenant",
      () => true,
      () => Promise.resolve(true),
      () => Promise.resolve(void (letGo = true)),
    );
    await expect(lastUse).rejects.toThrow();
    expect(letGo).toBe(false);
  });

  it("runs one resource at a time per Secret, so of two let go together exactly the second releases it", async () => {
    const { api, holds } = setup(held());
    const needing = new Set(["a", "b"]);
    const use = (name: string) =>
      holds.lastUse(
        "team-a",
        "tenant",
        () => [...needing].every((other) => other === name),
        () => Promise.resolve(true),
        async () => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          needing.delete(name);
        },
      );
    await Promise.all([use("a"), use("b")]);
    expect(api.patches).toHaveLength(1);
    expect(api.current).toBeUndefined();
  });
});
