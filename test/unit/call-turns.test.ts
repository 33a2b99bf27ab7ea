import { describe, expect, it } from "vitest";
import pino from "pino";
import { CallTurns } from "../../src/ecm/call-turns.ts";
import { EcmClient } from "../../src/ecm/client.ts";
import type { CredentialSource } from "../../src/ecm/credentials.ts";
import { EcmError } from "../../src/ecm/errors.ts";
import { Metrics } from "../../src/observability/metrics.ts";

// Turns only: every call here comes back before it would reach the network, so no server is needed.
const params = { NetworkInterfaceId: "eni-00000001", InstanceId: "ein-00000001", EcmRegion: "ap-xian-ecm" };
const account = (secretId: string): CredentialSource => ({
  getCredential: () => Promise.resolve({ secretId, secretKey: "k" }),
});

function setup(now: () => number) {
  const client = new EcmClient({
    endpoint: new URL("http://127.0.0.1:9"),
    qps: 1,
    burst: 1,
    timeoutMs: 1000,
    transportRetries: 0,
    metrics: new Metrics(),
    logger: pino({ level: "silent" }),
    now,
  });
  return { client, turns: new CallTurns(client, { maxWaitMs: 500, returnAheadMs: 400, now }) };
}

describe("ECM call turns", () => {
  it("sends a caller whose turn is far back to its work, and gives it the same place when it returns", async () => {
    const now = Date.now();
    const { client, turns } = setup(() => now);
    client.reserve("DetachNetworkInterface", "A"); // someone ahead: the next turn is a window away
    const first = await turns.call("ns/a", "DetachNetworkInterface", params, account("A"));
    expect(first.kind).toBe("comeBack");
    // A second caller lines up behind the held place, not in front of it.
    const second = await turns.call("ns/b", "DetachNetworkInterface", params, account("A"));
    expect(second.kind === "comeBack" && first.kind === "comeBack" && second.afterMs > first.afterMs).toBe(true);
  });

  it("keeps one line per account: another account's backlog does not delay this one", async () => {
    const now = Date.now();
    const { client, turns } = setup(() => now);
    for (let i = 0; i < 5; i += 1) client.reserve("DetachNetworkInterface", "A");
    const elsewhere = await turns
      .call("ns/b", "DetachNetworkInterface", params, account("B"))
      .catch((error: unknown) => error);
    // B's turn is now: the call is made (and fails on the closed port), it is not sent back.
    expect(elsewhere).toBeInstanceOf(EcmError);
  });

  it("gives a released place to the callers behind it", async () => {
    const now = Date.now();
    const { client, turns } = setup(() => now);
    client.reserve("DetachNetworkInterface", "A");
    const held = await turns.call("ns/a", "DetachNetworkInterface", params, account("A"));
    turns.release("ns/a");
    const next = await turns.call("ns/b", "DetachNetworkInterface", params, account("A"));
    expect(next).toEqual(held);
  });

  it("fails with Credentials.Unavailable when the credential cannot be read", async () => {
    const { turns } = setup(Date.now);
    const broken: CredentialSource = { getCredential: () => Promise.reject(new Error("no Secret")) };
    await expect(turns.call("ns/a", "AttachNetworkInterface", params, broken)).rejects.toMatchObject({
      code: "Credentials.Unavailable",
    });
  });
});
