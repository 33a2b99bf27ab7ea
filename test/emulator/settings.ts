// Behaviour that tests tune while the emulator runs.
import { ERROR_CODE_PATTERN } from "./error-codes.ts";
import { InvalidInput } from "./invalid-input.ts";
import { isJsonObject, type JsonValue } from "./json.ts";

export interface Settings {
  /** How long an ENI stays ATTACHING after a successful AttachNetworkInterface. */
  attachDelayMs: number;
  /** How long an ENI stays DETACHING after a successful DetachNetworkInterface. */
  detachDelayMs: number;
  /** The code a Detach gets when the ENI is not attached to the given instance. */
  alreadyDetachedCode: string;
  /** Calls accepted per action per wall-clock second. */
  quotaPerSecond: number;
  /** How long temporary credentials from AssumeRoleWithWebIdentity stay valid. */
  stsCredentialSeconds: number;
  /** How far the emulator's clock is ahead of the machine's (negative: behind): signatures and Date headers use it. */
  clockSkewMs: number;
  /**
   * Eventual consistency: for this long after an accepted Attach or Detach, DescribeNetworkInterfaces
   * may still show the ENI as it was before the call (0: never).
   */
  describeLagMs: number;
  /** The share of Describes in that window that show the state before the call, in [0, 1]; 1: all. */
  describeLagShare: number;
}

export type SettingsPatch = Partial<Settings>;

const MAX_DELAY_MS = 3_600_000;
const MAX_SKEW_MS = 86_400_000;

/** A patch from the control API's JSON; throws InvalidInput on a bad field. */
export function parseSettingsPatch(json: JsonValue | undefined): SettingsPatch {
  if (!isJsonObject(json)) throw new InvalidInput("expected an object");
  const patch: SettingsPatch = {};
  for (const [name, value] of Object.entries(json)) {
    switch (name) {
      case "attachDelayMs":
      case "detachDelayMs":
      case "describeLagMs":
        if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_DELAY_MS) {
          throw new InvalidInput(`${name} must be an integer from 0 to ${MAX_DELAY_MS}`);
        }
        patch[name] = value;
        break;
      case "quotaPerSecond":
      case "stsCredentialSeconds":
        if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
          throw new InvalidInput(`${name} must be a positive integer`);
        }
        patch[name] = value;
        break;
      case "clockSkewMs":
        if (typeof value !== "number" || !Number.isSafeInteger(value) || Math.abs(value) > MAX_SKEW_MS) {
          throw new InvalidInput(`clockSkewMs must be an integer from -${MAX_SKEW_MS} to ${MAX_SKEW_MS}`);
        }
        patch.clockSkewMs = value;
        break;
      case "describeLagShare":
        if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
          throw new InvalidInput("describeLagShare must be a number from 0 to 1");
        }
        patch.describeLagShare = value;
        break;
      case "alreadyDetachedCode":
        if (typeof value !== "string" || !ERROR_CODE_PATTERN.test(value)) {
          throw new InvalidInput(
            "alreadyDetachedCode must be an error code such as UnsupportedOperation.AttachmentNotFound",
          );
        }
        patch.alreadyDetachedCode = value;
        break;
      default:
        throw new InvalidInput(`unknown setting ${name}`);
    }
  }
  return patch;
}
