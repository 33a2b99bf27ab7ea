import { describe, expect, it } from "vitest";
import { tupleKey } from "../../src/api/tuple-key.ts";

describe("tupleKey", () => {
  it("keeps parts apart whatever characters they hold", () => {
    expect(tupleKey("a/b", "c")).not.toBe(tupleKey("a", "b/c"));
    expect(tupleKey("a\u0000b", "c")).not.toBe(tupleKey("a", "b\u0000c"));
    expect(tupleKey("acct", "DescribeNetworkInterfaces")).toBe(tupleKey("acct", "DescribeNetworkInterfaces"));
  });
});
