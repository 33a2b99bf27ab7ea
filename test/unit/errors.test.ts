import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_TABLE, LOCAL_CODES, classify, type ErrorClass } from "../../src/ecm/errors.ts";

const DETACH = "DetachNetworkInterface";
const ATTACH = "AttachNetworkInterface";
const DESCRIBE = "DescribeNetworkInterfaces";

/** Every code of DetachNetworkInterface.txt, the Attach additions and the common codes, with their class. */
const EXPECTED: readonly [string, ErrorClass, string?][] = [
  // DetachNetworkInterface's documented codes
  ["FailedOperation.InternalOperationFailure", "ServiceFault"],
  ["InvalidParameter.InvalidDataFormat", "InvalidRequest"],
  ["InvalidParameterValue", "InvalidRequest"],
  ["InvalidParameterValue.InvalidPublicParam", "InvalidRequest"],
  ["InvalidParameterValue.InvalidRegion", "InvalidRequest"],
  ["InvalidParameterValue.Malformed", "InvalidRequest"],
  ["ResourceNotFound", "AlreadyDone", DETACH],
  ["UnauthorizedOperation.ForbiddenOperation", "Credentials"],
  ["UnsupportedOperation", "InvalidRequest"],
  ["UnsupportedOperation.InvalidState", "InTransition"],
  ["UnsupportedOperation.AttachmentNotFound", "AlreadyDone", DETACH],
  // AttachNetworkInterface's additions
  ["FailedOperation.OperationNotAllow", "InvalidRequest", ATTACH],
  ["InvalidParameterValue.InvaildEniID", "InvalidRequest", ATTACH],
  ["InvalidParameterValue.LimitExceeded", "InvalidRequest", ATTACH],
  ["LimitExceeded", "InvalidRequest", ATTACH],
  ["LimitExceeded.EniQuotaLimitExceeded", "InvalidRequest", ATTACH],
  ["ResourceInUse", "InTransition", ATTACH],
  ["UnsupportedOperation.AttachmentAlreadyExists", "AlreadyDone", ATTACH],
  ["UnsupportedOperation.VpcMismatch", "InvalidRequest", ATTACH],
  ["ResourceNotFound", "InvalidRequest", ATTACH],
  // Common codes
  ["AuthFailure.InvalidAuthorization", "Credentials"],
  ["AuthFailure.InvalidSecretId", "Credentials"],
  ["AuthFailure.MFAFailure", "Credentials"],
  ["AuthFailure.SecretIdNotFound", "Credentials"],
  ["AuthFailure.SignatureExpire", "Credentials"],
  ["AuthFailure.SignatureFailure", "Credentials"],
  ["AuthFailure.TokenFailure", "Credentials"],
  ["AuthFailure.UnauthorizedOperation", "Credentials"],
  ["FailedOperation.OperationConflict", "InTransition"],
  ["InternalError", "ServiceFault"],
  ["InvalidAction", "InvalidRequest"],
  ["InvalidParameter", "InvalidRequest"],
  ["InvalidParameter.Coexist", "InvalidRequest", DESCRIBE],
  ["MissingParameter", "InvalidRequest"],
  ["NoSuchVersion", "InvalidRequest"],
  ["RequestLimitExceeded", "Throttled"],
  ["RequestLimitExceeded.UinLimitExceeded", "Throttled"],
  ["RequestLimitExceeded.IPLimitExceeded", "Throttled"],
  ["RequestLimitExceeded.GlobalRegionUinLimitExceeded", "Throttled"],
  ["RequestSizeLimitExceeded", "InvalidRequest"],
  ["ResourceInsufficient", "ServiceFault"],
  ["ResourceUnavailable", "ServiceFault"],
  ["ServiceUnavailable", "ServiceFault"],
  ["UnauthorizedOperation", "Credentials"],
  ["UnknownParameter", "InvalidRequest"],
  ["UnsupportedRegion", "InvalidRequest"],
  // Failures that never reached an ECM envelope
  [LOCAL_CODES.network, "ServiceFault"],
  [LOCAL_CODES.timeout, "ServiceFault"],
  [LOCAL_CODES.httpStatus, "ServiceFault"],
  [LOCAL_CODES.malformed, "ServiceFault"],
  [LOCAL_CODES.credentialsUnavailable, "Credentials"],
  [LOCAL_CODES.operatorCredentialsNotAllowed, "Credentials"],
  [LOCAL_CODES.secretNotFound, "Credentials"],
];

describe("the ECM error table", () => {
  it.each(EXPECTED)("classifies %s as %s", (code, expected, action = DETACH) => {
    expect(classify(code, action as typeof DETACH)).toEqual({ class: expected, known: true });
  });

  it("handles a code it does not know as a service fault, flagged for a log line", () => {
    expect(classify("Brand.NewCode", DETACH)).toEqual({ class: "ServiceFault", known: false });
    expect(classify("FailedOperation", DETACH)).toEqual({ class: "ServiceFault", known: false });
  });

  it("matches a family only at a dot boundary", () => {
    expect(classify("AuthFailureX", DETACH).known).toBe(false);
  });

  it("is the table the README documents, row for row", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.split("<!-- error-table:start -->")[1]?.split("<!-- error-table:end -->")[0] ?? "";
    const rows = section
      .split("\n")
      .filter((line) => line.startsWith("| `"))
      .map((line) => {
        const [code = "", action = "", errorClass = ""] = line
          .split("|")
          .slice(1, -1)
          .map((cell) => cell.trim().replaceAll("`", ""));
        return { code, action: action === "any" ? undefined : action, class: errorClass };
      });
    expect(rows).toEqual(ERROR_TABLE.map((rule) => ({ code: rule.code, action: rule.action, class: rule.class })));
  });
});
