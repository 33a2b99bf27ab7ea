import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DescribeBatcher, MAX_IDS_PER_DESCRIBE, type DescribeClient } from "../../src/ecm/describe-batcher.ts";
import type { CredentialSource, EcmCredential } from "../../src/ecm/credentials.ts";
import { EcmError } from "../../src/ecm/errors.ts";
import type { DescribeResponse } from "../../src/ecm/responses.ts";

const WINDOW_MS = 20;

function source(secretId: string): CredentialSource {
  return { getCredential: () => Promise.resolve({ secretId, secretKey: `key-of-${secretId}` }) };
}

interface Sent {
  account: string;
  region: string;
  ids: string[];
}

/** ECM's Describe: every id it is asked about is attached to ein-00000001, except ids ending in 9 (unknown). */
class FakeDescribe implements DescribeClient {
  readonly sent: Sent[] = [];
  failWith: string | undefined;

  credential(_action: "DescribeNetworkInterfaces", from: CredentialSource): Promise<EcmCredential> {
    return from.getCredential();
  }

  call(
    _action: "DescribeNetworkInterfaces",
    params: Readonly<Record<string, unknown>>,
    credential: EcmCredential,
  ): Promise<DescribeResponse> {
    const ids = Array.isArray(params["NetworkInterfaceIds"]) ? params["NetworkInterfaceIds"].map(String) : [];
    this.sent.push({ account: credential.secretId, region: String(params["EcmRegion"]), ids });
    if (this.failWith) {
      return Promise.reject(new EcmError("DescribeNetworkInterfaces", this.failWith, "injected", "req-x"));
    }
    return Promise.resolve({
      RequestId: "req-1",
      NetworkInterfaceSet: ids
        .filter((id) => !id.endsWith("9"))
        .map((id) => ({
          NetworkInterfaceId: id,
          State: "AVAILABLE" as const,
          Attachment: { InstanceId: "ein-00000001" },
        })),
    });
  }
}

const eni = (n: number) => `eni-${String(n).padStart(8, "0")}`;

describe("the Describe batcher", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("answers observations of one account and region with one call after the window", async () => {
    const client = new FakeDescribe();
    const batcher = new DescribeBatcher(client, WINDOW_MS);
    const answers = Promise.all([1, 2, 9].map((n) => batcher.observe("ap-xian-ecm", eni(n), source("A"))));
    await vi.advanceTimersByTimeAsync(WINDOW_MS);
    expect(client.sent).toEqual([{ account: "A", region: "ap-xian-ecm", ids: [eni(1), eni(2), eni(9)] }]);
    expect(await answers).toEqual([
      { found: true, state: "AVAILABLE", attachedInstanceId: "ein-00000001" },
      { found: true, state: "AVAILABLE", attachedInstanceId: "ein-00000001" },
      { found: false },
    ]);
  });

  it("groups by account (the SecretId) and region, not by where the credential came from", async () => {
    const client = new FakeDescribe();
    const batcher = new DescribeBatcher(client, WINDOW_MS);
    const sameAccountOtherSecret = source("A");
    void batcher.observe("ap-xian-ecm", eni(1), source("A"));
    void batcher.observe("ap-xian-ecm", eni(2), sameAccountOtherSecret);
    void batcher.observe("ap-xian-ecm", eni(3), source("B"));
    void batcher.observe("ap-hangzhou-ecm", eni(4), source("A"));
    await vi.advanceTimersByTimeAsync(WINDOW_MS);
    expect(client.sent).toEqual([
      { account: "A", region: "ap-xian-ecm", ids: [eni(1), eni(2)] },
      { account: "B", region: "ap-xian-ecm", ids: [eni(3)] },
      { account: "A", region: "ap-hangzhou-ecm", ids: [eni(4)] },
    ]);
  });

  it("sends a full batch of 100 ids at once and starts a new one for the 101st", async () => {
    const client = new FakeDescribe();
    const batcher = new DescribeBatcher(client, WINDOW_MS);
    for (let n = 0; n <= MAX_IDS_PER_DESCRIBE; n += 1)
      void batcher.observe("ap-xian-ecm", eni(10 * n + 1), source("A"));
    await vi.advanceTimersByTimeAsync(0);
    expect(client.sent.map((s) => s.ids.length)).toEqual([MAX_IDS_PER_DESCRIBE]);
    await vi.advanceTimersByTimeAsync(WINDOW_MS);
    expect(client.sent.map((s) => s.ids.length)).toEqual([MAX_IDS_PER_DESCRIBE, 1]);
  });

  it("asks once for an interface observed twice, and answers both", async () => {
    const client = new FakeDescribe();
    const batcher = new DescribeBatcher(client, WINDOW_MS);
    const both = Promise.all([1, 1].map((n) => batcher.observe("ap-xian-ecm", eni(n), source("A"))));
    await vi.advanceTimersByTimeAsync(WINDOW_MS);
    expect(client.sent[0]?.ids).toEqual([eni(1)]);
    expect((await both).every((o) => o.found)).toBe(true);
  });

  it("fails every observation of a batch whose call failed, with the call's error", async () => {
    const client = new FakeDescribe();
    client.failWith = "InternalError";
    const batcher = new DescribeBatcher(client, WINDOW_MS);
    const answers = [1, 2].map((n) =>
      batcher.observe("ap-xian-ecm", eni(n), source("A")).catch((error: unknown) => error),
    );
    await vi.advanceTimersByTimeAsync(WINDOW_MS);
    for (const answer of await Promise.all(answers)) {
      expect(answer).toBeInstanceOf(EcmError);
      expect(answer).toMatchObject({ code: "InternalError" });
    }
  });
});
