// The emulated ENIs and their attachments. A detach or attach is accepted at once and becomes visible
// only after its delay: until then the ENI is DETACHING (still attached) or ATTACHING (not yet attached).
// Transitions finish lazily, when the store is next read, so no timers outlive a test. Each ENI also
// keeps what it showed before its last accepted call, for Describes that lag behind (settings.ts).
import { ApiError } from "./error-codes.ts";
import { InvalidInput } from "./invalid-input.ts";
import { isJsonObject, type JsonValue } from "./json.ts";
import { ENI_ID_PATTERN, INSTANCE_ID_PATTERN } from "./params.ts";

/** ECM's State values that the emulator produces (ECM also has PENDING and DELETING). */
export type EniState = "AVAILABLE" | "ATTACHING" | "DETACHING";

export interface SeedEni {
  networkInterfaceId: string;
  ecmRegion: string;
  attachedInstanceId?: string;
}

export interface EniView {
  networkInterfaceId: string;
  ecmRegion: string;
  state: EniState;
  attachedInstanceId: string | null;
}

interface Attachment {
  instanceId: string;
  /** Position of the ENI in the instance; 0 is the primary ENI, so attached ones start at 1. */
  deviceIndex: number;
  attachedAtMs: number;
}

interface Transition {
  state: "ATTACHING" | "DETACHING";
  untilMs: number;
  next: Attachment | null;
}

export interface Eni {
  readonly id: string;
  readonly region: string;
  readonly createdAtMs: number;
  attachment: Attachment | null;
  transition: Transition | null;
  /** The attachment before the last accepted call, and when that call was made. */
  before: { attachment: Attachment | null; callMs: number } | null;
}

/**
 * The ENI as a lagging Describe shows it: as before its last accepted call, while that call is less
 * than `lagMs` old and `stale` says this Describe is one of the lagging ones.
 */
export function describedAs(eni: Eni, nowMs: number, lagMs: number, stale: boolean): Eni {
  const { before } = eni;
  if (before === null || !stale || nowMs - before.callMs >= lagMs) return eni;
  return { ...eni, attachment: before.attachment, transition: null };
}

export function stateOf(eni: Eni): EniState {
  return eni.transition?.state ?? "AVAILABLE";
}

export function viewOf(eni: Eni): EniView {
  return {
    networkInterfaceId: eni.id,
    ecmRegion: eni.region,
    state: stateOf(eni),
    attachedInstanceId: eni.attachment?.instanceId ?? null,
  };
}

/** Seeds from the control API's JSON; throws InvalidInput naming the bad entry. */
export function parseSeedEnis(json: JsonValue | undefined, regions: ReadonlySet<string>): SeedEni[] {
  if (!Array.isArray(json)) {
    throw new InvalidInput("expected an array of {networkInterfaceId, ecmRegion, attachedInstanceId?}");
  }
  return json.map((item, index) => {
    if (!isJsonObject(item)) throw new InvalidInput(`entry ${index} is not an object`);
    const { networkInterfaceId, ecmRegion, attachedInstanceId, ...rest } = item;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) throw new InvalidInput(`entry ${index} has unknown fields: ${unknown.join(", ")}`);
    if (typeof networkInterfaceId !== "string" || !ENI_ID_PATTERN.test(networkInterfaceId)) {
      throw new InvalidInput(`entry ${index}: networkInterfaceId must match ${ENI_ID_PATTERN.source}`);
    }
    if (typeof ecmRegion !== "string" || !regions.has(ecmRegion)) {
      throw new InvalidInput(`entry ${index}: ecmRegion must be one of the emulator's regions`);
    }
    if (attachedInstanceId === undefined || attachedInstanceId === null) return { networkInterfaceId, ecmRegion };
    if (typeof attachedInstanceId !== "string" || !INSTANCE_ID_PATTERN.test(attachedInstanceId)) {
      throw new InvalidInput(`entry ${index}: attachedInstanceId must match ${INSTANCE_ID_PATTERN.source}`);
    }
    return { networkInterfaceId, ecmRegion, attachedInstanceId };
  });
}

export class EniStore {
  readonly #enis = new Map<string, Eni>();

  /** Adds all the seeds or, when one id is already taken, none. */
  add(seeds: readonly SeedEni[], nowMs: number): Eni[] {
    const ids = new Set<string>();
    for (const { networkInterfaceId } of seeds) {
      if (this.#enis.has(networkInterfaceId) || ids.has(networkInterfaceId)) {
        throw new InvalidInput(`${networkInterfaceId} already exists`);
      }
      ids.add(networkInterfaceId);
    }
    return seeds.map((seed) => {
      const eni: Eni = {
        id: seed.networkInterfaceId,
        region: seed.ecmRegion,
        createdAtMs: nowMs,
        attachment:
          seed.attachedInstanceId === undefined
            ? null
            : {
                instanceId: seed.attachedInstanceId,
                deviceIndex: this.#freeDeviceIndex(seed.attachedInstanceId, nowMs),
                attachedAtMs: nowMs,
              },
        transition: null,
        before: null,
      };
      this.#enis.set(eni.id, eni);
      return eni;
    });
  }

  /** All ENIs in the order they were added, with finished transitions applied. */
  list(nowMs: number): Eni[] {
    return [...this.#enis.values()].map((eni) => settle(eni, nowMs));
  }

  /** The ENI with that id in that region; ResourceNotFound otherwise, as ECM scopes ids by region. */
  find(id: string, region: string, nowMs: number): Eni {
    const eni = this.#enis.get(id);
    if (eni?.region !== region) throw new ApiError("ResourceNotFound", `The resource \`${id}\` does not exist.`);
    return settle(eni, nowMs);
  }

  /**
   * Starts detaching `id` from `instanceId`. An ENI that is not attached to that instance (detached, or
   * attached elsewhere) gets `notAttachedCode`, since ECM's code for it is not documented.
   */
  detach(
    id: string,
    instanceId: string,
    region: string,
    nowMs: number,
    delayMs: number,
    notAttachedCode: string,
  ): void {
    const eni = this.#idle(id, region, nowMs);
    if (eni.attachment?.instanceId !== instanceId) {
      throw new ApiError(notAttachedCode, `The ENI \`${id}\` is not attached to instance \`${instanceId}\`.`);
    }
    this.#begin(eni, "DETACHING", null, nowMs, delayMs);
  }

  attach(id: string, instanceId: string, region: string, nowMs: number, delayMs: number): void {
    const eni = this.#idle(id, region, nowMs);
    if (eni.attachment !== null) {
      throw new ApiError(
        "UnsupportedOperation.AttachmentAlreadyExists",
        `The ENI \`${id}\` is already attached to instance \`${eni.attachment.instanceId}\`.`,
      );
    }
    const next = { instanceId, deviceIndex: this.#freeDeviceIndex(instanceId, nowMs), attachedAtMs: nowMs + delayMs };
    this.#begin(eni, "ATTACHING", next, nowMs, delayMs);
  }

  clear(): void {
    this.#enis.clear();
  }

  #idle(id: string, region: string, nowMs: number): Eni {
    const eni = this.find(id, region, nowMs);
    if (eni.transition !== null) {
      throw new ApiError("UnsupportedOperation.InvalidState", `The ENI \`${id}\` is ${eni.transition.state}.`);
    }
    return eni;
  }

  #begin(eni: Eni, state: Transition["state"], next: Attachment | null, nowMs: number, delayMs: number): void {
    eni.before = { attachment: eni.attachment, callMs: nowMs };
    if (delayMs > 0) eni.transition = { state, untilMs: nowMs + delayMs, next };
    else eni.attachment = next;
  }

  #freeDeviceIndex(instanceId: string, nowMs: number): number {
    const taken = new Set<number>();
    for (const eni of this.list(nowMs)) {
      for (const attachment of [eni.attachment, eni.transition?.next]) {
        if (attachment?.instanceId === instanceId) taken.add(attachment.deviceIndex);
      }
    }
    let index = 1;
    while (taken.has(index)) index += 1;
    return index;
  }
}

function settle(eni: Eni, nowMs: number): Eni {
  if (eni.transition !== null && nowMs >= eni.transition.untilMs) {
    eni.attachment = eni.transition.next;
    eni.transition = null;
  }
  return eni;
}
