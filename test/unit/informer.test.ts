import type { KubernetesObject } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  ResilientInformer,
  STALL_MS,
  type ChangeKind,
  type ListPage,
  type WatchStream,
} from "../../src/kube/informer.ts";
import { RESTART_MAX_MS, restartDelayMs } from "../../src/kube/restart-backoff.ts";
import { createLogger } from "../../src/observability/logger.ts";

const object = (name: string, resourceVersion: string): KubernetesObject => ({
  metadata: { name, namespace: "ns", resourceVersion },
});

/** What the fake API server holds, whether its list fails, and how many objects a page holds at most. */
class FakeServer {
  items: KubernetesObject[] = [];
  resourceVersion = "10";
  listFails = false;
  pageSize = Infinity;
  /** Date.now() at every list call (one per page). */
  readonly lists: number[] = [];
  /** The continue token of every list call, undefined for a first page. */
  readonly pageTokens: (string | undefined)[] = [];

  list = (token: string | undefined): Promise<ListPage> => {
    this.lists.push(Date.now());
    this.pageTokens.push(token);
    if (this.listFails) return Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6443"));
    const start = token === undefined ? 0 : Number(token);
    const end = start + this.pageSize;
    const more = end < this.items.length ? { continue: String(end) } : {};
    const items = this.items.slice(start, end);
    return Promise.resolve({ items, metadata: { resourceVersion: this.resourceVersion, ...more } });
  };
}

interface FakeWatchCall {
  at: number;
  params: Record<string, string | number | boolean | undefined>;
  send: (type: string, object: unknown) => void;
  end: (err: unknown) => void;
  aborted: boolean;
}

/** client-node's Watch as the informer sees it: each call opens (or refuses) one stream the test drives. */
class FakeWatch implements WatchStream {
  readonly calls: FakeWatchCall[] = [];
  refuse = false;

  watch(
    _path: string,
    params: Record<string, string | number | boolean | undefined>,
    onEvent: (type: string, object: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<{ abort(): void }> {
    const call: FakeWatchCall = { at: Date.now(), params, send: onEvent, end: done, aborted: false };
    this.calls.push(call);
    if (this.refuse) done(new Error("connect ECONNREFUSED 127.0.0.1:6443"));
    return Promise.resolve({
      abort: () => {
        call.aborted = true;
      },
    });
  }

  get last(): FakeWatchCall {
    const call = this.calls.at(-1);
    if (call === undefined) throw new Error("no watch was opened");
    return call;
  }
}

function setup(transform?: (object: KubernetesObject) => KubernetesObject) {
  const server = new FakeServer();
  const watch = new FakeWatch();
  const informer = new ResilientInformer(watch, "/apis/x/v1/things", server.list, createLogger("silent"), {
    random: () => 0.5,
    ...(transform ? { transform } : {}),
  });
  const changes: [string, ChangeKind][] = [];
  informer.onChange((changed, kind) => changes.push([changed.metadata?.name ?? "", kind]));
  return { server, watch, informer, changes };
}

const gaps = (times: readonly number[]): number[] => times.slice(1).map((t, i) => t - (times[i] ?? 0));

describe("the restart back-off", () => {
  it("doubles from 1 s per consecutive failure up to 30 s, jittered by ±20%", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((n) => restartDelayMs(n, () => 0.5))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ]);
    expect(restartDelayMs(6, () => 0)).toBe(RESTART_MAX_MS * 0.8);
    expect(restartDelayMs(6, () => 0.999_999)).toBeCloseTo(RESTART_MAX_MS * 1.2, -1);
  });
});

describe("an informer", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("retries a list that keeps failing after 1, 2, 4, 8, 16 s and then every 30 s, not every second", async () => {
    const { server, informer } = setup();
    server.listFails = true;
    await informer.start();
    await vi.advanceTimersByTimeAsync(121_000);
    expect(gaps(server.lists)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect(informer.synced).toBe(false);

    server.listFails = false;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(informer.synced).toBe(true);
    await informer.stop();
  });

  it("is synced only once a list succeeded and a watch is open from its resourceVersion", async () => {
    const { server, watch, informer } = setup();
    server.items = [object("a", "5")];
    await informer.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(informer.synced).toBe(true);
    expect(watch.last.params).toMatchObject({ resourceVersion: "10", allowWatchBookmarks: true });
    expect(informer.get("a", "ns")?.metadata?.resourceVersion).toBe("5");
    await informer.stop();
    expect(informer.synced).toBe(false);
  });

  it("survives the API server going away: not synced, back-off, then resumes where it was and sees what changed", async () => {
    const { server, watch, informer, changes } = setup();
    server.items = [object("a", "5")];
    await informer.start();
    await vi.advanceTimersByTimeAsync(0);
    watch.last.send("MODIFIED", object("a", "11"));

    watch.refuse = true;
    watch.last.end(new Error("read ECONNRESET"));
    expect(informer.synced).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000 + 2_000 + 4_000);
    expect(gaps(watch.calls.map((c) => c.at))).toEqual([1_000, 2_000, 4_000]);
    expect(informer.synced).toBe(false);

    watch.refuse = false;
    await vi.advanceTimersByTimeAsync(8_000);
    expect(informer.synced).toBe(true);
    expect(watch.last.params.resourceVersion).toBe("11");
    expect(server.lists).toHaveLength(1);
    watch.last.send("MODIFIED", object("a", "14"));
    expect(changes).toEqual([
      ["a", "add"],
      ["a", "update"],
      ["a", "update"],
    ]);

    // The back-off starts again from 1 s after a watch was open.
    watch.last.end(new Error("read ECONNRESET"));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(informer.synced).toBe(true);
    await informer.stop();
  });

  it("lists again when the watch's resourceVersion expired (410), reporting what was deleted meanwhile", async () => {
    const { server, watch, informer, changes } = setup();
    server.items = [object("a", "5"), object("b", "6")];
    await informer.start();
    await vi.advanceTimersByTimeAsync(0);

    server.items = [object("a", "5")];
    server.resourceVersion = "40";
    watch.last.send("ERROR", { kind: "Status", code: 410, reason: "Expired" });
    await vi.advanceTimersByTimeAsync(0);
    expect(server.lists).toHaveLength(2);
    expect(changes).toEqual([
      ["a", "add"],
      ["b", "add"],
      ["b", "delete"],
    ]);
    expect(watch.last.params.resourceVersion).toBe("40");
    expect(informer.synced).toBe(true);
    await informer.stop();
  });

  it("resumes a watch the server closed from the last resourceVersion at once, without a list", async () => {
    const { watch, informer } = setup();
    await informer.start();
    await vi.advanceTimersByTimeAsync(25_000);
    watch.last.send("BOOKMARK", { kind: "Thing", metadata: { name: "", resourceVersion: "17" } });
    watch.last.end(null);
    await vi.advanceTimersByTimeAsync(0);
    expect(watch.calls).toHaveLength(2);
    expect(watch.last.params.resourceVersion).toBe("17");
    expect(informer.synced).toBe(true);
    await informer.stop();
  });

  it("backs off from a watch that closes at once with nothing delivered, instead of spinning", async () => {
    const { watch, informer } = setup();
    await informer.start();
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 4; i += 1) {
      watch.last.end(null);
      await vi.advanceTimersByTimeAsync(restartDelayMs(i + 1, () => 0.5));
    }
    expect(gaps(watch.calls.map((c) => c.at))).toEqual([1_000, 2_000, 4_000, 8_000]);
    await informer.stop();
  });

  it("keeps a watch that receives bookmarks, and replaces one silent for the stall bound with a fresh list", async () => {
    const { server, watch, informer, changes } = setup();
    server.items = [object("a", "5")];
    await informer.start();
    await vi.advanceTimersByTimeAsync(0);
    for (let minute = 1; minute <= 8; minute += 1) {
      await vi.advanceTimersByTimeAsync(60_000);
      watch.last.send("BOOKMARK", { metadata: { name: "", resourceVersion: String(10 + minute) } });
    }
    expect(server.lists).toHaveLength(1);
    expect(watch.calls).toHaveLength(1);

    server.items = [object("a", "30")];
    server.resourceVersion = "31";
    const stalled = watch.last;
    await vi.advanceTimersByTimeAsync(STALL_MS);
    expect(stalled.aborted).toBe(true);
    expect(server.lists).toHaveLength(2);
    expect(watch.last.params.resourceVersion).toBe("31");
    expect(changes).toEqual([
      ["a", "add"],
      ["a", "update"],
    ]);
    expect(informer.synced).toBe(true);
    await informer.stop();
  });

  it("opens nothing more once stopped, even from a back-off in progress", async () => {
    const { server, watch, informer } = setup();
    server.listFails = true;
    await informer.start();
    await informer.stop();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(server.lists).toHaveLength(1);
    expect(watch.calls).toHaveLength(0);
  });

  it("lists page by page, following continue tokens, and watches from the list's resourceVersion", async () => {
    const { server, watch, informer } = setup();
    server.items = [object("a", "5"), object("b", "6"), object("c", "7")];
    server.pageSize = 2;
    server.resourceVersion = "20";
    await informer.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(server.pageTokens).toEqual([undefined, "2"]);
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(["a", "b", "c"]);
    expect(watch.last.params.resourceVersion).toBe("20");
    await informer.stop();
  });

  it("keeps what the transform makes of each object, and leaves out one it refuses while keeping the rest", async () => {
    const { server, watch, informer } = setup((o) => {
      if (o.metadata?.name === "bad") throw new Error("does not match its schema");
      return {
        metadata: { name: o.metadata?.name ?? "", namespace: "ns", resourceVersion: o.metadata?.resourceVersion ?? "" },
      };
    });
    server.items = [object("a", "5"), object("bad", "6")];
    await informer.start();
    await vi.advanceTimersByTimeAsync(0);
    watch.last.send("ADDED", {
      ...object("c", "11"),
      metadata: { name: "c", namespace: "ns", resourceVersion: "11", managedFields: [{}] },
    });
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(["a", "c"]);
    expect(informer.get("c", "ns")?.metadata).toEqual({ name: "c", namespace: "ns", resourceVersion: "11" });
    expect(informer.synced).toBe(true);
    await informer.stop();
  });

  it("skips an object that stops decoding the same way on a watch and on a relist: its cached copy stays, nothing is deleted", async () => {
    const server = new FakeServer();
    const watch = new FakeWatch();
    const skipped: string[] = [];
    const informer = new ResilientInformer(watch, "/apis/x/v1/things", server.list, createLogger("silent"), {
      random: () => 0.5,
      transform: (o) => {
        if (o.metadata?.resourceVersion === "bad") throw new Error("does not match its schema");
        return o;
      },
      skipped: (_error, path, _namespace, name) => skipped.push(`${path} ${name}`),
    });
    const changes: [string, ChangeKind][] = [];
    informer.onChange((changed, kind) => changes.push([changed.metadata?.name ?? "", kind]));
    server.items = [object("a", "5"), object("b", "6")];
    await informer.start();
    await vi.advanceTimersByTimeAsync(0);
    watch.last.send("MODIFIED", object("a", "bad"));
    server.items = [object("a", "bad"), object("b", "bad")];
    server.resourceVersion = "40";
    watch.last.send("ERROR", { kind: "Status", code: 410, reason: "Expired" });
    await vi.advanceTimersByTimeAsync(0);
    expect(server.lists).toHaveLength(2);
    expect(skipped).toEqual(["watch a", "list a", "list b"]);
    expect(changes).toEqual([
      ["a", "add"],
      ["b", "add"],
    ]);
    expect(informer.list().map((o) => o.metadata?.resourceVersion)).toEqual(["5", "6"]);
    await informer.stop();
  });
});
