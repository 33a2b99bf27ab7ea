// The error codes ECM documents, with the messages the emulator sends for them. The operator matches on
// the code only; the messages are here so that injected errors read like the service's.

/** Codes listed on the DetachNetworkInterface page. */
const DETACH_MESSAGES = {
  "FailedOperation.InternalOperationFailure": "Internal error.",
  "InvalidParameter.InvalidDataFormat": "The data format is incorrect.",
  InvalidParameterValue: "The parameter value is incorrect.",
  "InvalidParameterValue.InvalidPublicParam": "The common parameter is invalid.",
  "InvalidParameterValue.InvalidRegion": "The ECM region is invalid.",
  "InvalidParameterValue.Malformed": "The input parameter format is invalid.",
  ResourceNotFound: "The resource does not exist.",
  "UnauthorizedOperation.ForbiddenOperation": "You don't have the permission to perform this operation.",
  UnsupportedOperation: "Unsupported operation.",
  "UnsupportedOperation.InvalidState": "The resource status is invalid.",
} as const;

/** Codes AttachNetworkInterface documents beyond the Detach ones. */
const ATTACH_MESSAGES = {
  "FailedOperation.OperationNotAllow": "The current operation is not allowed.",
  "InvalidParameterValue.InvaildEniID": "The ENI ID is invalid.",
  "InvalidParameterValue.LimitExceeded": "The parameter value exceeds the limit.",
  LimitExceeded: "The quota limit is exceeded.",
  "LimitExceeded.EniQuotaLimitExceeded": "The number of purchasable ENIs is insufficient.",
  ResourceInUse: "The resource is in use.",
  "UnsupportedOperation.AttachmentAlreadyExists": "The ENI is already associated with an instance.",
  "UnsupportedOperation.VpcMismatch": "The resources are not in the same VPC.",
} as const;

/** Codes every Tencent Cloud API may return. */
const COMMON_MESSAGES = {
  "AuthFailure.InvalidAuthorization": "The Authorization in the request header is invalid.",
  "AuthFailure.InvalidSecretId": "Invalid key (not a TencentCloud API key type).",
  "AuthFailure.MFAFailure": "MFA failed.",
  "AuthFailure.SecretIdNotFound": "The key does not exist. Check whether the key has been deleted or disabled.",
  "AuthFailure.SignatureExpire":
    "Signature expired. Timestamp and server time cannot differ by more than five minutes. Please ensure your current local time matches the standard time.",
  "AuthFailure.SignatureFailure":
    "Invalid signature. Signature calculation error. Please ensure you've followed the signature calculation process described in the Signature API documentation.",
  "AuthFailure.TokenFailure": "Token error.",
  "AuthFailure.UnauthorizedOperation":
    "The request is not authorized. For more information, see the CAM documentation.",
  FailedOperation: "Operation failed.",
  InternalError: "Internal error.",
  InvalidAction: "The API does not exist.",
  InvalidParameter: "The parameter is incorrect.",
  LimitExceeded: "The quota limit is exceeded.",
  MissingParameter: "A parameter is missing.",
  NoSuchVersion: "The API version does not exist.",
  RequestLimitExceeded: "The number of requests exceeds the frequency limit.",
  "RequestLimitExceeded.GlobalRegionUinLimitExceeded": "The number of requests of this account exceeds the limit.",
  "RequestLimitExceeded.IPLimitExceeded": "The number of requests from this IP exceeds the limit.",
  "RequestLimitExceeded.UinLimitExceeded": "The number of requests of this account exceeds the limit.",
  RequestSizeLimitExceeded: "The request size exceeds the upper limit.",
  ResourceInUse: "The resource is in use.",
  ResourceInsufficient: "Insufficient resource.",
  ResourceNotFound: "The resource does not exist.",
  ResourceUnavailable: "The resource is unavailable.",
  ServiceUnavailable: "The service is unavailable now.",
  UnauthorizedOperation: "Unauthorized operation.",
  UnknownParameter: "Unknown parameter.",
  UnsupportedOperation: "Unsupported operation.",
  UnsupportedRegion: "The API does not support this region.",
} as const;

/** ECM codes the emulator produces that neither list above carries. */
const OTHER_ECM_MESSAGES = {
  "FailedOperation.OperationConflict":
    "The current operation cannot be performed as another operation is being performed.",
  "InvalidParameter.Coexist": "The parameters cannot be specified at the same time.",
  "InvalidParameterValue.InvalidFilter": "The filter is invalid.",
  "UnsupportedOperation.AttachmentNotFound": "The instance is not associated.",
} as const;

export const DETACH_ERROR_CODES: readonly string[] = Object.keys(DETACH_MESSAGES);
export const ATTACH_ERROR_CODES: readonly string[] = Object.keys(ATTACH_MESSAGES);
export const COMMON_ERROR_CODES: readonly string[] = Object.keys(COMMON_MESSAGES);

const MESSAGES = new Map<string, string>(
  Object.entries({ ...COMMON_MESSAGES, ...ATTACH_MESSAGES, ...OTHER_ECM_MESSAGES, ...DETACH_MESSAGES }),
);

/** What an error code looks like: dot-separated PascalCase parts, e.g. `UnsupportedOperation.InvalidState`. */
export const ERROR_CODE_PATTERN = /^[A-Z][A-Za-z0-9]*(\.[A-Za-z0-9]+)*$/;

/** The message the emulator sends with a code when nothing more specific is known. */
export function defaultMessage(code: string): string {
  return MESSAGES.get(code) ?? `The request failed with error code ${code}.`;
}

/** A failed API call: answered as an HTTP 200 envelope carrying `code`. */
export class ApiError extends Error {
  readonly code: string;

  constructor(code: string, message: string = defaultMessage(code)) {
    super(message);
    this.name = "ApiError";
    this.code = code;
  }
}
