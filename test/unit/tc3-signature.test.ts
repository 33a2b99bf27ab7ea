import { describe, expect, it } from "vitest";
import { tc3Authorization } from "../../src/ecm/tc3-signature.ts";

// The request of Tencent Cloud's signature documentation (its body's backslash sequences are literal).
const published = {
  host: "cvm.tencentcloudapi.com",
  contentType: "application/json; charset=utf-8",
  body: String.raw`{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`,
  timestamp: 1551113065,
  secretId: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
  secretKey: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
};

describe("the TC3-HMAC-SHA256 Authorization header", () => {
  it("is the documentation's for its published request", () => {
    expect(tc3Authorization(published)).toBe(
      "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, " +
        "SignedHeaders=content-type;host, " +
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168",
    );
  });

  it("takes its service from the host and its date from the timestamp in UTC", () => {
    const header = tc3Authorization({ ...published, host: "ecm.tencentcloudapi.com", timestamp: 1764979199 });
    expect(header).toContain("Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2025-12-05/ecm/tc3_request,");
    expect(tc3Authorization({ ...published, body: "{}" })).not.toBe(tc3Authorization(published));
  });
});
