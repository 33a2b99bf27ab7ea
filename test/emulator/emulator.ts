// The emulated service, without HTTP: it answers one raw API call at a time and journals it. A call goes
// through, in order: action and version, signature, quota, injected faults, parameters, the action.
import { randomUUID } from "node:crypto";
import { API_ACTIONS, API_VERSION, runAction, type ApiAction } from "./actions.ts";
import { authenticate, headerValue, type Credential, type RawRequest } from "./authenticate.ts";
import { EniStore } from "./eni-store.ts";
import { ApiError } from "./error-codes.ts";
import { FaultRules, transportFault, type TransportFault } from "./faults.ts";
import { isJsonObject, parseJson, type JsonObject, type JsonValue } from "./json.ts";
import { Journal, type ReportedEni } from "./journal.ts";
import { Quota } from "./quota.ts";
import type { Settings, SettingsPatch } from "./settings.ts";
import { parseAuthorization } from "./signature.ts";
import { STS_ACTION, STS_VERSION, assumeRoleWithWebIdentity, type IssuedCredential, type WebIdentity } from "./sts.ts";

/** The service name in the credential scope. */
const SERVICE = "ecm";

export interface EmulatorConfig {
  credentials: readonly Credential[];
  regions: readonly string[];
  settings: Settings;
  /** What STS AssumeRoleWithWebIdentity accepts; without it every exchange is refused. */
  webIdentity?: WebIdentity;
  /** In [0, 1): draws lagging Describes; default Math.random. */
  random?: () => number;
}

/** How to answer a call: an HTTP 200 JSON envelope, or a transport fault. */
export type Reply = { kind: "envelope"; body: string } | TransportFault;

export interface Outcome {
  reply: Reply;
  /** Wait this long before answering (an injected delay). */
  delayMs: number;
}

interface Processed {
  answer: Answer;
  delayMs: number;
  fault?: { code?: string; delayMs?: number } | undefined;
}

type Answer =
  | { kind: "success"; fields: JsonObject }
  | { kind: "error"; error: ApiError }
  | { kind: "transport"; code: string; fault: TransportFault };

export class Emulator {
  readonly store = new EniStore();
  readonly journal = new Journal();
  readonly faults = new FaultRules();
  readonly regions: ReadonlySet<string>;
  /** Temporary credentials STS issued, for tests to check they never appear where they must not. */
  readonly issued: IssuedCredential[] = [];
  readonly #credentials: Map<string, Credential>;
  readonly #webIdentity: WebIdentity | undefined;
  readonly #initialSettings: Settings;
  #settings: Settings;
  readonly #quota: Quota;
  readonly #random: () => number;

  constructor(config: EmulatorConfig) {
    this.#random = config.random ?? Math.random;
    this.regions = new Set(config.regions);
    this.#credentials = new Map(config.credentials.map((credential) => [credential.secretId, credential]));
    this.#webIdentity = config.webIdentity;
    this.#initialSettings = { ...config.settings };
    this.#settings = { ...config.settings };
    this.#quota = new Quota(config.settings.quotaPerSecond);
  }

  get settings(): Settings {
    return { ...this.#settings };
  }

  updateSettings(patch: SettingsPatch): Settings {
    this.#settings = { ...this.#settings, ...patch };
    this.#quota.limit = this.#settings.quotaPerSecond;
    return this.settings;
  }

  /** Forgets ENIs, journal, fault rules and quota counts, and restores the settings given at start. */
  reset(): void {
    this.store.clear();
    this.journal.clear();
    this.faults.clear();
    this.#quota.clear();
    for (const credential of this.issued.splice(0)) this.#credentials.delete(credential.secretId);
    this.updateSettings(this.#initialSettings);
  }

  /** Answers one call received on the API endpoint, and journals it. */
  call(request: RawRequest, nowMs: number = Date.now()): Outcome {
    const params = parseJson(request.body.toString("utf8"));
    const action = headerValue(request.headers, "x-tc-action") ?? "";
    const secretId = parseAuthorization(headerValue(request.headers, "authorization") ?? "")?.secretId;
    const { answer, delayMs, fault } =
      action === STS_ACTION ? this.#assumeRole(request, params, nowMs) : this.#process(request, action, params, nowMs);
    const requestId = answer.kind === "transport" ? null : randomUUID();
    const reported =
      answer.kind === "success" && action === "DescribeNetworkInterfaces" ? reportedEnis(answer.fields) : [];
    this.journal.record({
      time: new Date(nowMs).toISOString(),
      action,
      params: params ?? null,
      code: answer.kind === "success" ? "Success" : answer.kind === "error" ? answer.error.code : answer.code,
      requestId,
      ...(secretId === undefined ? {} : { secretId }),
      ...(fault === undefined ? {} : { fault }),
      ...(reported.length === 0 ? {} : { reported }),
    });
    if (answer.kind === "transport") return { reply: answer.fault, delayMs };
    const response =
      answer.kind === "success"
        ? { ...answer.fields, RequestId: requestId }
        : { Error: { Code: answer.error.code, Message: answer.error.message }, RequestId: requestId };
    return { reply: { kind: "envelope", body: JSON.stringify({ Response: response }) }, delayMs };
  }

  /** STS's exchange: its own version, no signature (Authorization: SKIP), no quota or injected faults. */
  #assumeRole(request: RawRequest, params: JsonValue | undefined, nowMs: number): Processed {
    try {
      const version = headerValue(request.headers, "x-tc-version");
      if (version !== STS_VERSION) {
        throw new ApiError("NoSuchVersion", `STS's API version is \`${STS_VERSION}\`, not \`${version ?? ""}\`.`);
      }
      const lifetime = this.#settings.stsCredentialSeconds;
      const { issued, fields } = assumeRoleWithWebIdentity(params, this.#webIdentity, lifetime, nowMs);
      this.issued.push(issued);
      this.#credentials.set(issued.secretId, issued);
      return { answer: { kind: "success", fields }, delayMs: 0 };
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return { answer: { kind: "error", error }, delayMs: 0 };
    }
  }

  #process(request: RawRequest, action: string, params: JsonValue | undefined, nowMs: number): Processed {
    let delayMs = 0;
    let applied: Processed["fault"];
    try {
      const known = knownAction(action);
      checkVersion(headerValue(request.headers, "x-tc-version"));
      const { secretId } = authenticate(request, this.#credentials, nowMs, SERVICE);
      // ECM's quota is per account and per action.
      const { count, accepted } = this.#quota.take(`${secretId}\u0000${known}`, nowMs);
      if (!accepted) {
        throw new ApiError(
          "RequestLimitExceeded",
          `Your current request times equals to \`${count}\` in a second, which exceeds the frequency limit \`${this.#quota.limit}\` for a second. Please reduce the frequency of calls.`,
        );
      }
      const fault = this.faults.take(known, eniIdsOf(params), secretId);
      delayMs = fault?.delayMs ?? 0;
      if (fault !== undefined) {
        applied = {
          ...(fault.code === undefined ? {} : { code: fault.code }),
          ...(fault.delayMs === undefined ? {} : { delayMs: fault.delayMs }),
        };
      }
      if (fault?.code !== undefined) {
        const transport = transportFault(fault.code);
        if (transport !== undefined) {
          return { answer: { kind: "transport", code: fault.code, fault: transport }, delayMs, fault: applied };
        }
        throw new ApiError(fault.code, fault.message);
      }
      const context = {
        store: this.store,
        settings: this.#settings,
        regions: this.regions,
        nowMs,
        random: this.#random,
      };
      return { answer: { kind: "success", fields: runAction(known, params, context) }, delayMs, fault: applied };
    } catch (error) {
      // Anything but an ApiError is an emulator bug: answer it as the service would answer its own.
      const apiError =
        error instanceof ApiError ? error : new ApiError("InternalError", `Emulator error: ${String(error)}`);
      return { answer: { kind: "error", error: apiError }, delayMs, fault: applied };
    }
  }
}

function knownAction(action: string): ApiAction {
  if (action === "") throw new ApiError("MissingParameter", "The request is missing a required parameter `Action`.");
  const known = API_ACTIONS.find((name) => name === action);
  if (known === undefined) {
    throw new ApiError("InvalidAction", `The action \`${action}\` is not found for version \`${API_VERSION}\`.`);
  }
  return known;
}

function checkVersion(version: string | undefined): void {
  if (version === undefined || version === "") {
    throw new ApiError("MissingParameter", "The request is missing a required parameter `Version`.");
  }
  if (version !== API_VERSION) {
    throw new ApiError("NoSuchVersion", `The API version \`${version}\` does not exist; ECM's is \`${API_VERSION}\`.`);
  }
}

/** What a Describe answer said of each ENI, for the journal: tests check confirmations against it. */
function reportedEnis(fields: JsonObject): ReportedEni[] {
  const set = fields["NetworkInterfaceSet"];
  if (!Array.isArray(set)) return [];
  return set.filter(isJsonObject).flatMap((item) => {
    const { NetworkInterfaceId: networkInterfaceId, State: state, Attachment: attachment } = item;
    if (typeof networkInterfaceId !== "string" || typeof state !== "string") return [];
    const instanceId = isJsonObject(attachment) ? attachment["InstanceId"] : null;
    return [{ networkInterfaceId, state, instanceId: typeof instanceId === "string" ? instanceId : null }];
  });
}

/** The ENIs a call names, for matching fault rules; tolerant of any body. */
function eniIdsOf(params: JsonValue | undefined): string[] {
  if (!isJsonObject(params)) return [];
  const { NetworkInterfaceId: one, NetworkInterfaceIds: many } = params;
  const ids = typeof one === "string" ? [one] : [];
  if (Array.isArray(many)) ids.push(...many.filter((id) => typeof id === "string"));
  return ids;
}
