// The three ECM actions the emulator serves, from parameter checks to the response fields.
import { ApiError } from "./error-codes.ts";
import { describedAs, type EniStore } from "./eni-store.ts";
import { isJsonObject, type JsonObject, type JsonValue } from "./json.ts";
import { networkInterfaceItem, type NetworkInterfaceItem } from "./network-interface.ts";
import {
  checkId,
  checkRegion,
  ENI_ID_PATTERN,
  INSTANCE_ID_PATTERN,
  optionalCount,
  optionalFilters,
  optionalStrings,
  rejectUnknown,
  requirePresent,
  stringParam,
} from "./params.ts";
import type { Settings } from "./settings.ts";

export const API_VERSION = "2019-07-19";
export const API_ACTIONS = ["AttachNetworkInterface", "DescribeNetworkInterfaces", "DetachNetworkInterface"] as const;
export type ApiAction = (typeof API_ACTIONS)[number];

export interface ActionContext {
  store: EniStore;
  settings: Readonly<Settings>;
  regions: ReadonlySet<string>;
  nowMs: number;
  /** In [0, 1): draws whether a Describe is one of the lagging ones. */
  random: () => number;
}

/** Runs an authenticated call: the response fields besides RequestId, or an ApiError thrown. */
export function runAction(action: ApiAction, params: JsonValue | undefined, context: ActionContext): JsonObject {
  if (!isJsonObject(params)) throw new ApiError("InvalidParameter", "The request body must be a JSON object.");
  const { store, settings, nowMs } = context;
  switch (action) {
    case "DetachNetworkInterface": {
      const { eniId, instanceId, region } = attachmentParams(params, context.regions);
      store.detach(eniId, instanceId, region, nowMs, settings.detachDelayMs, settings.alreadyDetachedCode);
      return {};
    }
    case "AttachNetworkInterface": {
      const { eniId, instanceId, region } = attachmentParams(params, context.regions);
      store.attach(eniId, instanceId, region, nowMs, settings.attachDelayMs);
      return {};
    }
    case "DescribeNetworkInterfaces":
      return describe(params, context);
  }
}

const ATTACHMENT_PARAMS = ["NetworkInterfaceId", "InstanceId", "EcmRegion"];

function attachmentParams(params: JsonObject, regions: ReadonlySet<string>) {
  rejectUnknown(params, ATTACHMENT_PARAMS);
  requirePresent(params, ATTACHMENT_PARAMS);
  const eniId = stringParam(params, "NetworkInterfaceId");
  const instanceId = stringParam(params, "InstanceId");
  const region = stringParam(params, "EcmRegion");
  checkRegion(region, regions);
  checkId(eniId, ENI_ID_PATTERN, "NetworkInterfaceId", "eni-m6dyj72l");
  checkId(instanceId, INSTANCE_ID_PATTERN, "InstanceId", "ein-hcs7jkg4");
  return { eniId, instanceId, region };
}

const DESCRIBE_PARAMS = ["EcmRegion", "NetworkInterfaceIds", "Filters", "Offset", "Limit"];
const MAX_IDS = 100;
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

/** The filters ECM documents that the emulator models; values within a filter OR, filters AND. */
const FILTER_FIELDS = new Map<string, (item: NetworkInterfaceItem) => string | undefined>([
  ["network-interface-id", (item) => item.NetworkInterfaceId],
  ["attachment.instance-id", (item) => item.Attachment?.InstanceId],
  ["vpc-id", (item) => item.VpcId],
  ["subnet-id", (item) => item.SubnetId],
  ["network-interface-name", (item) => item.NetworkInterfaceName],
]);

function describe(params: JsonObject, { store, regions, nowMs, settings, random }: ActionContext): JsonObject {
  rejectUnknown(params, DESCRIBE_PARAMS);
  requirePresent(params, ["EcmRegion"]);
  const region = stringParam(params, "EcmRegion");
  const listedIds = optionalStrings(params, "NetworkInterfaceIds");
  const filters = optionalFilters(params, "Filters");
  const offset = optionalCount(params, "Offset") ?? 0;
  const limit = optionalCount(params, "Limit") ?? DEFAULT_LIMIT;
  checkRegion(region, regions);
  // An empty list selects nothing in particular, as when it is absent.
  const ids = listedIds?.length === 0 ? undefined : listedIds;
  if (ids !== undefined && filters !== undefined && filters.length > 0) {
    throw new ApiError("InvalidParameter.Coexist", "NetworkInterfaceIds and Filters cannot be specified together.");
  }
  if (ids !== undefined) {
    if (ids.length > MAX_IDS) {
      throw new ApiError("InvalidParameterValue.LimitExceeded", `NetworkInterfaceIds accepts at most ${MAX_IDS} ids.`);
    }
    for (const id of ids) checkId(id, ENI_ID_PATTERN, "NetworkInterfaceIds", "eni-m6dyj72l");
  }
  if (limit > MAX_LIMIT) {
    throw new ApiError("InvalidParameterValue.LimitExceeded", `Limit must not exceed ${MAX_LIMIT}.`);
  }
  const predicates = (filters ?? []).map(({ name, values }) => {
    const field = FILTER_FIELDS.get(name);
    if (field === undefined) {
      throw new ApiError("InvalidParameterValue.InvalidFilter", `The filter \`${name}\` is not supported.`);
    }
    return (item: NetworkInterfaceItem): boolean => {
      const value = field(item);
      return value !== undefined && values.includes(value);
    };
  });
  const wanted = ids === undefined ? undefined : new Set(ids);
  // One draw per call: the whole answer comes from a lagging replica, or none of it.
  const stale = settings.describeLagMs > 0 && random() < settings.describeLagShare;
  const items = store
    .list(nowMs)
    .filter((eni) => eni.region === region && (wanted === undefined || wanted.has(eni.id)))
    .map((eni) => networkInterfaceItem(describedAs(eni, nowMs, settings.describeLagMs, stale)))
    .filter((item) => predicates.every((matches) => matches(item)));
  return { TotalCount: items.length, NetworkInterfaceSet: items.slice(offset, offset + limit) };
}
