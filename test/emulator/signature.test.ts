import { describe, expect, it } from "vitest";
import {
  authorization,
  canonicalRequest,
  credentialScope,
  dateKey,
  parseAuthorization,
  sha256Hex,
  signature,
  signingKey,
  stringToSign,
  utcDate,
} from "./signature.ts";

// The request of Tencent Cloud's signature documentation. The body's backslash sequences are literal.
const body = String.raw`{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`;
const timestamp = 1551113065;
const headers: [string, string][] = [
  ["content-type", "application/json; charset=utf-8"],
  ["host", "cvm.tencentcloudapi.com"],
];

describe("TC3-HMAC-SHA256", () => {
  it("reproduces the published vector: payload hash, canonical request hash, signature", () => {
    expect(sha256Hex(body)).toBe("35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064");
    const canonical = canonicalRequest({ method: "POST", path: "/", query: "", headers, payload: body });
    expect(sha256Hex(canonical)).toBe("5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031");
    expect(utcDate(timestamp)).toBe("2019-02-25");
    const kSigning = signingKey(dateKey("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "2019-02-25"), "cvm");
    const sig = signature(kSigning, stringToSign(timestamp, credentialScope("2019-02-25", "cvm"), canonical));
    expect(sig).toBe("72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
  });

  it("reproduces the second vector, which also signs x-tc-action, from its kDate", () => {
    const canonical = canonicalRequest({
      method: "POST",
      path: "/",
      query: "",
      headers: [...headers, ["x-tc-action", "DescribeInstances"]],
      payload: body,
    });
    expect(canonical).toContain("x-tc-action:describeinstances\n");
    expect(sha256Hex(canonical)).toBe("7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84");
    const kDate = Buffer.from("da98fb70dcf6b112dc21038d1eeeb3a95c74b4dcb12c1131f864f6066bd02be0", "hex");
    const sig = signature(
      signingKey(kDate, "cvm"),
      stringToSign(timestamp, credentialScope("2019-02-25", "cvm"), canonical),
    );
    expect(sig).toBe("10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f");
  });

  it("reads back the Authorization header it writes", () => {
    const sig = "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168";
    const header = authorization(
      "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
      credentialScope("2019-02-25", "cvm"),
      ["content-type", "host"],
      sig,
    );
    expect(header).toBe(
      `TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=${sig}`,
    );
    expect(parseAuthorization(header)).toEqual({
      secretId: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
      date: "2019-02-25",
      service: "cvm",
      signedHeaders: ["content-type", "host"],
      signature: sig,
    });
    expect(parseAuthorization("HmacSHA256 Signature=abc")).toBeUndefined();
  });
});
