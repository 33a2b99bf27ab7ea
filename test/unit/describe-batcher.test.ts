import { afterEach, describe, expect, it, vi } from "vitest";
import {
  DescribeBatcher,
  MAX_IDS_PER_DESCRIBE,
  POLL_GATHER_MS,
  type DescribeClient,
} from "../../src/ecm/describe-batcher.ts";
import type { CredentialSource, EcmCredential } from "../../src/ecm/credentials.ts";
import { EcmError } from "../../src/ecm/errors.ts";
import type { DescribeResponse } from "../../src/ecm/responses.ts";

function source(secretId: string, secretKey = `key-of-${secretId}`): CredentialSource {
  return { getCredential: () => Promise.resolve({ secretId, secretKey }) };
}

interface Pending {
  readonly account: string;
  readonly secretKey: string;
  readonly region: string;
  readonly ids: string[];
  /** ECM's answer: every id asked about is attached to ein-00000001, except ids ending in 9 (unknown). */
  answer(): Promise<void>;
  fail(code: string): Promise<void>;
}

/** ECM's Describe, each call left pending until the test answers it. */
class FakeDescribe implements DescribeClient {
  readonly sent: Pending[] = [];

  credential(_action: "DescribeNetworkInterfaces", from: CredentialSource): Promise<EcmCredential> {
    return from.getCredential();
  }

  call(
    _action: "DescribeNetworkInterfaces",
    params: Readonly<Record<string, unknown>>,
    credential: EcmCredential,
  ): Promise<DescribeResponse> {
    const ids = Array.isArray(params["NetworkInterfaceIds"]) ? params["NetworkInterfaceIds"].map(String) : [];
    const { promise, resolve, reject } = Promise.withResolvers<DescribeResponse>();
    this.sent.push({
      account: credential.secretId,
      secretKey: credential.secretKey,
      region: String(params["EcmRegion"]),
      ids,
      answer: () => {
        resolve({
          RequestId: "req-1",
          NetworkInterfaceSet: ids
            .filter((id) => !id.endsWith("9"))
            .map((id) => ({
              NetworkInterfaceId: id,
              State: "AVAILABLE" as const,
              Attachment: { InstanceId: "ein-00000001" },
            })),
        });
        return settle();
      },
      fail: (code) => {
        reject(new EcmError("DescribeNetworkInterfaces", code, "injected", "req-x"));
        return settle();
      },
    });
    return promise;
  }

  callAt(index: number): Pending {
    const pending = this.sent[index];
    if (!pending) throw new Error(`no call ${String(index)}; ${String(this.sent.length)} were made`);
    return pending;
  }

  idsPerCall(): number[] {
    return this.sent.map((s) => s.ids.length);
  }
}

/** Lets every promise continuation run, then the batcher's turn after them (a setImmediate). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i += 1) await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
}

const eni = (n: number) => `eni-${String(n).padStart(8, "0")}`;
const ATTACHED = { found: true, state: "AVAILABLE", attachedInstanceId: "ein-00000001" };

describe("the Describe batcher", () => {
  it("sends a lone observation at once", async () => {
    const client = new FakeDescribe();
    const batcher = new DescribeBatcher(client);
    const answer = batcher.observe("ap-xian-ecm", eni(1), source("A"), "now");
    await settle();
    expect(client.sent.map(({ account, region, ids }) => ({ account, region, ids }))).toEqual([
      { account: "A", region: "ap-xian-ecm", ids: [eni(1)] },
    ]);
    await client.callAt(0).answer();
    expect(await answer).toEqual(ATTACHED);
  });

  it("gathers the observations made while a call is in flight into one call, sent when it returns", async () => {
    const client = new FakeDescribe();
    const batcher = new DescribeBatcher(client);
    const first = batcher.observe("ap-xian-ecm", eni(1), source("A"), "now");
    await settle();
    const later = Promise.all([2, 3, 9].map((n) => batcher.observe("ap-xian-ecm", eni(n), source("A"), "now")));
    await settle();
    expect(client.idsPerCall()).toEqual([1]);
    await client.callAt(0).answer();
    expect(await first).toEqual(ATTACHED);
    expect(client.sent[1]?.ids).toEqual([eni(2), eni(3), eni(9)]);
    await client.callAt(1).answer();
    expect(await later).toEqual([ATTACHED, ATTACHED, { found: false }]);
    expect(client.sent).toHaveLength(2);
  });

  it("sends 100 gathered ids at once, and the rest once every call in flight has returned", async () => {
    const client = new FakeDescribe();
    const batcher = new DescribeBatcher(client);
    void batcher.observe("ap-xian-ecm", eni(1), source("A"), "now");
    await settle();
    const burst = Array.from({ length: 150 }, (_, n) =>
      batcher.observe("ap-xian-ecm", eni(10 * n + 2), source("A"), "now"),
    );
    await settle();
    expect(client.idsPerCall()).toEqual([1, MAX_IDS_PER_DESCRIBE]);
    await client.callAt(0).answer();
    // The full batch is still out: the rest waits for it, so that its workers' next looks join them.
    expect(client.idsPerCall()).toEqual([1, MAX_IDS_PER_DESCRIBE]);
    await client.callAt(1).answer();
    expect(client.idsPerCall()).toEqual([1, MAX_IDS_PER_DESCRIBE, 50]);
    await client.callAt(2).answer();
    expect(new Set(client.sent.slice(1).flatMap((s) => s.ids)).size).toBe(150);
    expect((await Promise.all(burst)).every((o) => o.found)).toBe(true);
  });

  it("never puts two accounts (SecretIds) or two regions in one call, and batches an account's ids wherever the credential came from", async () => {
    const client = new FakeDescribe();
    const batcher = new DescribeBatcher(client);
    void batcher.observe("ap-xian-ecm", eni(1), source("A"), "now");
    await settle();
    // While that call is in flight: two distinct sources (two teams' Secrets) holding the same
    // account's keys, another account, another region.
    const teamSecret = source("A");
    const otherTeamSecret = source("A");
    expect(teamSecret).not.toBe(otherTeamSecret);
    void batcher.observe("ap-xian-ecm", eni(2), teamSecret, "now");
    void batcher.observe("ap-xian-ecm", eni(3), source("B"), "now");
    void batcher.observe("ap-hangzhou-ecm", eni(4), source("A"), "now");
    void batcher.observe("ap-xian-ecm", eni(5), otherTeamSecret, "now");
    await settle();
    await client.callAt(0).answer();
    for (const pending of client.sent.slice(1)) await pending.answer();
    const calls = client.sent.map(({ account, region, ids }) => ({ account, region, ids }));
    expect(calls[0]).toEqual({ account: "A", region: "ap-xian-ecm", ids: [eni(1)] });
    const key = (call: { account: string; region: string }) => `${call.account} ${call.region}`;
    expect(calls.slice(1).sort((a, b) => key(a).localeCompare(key(b)))).toEqual([
      { account: "A", region: "ap-hangzhou-ecm", ids: [eni(4)] },
      { account: "A", region: "ap-xian-ecm", ids: [eni(2), eni(5)] },
      { account: "B", region: "ap-xian-ecm", ids: [eni(3)] },
    ]);
  });

  it("asks once for an interface observed twice in a batch, and answers both", async () => {
    const client = new FakeDescribe();
    const batcher = new DescribeBatcher(client);
    void batcher.observe("ap-xian-ecm", eni(2), source("A"), "now");
    await settle();
    const both = Promise.all([1, 1].map((n) => batcher.observe("ap-xian-ecm", eni(n), source("A"), "now")));
    await client.callAt(0).answer();
    expect(client.sent[1]?.ids).toEqual([eni(1)]);
    await client.callAt(1).answer();
    expect(await both).toEqual([ATTACHED, ATTACHED]);
  });

  it("signs the next batch with the newest credential read for the account", async () => {
    const client = new FakeDescribe();
    const batcher = new DescribeBatcher(client);
    void batcher.observe("ap-xian-ecm", eni(1), source("A", "old"), "now");
    await settle();
    void batcher.observe("ap-xian-ecm", eni(2), source("A", "old"), "now");
    void batcher.observe("ap-xian-ecm", eni(3), source("A", "rotated"), "now");
    await client.callAt(0).answer();
    expect(client.sent.map((s) => s.secretKey)).toEqual(["old", "rotated"]);
  });

  it("fails only the observations of the batch whose call failed, with the call's error", async () => {
    const client = new FakeDescribe();
    const batcher = new DescribeBatcher(client);
    const first = batcher.observe("ap-xian-ecm", eni(1), source("A"), "now").catch((error: unknown) => error);
    await settle();
    const next = Promise.all([2, 3].map((n) => batcher.observe("ap-xian-ecm", eni(n), source("A"), "now")));
    await client.callAt(0).fail("InternalError");
    expect(await first).toBeInstanceOf(EcmError);
    expect(await first).toMatchObject({ code: "InternalError" });
    await client.callAt(1).answer();
    expect(await next).toEqual([ATTACHED, ATTACHED]);
  });

  describe("scheduled looks (confirmation polls)", () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it(`wait at most ${POLL_GATHER_MS} ms for others, and go out together`, async () => {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      const client = new FakeDescribe();
      const batcher = new DescribeBatcher(client);
      const first = batcher.observe("ap-xian-ecm", eni(1), source("A"), "soon");
      await vi.advanceTimersByTimeAsync(POLL_GATHER_MS - 100);
      const second = batcher.observe("ap-xian-ecm", eni(2), source("A"), "soon");
      await vi.advanceTimersByTimeAsync(99);
      expect(client.sent).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(client.idsPerCall()).toEqual([2]);
      await client.callAt(0).answer();
      expect(await Promise.all([first, second])).toEqual([ATTACHED, ATTACHED]);
    });

    it("go at once with an urgent observation, which never waits for them", async () => {
      vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
      const client = new FakeDescribe();
      const batcher = new DescribeBatcher(client);
      void batcher.observe("ap-xian-ecm", eni(1), source("A"), "soon");
      await vi.advanceTimersByTimeAsync(10);
      void batcher.observe("ap-xian-ecm", eni(2), source("A"), "now");
      await vi.advanceTimersByTimeAsync(0);
      expect(client.sent.map((s) => s.ids)).toEqual([[eni(1), eni(2)]]);
      // The timer went with the batch: nothing more is sent.
      await vi.advanceTimersByTimeAsync(POLL_GATHER_MS);
      expect(client.sent).toHaveLength(1);
    });

    it("go out behind a call in flight as soon as it returns", async () => {
      const client = new FakeDescribe();
      const batcher = new DescribeBatcher(client);
      void batcher.observe("ap-xian-ecm", eni(1), source("A"), "now");
      await settle();
      const later = batcher.observe("ap-xian-ecm", eni(2), source("A"), "soon");
      await client.callAt(0).answer();
      expect(client.sent[1]?.ids).toEqual([eni(2)]);
      await client.callAt(1).answer();
      expect(await later).toEqual(ATTACHED);
    });
  });
});
