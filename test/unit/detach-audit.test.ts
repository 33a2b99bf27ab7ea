import { describe, expect, it } from "vitest";
import { FINALIZER } from "../../src/api/eniattachment.ts";
import type { JournalEntry } from "../emulator/journal.ts";
import { auditDetaches, eniAttachmentPrefix } from "../support/detach-audit.ts";
import type { EtcdHistory, StoredVersion } from "../support/etcd-history.ts";

const ENI = "eni-00000001";
const INSTANCE = "ein-00000001";
const resource = { name: "a", networkInterfaceId: ENI, instanceId: INSTANCE };
const key = `${eniAttachmentPrefix("ns")}a`;

function history(versions: Omit<StoredVersion, "key">[]): EtcdHistory {
  const stored = versions.map((version) => ({ ...version, key }));
  return { versions: stored, of: (k) => stored.filter((v) => v.key === k), stop: () => undefined };
}

const holding = (revision: number, receivedAt: number) => ({
  revision,
  receivedAt,
  object: { metadata: { name: "a", finalizers: [FINALIZER] } },
});
const deleted = (revision: number, receivedAt: number) => ({ revision, receivedAt, object: undefined });

let seq = 0;
function call(action: string, atMs: number, code = "Success", reported?: JournalEntry["reported"]): JournalEntry {
  seq += 1;
  return {
    seq,
    time: new Date(atMs).toISOString(),
    action,
    params: { NetworkInterfaceId: ENI },
    code,
    requestId: "r",
    ...(reported ? { reported } : {}),
  };
}
const detach = (atMs: number, code = "Success") => call("DetachNetworkInterface", atMs, code);
const describeShows = (atMs: number, state: string, instanceId: string | null) =>
  call("DescribeNetworkInterfaces", atMs, "Success", [{ networkInterfaceId: ENI, state, instanceId }]);

describe("the detach audit", () => {
  it("passes a release that follows an accepted Detach and a Describe showing the ENI detached", () => {
    const journal = [
      detach(1_000),
      describeShows(1_500, "DETACHING", INSTANCE),
      describeShows(2_000, "AVAILABLE", null),
    ];
    const audit = auditDetaches("ns", [resource], history([holding(5, 900), deleted(9, 2_100)]), journal);
    expect(audit).toEqual({ released: 1, violations: [] });
  });

  it("flags a release before any Describe showed the ENI detached", () => {
    const journal = [
      detach(1_000),
      describeShows(1_500, "DETACHING", INSTANCE),
      describeShows(3_000, "AVAILABLE", null),
    ];
    const audit = auditDetaches("ns", [resource], history([deleted(9, 2_100)]), journal);
    expect(audit.violations).toEqual([
      `a: released at revision 9 with no Describe showing ${ENI} detached after its Detach`,
    ]);
  });

  it("flags a release with no accepted Detach, a second Detach with Success, and a finalizer never released", () => {
    expect(
      auditDetaches("ns", [resource], history([deleted(9, 2_100)]), [detach(1_000, "InternalError")]).violations,
    ).toEqual([`a: ${ENI} was detached 0 times with Success`, "a: released at revision 9 before any accepted Detach"]);
    const twice = [detach(1_000), detach(1_200), describeShows(2_000, "AVAILABLE", null)];
    expect(auditDetaches("ns", [resource], history([deleted(9, 2_100)]), twice).violations).toEqual([
      `a: ${ENI} was detached 2 times with Success`,
    ]);
    expect(auditDetaches("ns", [resource], history([holding(5, 900)]), twice).violations).toEqual([
      "a: its finalizer was never released",
    ]);
  });
});
