import { ApiException, type V1Secret } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SECRET_CACHE_MS, SecretReader } from "../../src/kube/secret-reader.ts";

/** An API that serves one Secret (or 404) and counts the GETs it answered. */
function fakeApi(initial: V1Secret | undefined) {
  const api = {
    current: initial,
    gets: 0,
    readNamespacedSecret: ({ name }: { namespace: string; name: string }): Promise<V1Secret> => {
      api.gets += 1;
      return api.current
        ? Promise.resolve(api.current)
        : Promise.reject(new ApiException(404, `secrets "${name}" not found`, "", {}));
    },
  };
  return api;
}

const secret = (resourceVersion: string): V1Secret => ({ metadata: { name: "team", resourceVersion } });

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
    await reader.read("ns", "team");
    api.current = secret("2");
    expect((await reader.read("ns", "team", true))?.metadata?.resourceVersion).toBe("2");
    expect(reader.lastSeenVersion("ns", "team")).toBe("2");
  });

  it("reports a missing Secret as absent, and shares one GET between concurrent reads", async () => {
    const api = fakeApi(undefined);
    const reader = new SecretReader(api);
    expect(reader.lastSeenVersion("ns", "team")).toBeUndefined();
    expect(await Promise.all([reader.read("ns", "team"), reader.read("ns", "team")])).toEqual([undefined, undefined]);
    expect(api.gets).toBe(1);
    expect(reader.lastSeenVersion("ns", "team")).toBe("absent");
  });
});
