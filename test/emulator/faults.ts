// Injected faults. A rule matches calls by action, ENI and SecretId; the first matching rule applies. It answers
// with an error code instead of running the call (so ENI state does not change), or only delays the
// answer of a call that runs normally. Besides ECM's codes, a few pseudo-codes fail the transport itself.
import { API_ACTIONS, type ApiAction } from "./actions.ts";
import { ERROR_CODE_PATTERN } from "./error-codes.ts";
import { InvalidInput } from "./invalid-input.ts";
import { isJsonObject, type JsonValue } from "./json.ts";

export interface FaultRule {
  /** Only calls of this action; any action when absent. */
  action?: ApiAction;
  /** Only calls naming this ENI (NetworkInterfaceId, or one of NetworkInterfaceIds). */
  networkInterfaceId?: string;
  /** Only calls signed with this SecretId (one account), e.g. to play another client of that account. */
  secretId?: string;
  /** The error code to answer, or a transport pseudo-code; absent for a delay-only rule. */
  code?: string;
  message?: string;
  /** Apply to the next `count` matching calls, then drop the rule. */
  count?: number;
  /** Apply to each matching call with this probability. Without count or probability: every matching call. */
  probability?: number;
  /** Delay the answer by this much. */
  delayMs?: number;
}

/** A rule as the control API reports it: with its id, and `count` being what is left. */
export interface ActiveFault extends FaultRule {
  id: number;
}

/** Faults of the transport rather than of the API, which the operator must survive too. */
export type TransportFault =
  { kind: "status"; status: number } | { kind: "malformed-body" } | { kind: "drop-connection" };

const STATUS_CODE = /^HTTP_([45]\d\d)$/;

export function transportFault(code: string): TransportFault | undefined {
  if (code === "MALFORMED_BODY") return { kind: "malformed-body" };
  if (code === "DROP_CONNECTION") return { kind: "drop-connection" };
  const status = STATUS_CODE.exec(code)?.[1];
  return status === undefined ? undefined : { kind: "status", status: Number(status) };
}

const MAX_DELAY_MS = 3_600_000;
const FIELDS = ["action", "networkInterfaceId", "secretId", "code", "message", "count", "probability", "delayMs"];

/** A rule from the control API's JSON; throws InvalidInput on a bad field. */
export function parseFaultRule(json: JsonValue | undefined): FaultRule {
  if (!isJsonObject(json)) throw new InvalidInput("expected an object");
  const unknown = Object.keys(json).filter((name) => !FIELDS.includes(name));
  if (unknown.length > 0) throw new InvalidInput(`unknown fields: ${unknown.join(", ")}`);
  const { action, networkInterfaceId, secretId, code, message, count, probability, delayMs } = json;
  const rule: FaultRule = {};
  if (action !== undefined) {
    const known = API_ACTIONS.find((name) => name === action);
    if (known === undefined) throw new InvalidInput(`action must be one of ${API_ACTIONS.join(", ")}`);
    rule.action = known;
  }
  if (networkInterfaceId !== undefined) {
    if (typeof networkInterfaceId !== "string" || networkInterfaceId === "") {
      throw new InvalidInput("networkInterfaceId must be a string");
    }
    rule.networkInterfaceId = networkInterfaceId;
  }
  if (secretId !== undefined) {
    if (typeof secretId !== "string" || secretId === "") throw new InvalidInput("secretId must be a string");
    rule.secretId = secretId;
  }
  if (code !== undefined) {
    if (typeof code !== "string" || !(ERROR_CODE_PATTERN.test(code) || transportFault(code) !== undefined)) {
      throw new InvalidInput("code must be an error code, HTTP_4xx, HTTP_5xx, MALFORMED_BODY or DROP_CONNECTION");
    }
    rule.code = code;
  }
  if (message !== undefined) {
    if (typeof message !== "string" || rule.code === undefined) {
      throw new InvalidInput("message must be a string, with code");
    }
    rule.message = message;
  }
  if (count !== undefined && probability !== undefined) throw new InvalidInput("give count or probability, not both");
  if (count !== undefined) {
    if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 1) {
      throw new InvalidInput("count must be a positive integer");
    }
    rule.count = count;
  }
  if (probability !== undefined) {
    if (typeof probability !== "number" || !(probability > 0 && probability <= 1)) {
      throw new InvalidInput("probability must be in (0, 1]");
    }
    rule.probability = probability;
  }
  if (delayMs !== undefined) {
    if (typeof delayMs !== "number" || !Number.isInteger(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS) {
      throw new InvalidInput(`delayMs must be an integer from 0 to ${MAX_DELAY_MS}`);
    }
    rule.delayMs = delayMs;
  }
  if (rule.code === undefined && rule.delayMs === undefined) {
    throw new InvalidInput("a rule needs code, delayMs or both");
  }
  return rule;
}

export class FaultRules {
  readonly #rules: ActiveFault[] = [];
  readonly #random: () => number;
  #nextId = 1;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  add(rule: FaultRule): ActiveFault {
    const active = { ...rule, id: this.#nextId++ };
    this.#rules.push(active);
    return { ...active };
  }

  list(): ActiveFault[] {
    return this.#rules.map((rule) => ({ ...rule }));
  }

  /** The rule that applies to this call, if any; a counted rule is used up by it. */
  take(action: ApiAction, eniIds: readonly string[], secretId: string): FaultRule | undefined {
    const index = this.#rules.findIndex(
      (rule) =>
        (rule.action === undefined || rule.action === action) &&
        (rule.secretId === undefined || rule.secretId === secretId) &&
        (rule.networkInterfaceId === undefined || eniIds.includes(rule.networkInterfaceId)) &&
        (rule.probability === undefined || this.#random() < rule.probability),
    );
    const rule = this.#rules[index];
    if (rule === undefined) return undefined;
    if (rule.count !== undefined) {
      rule.count -= 1;
      if (rule.count === 0) this.#rules.splice(index, 1);
    }
    return { ...rule };
  }

  clear(): void {
    this.#rules.length = 0;
    this.#nextId = 1;
  }
}
