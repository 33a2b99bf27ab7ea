import { ApiException } from "@kubernetes/client-node";
import type { Secret } from "../../src/kube/secrets.ts";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { EniAttachment } from "../../src/api/eniattachment.ts";
import { SecretChangePoller } from "../../src/kube/secret-change-poller.ts";
import { SECRET_CACHE_ENTRIES, SECRET_CACHE_MS, SecretReader, versionOf } from "../../src/kube/secret-reader.ts";
import { silentLogger } from "./fakes.ts";
import { eniAttachment } from "./fixtures.ts";

/** An API that serves one Secret (or 404) and counts the GETs it answered. */
function fakeApi(initial: Secret | undefined) {
  const api = {
    current: initial,
    gets: 0,
    readNamespacedSecret: ({ name }: { namespace: string; name: string }): Promise<Secret> => {
      api.gets += 1;
      return api.current
        ? Promise.resolve(api.current)
        : Promise.reject(new ApiException(404, `secrets "${name}" not found`, "", {}));
    },
  };
  return api;
}

const secret = (resourceVersion: string): Secret => ({ metadata: { name: "team", resourceVersion } });

describe("reading a credentials Secret", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("reuses a read for at most the cache time, so a rotated key is in use within it", async () => {
    const api = fakeApi(secret("1"));
    const reader = new SecretReader(api);
    expect((await reader.read("ns", "team"))?.metadata?.resourceVersion).toBe("1");
    api.current = secret("2");
    vi.advanceTimersByTime(SECRET_CACHE_MS - 1);
    expect((await reader.read("ns", "team"))?.metadata?.resourceVersion).toBe("1");
    vi.advanceTimersByTime(1);
    expect((await reader.read("ns", "team"))?.metadata?.resourceVersion).toBe("2");
    expect(api.gets).toBe(2);
  });

  it("reads again at once when asked for a fresh copy (a retry after a credentials failure)", async () => {
    const api = fakeApi(secret("1"));
    const reader = new SecretReader(api);
    const reads: string[] = [];
    reader.onRead((_namespace, _name, read) => reads.push(versionOf(read)));
    await reader.read("ns", "team");
    api.current = secret("2");
    expect((await reader.read("ns", "team", true))?.metadata?.resourceVersion).toBe("2");
    expect(reads).toEqual(["1", "2"]);
  });

  it("reports a missing Secret as absent, and shares one GET between concurrent reads", async () => {
    const api = fakeApi(undefined);
    const reader = new SecretReader(api);
    const reads: string[] = [];
    reader.onRead((_namespace, _name, read) => reads.push(versionOf(read)));
    expect(await Promise.all([reader.read("ns", "team"), reader.read("ns", "team")])).toEqual([undefined, undefined]);
    expect(api.gets).toBe(1);
    expect(reads).toEqual(["absent"]);
  });

  it("forgets expired reads, and holds at most its bound however many Secrets are read", async () => {
    const reader = new SecretReader(fakeApi(secret("1")));
    for (let i = 0; i < SECRET_CACHE_ENTRIES + 500; i += 1) await reader.read("ns", `team-${i}`);
    expect(reader.size).toBe(SECRET_CACHE_ENTRIES);
    vi.advanceTimersByTime(SECRET_CACHE_MS);
    expect(reader.size).toBe(0);
  });
});

describe("polling the Secrets of resources failing on credentials", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const failing = (secretName: string): EniAttachment => {
    const resource = eniAttachment()
      .withStatus({
        phase: "Failed",
        operation: {
          action: "DetachNetworkInterface",
          time: "2026-01-01T00:00:00Z",
          outcome: "Failed",
          errorCode: "AuthFailure.SecretIdNotFound",
          attempts: 1,
        },
      })
      .build();
    resource.spec.credentialsSecretRef = { name: secretName };
    return resource;
  };

  it("tells of a change against the version a reconcile read, after the reader's cache forgot it", async () => {
    const api = fakeApi(secret("1"));
    const reader = new SecretReader(api);
    const poller = new SecretChangePoller(reader, () => [failing("team")], silentLogger, 1_000);
    const changes: string[] = [];
    poller.onChange((changed, kind) => changes.push(`${kind} ${versionOf(changed)}`));
    await reader.read("team-a", "team"); // the reconcile that failed on the key
    vi.advanceTimersByTime(SECRET_CACHE_MS);
    expect(reader.size).toBe(0);
    api.current = secret("2"); // the key replaced
    await poller.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(changes).toEqual(["update 2"]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(changes).toEqual(["update 2"]);
    await poller.stop();
  });

  it("forgets the versions of Secrets no resource names any more", async () => {
    const api = fakeApi(secret("1"));
    const reader = new SecretReader(api);
    let resources = [failing("team")];
    const poller = new SecretChangePoller(reader, () => resources, silentLogger, 1_000);
    const changes: string[] = [];
    poller.onChange((changed, kind) => changes.push(`${kind} ${versionOf(changed)}`));
    await reader.read("team-a", "team");
    await poller.start();
    await vi.advanceTimersByTimeAsync(1_000);
    resources = [];
    await vi.advanceTimersByTimeAsync(1_000);
    // Named again later, the Secret's version then is its first: no change is made up from the old one.
    api.current = secret("2");
    resources = [failing("team")];
    await vi.advanceTimersByTimeAsync(1_000);
    expect(changes).toEqual([]);
    await poller.stop();
  });
});
