import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type KubeConfig,
} from "@kubernetes/client-node";
import { Type } from "typebox";
import { decode } from "../api/decode.ts";
import {
  API_VERSION,
  GROUP,
  KIND,
  PLURAL,
  VERSION,
  decodeEniAttachment,
  type EniAttachment,
} from "../api/eniattachment.ts";
import { isNotFound } from "../kube/api-errors.ts";
import { ToolError } from "./tool-error.ts";

const ListSchema = Type.Object({ items: Type.Array(Type.Record(Type.String(), Type.Unknown())) });

/** One sentence for a failed API call: the API server's own message, or why it could not be reached. */
export function explain(error: unknown, kc: KubeConfig): string {
  if (error instanceof ApiException) {
    const body: unknown = typeof error.body === "string" ? safeJson(error.body) : error.body;
    const message =
      body && typeof body === "object" && "message" in body && typeof body.message === "string"
        ? body.message
        : String(error.body);
    return `the API server answered ${error.code}: ${message}`;
  }
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
  const message = error instanceof Error ? error.message : String(error);
  return `cannot reach the API server at ${kc.getCurrentCluster()?.server ?? "?"}: ${message}${cause}`;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Runs an API call; a failure becomes a ToolError saying what was attempted and why it failed. */
export async function apiCall<T>(kc: KubeConfig, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new ToolError(`${what}: ${explain(error, kc)}`);
  }
}

export class Resources {
  private readonly kc: KubeConfig;
  private readonly api: CustomObjectsApi;
  private readonly core: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.kc = kc;
    this.api = kc.makeApiClient(CustomObjectsApi);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  /** The resource, or a ToolError naming it when it does not exist. */
  async get(namespace: string, name: string): Promise<EniAttachment> {
    try {
      return decodeEniAttachment(
        await this.api.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name }),
      );
    } catch (error) {
      if (isNotFound(error)) throw new ToolError(`no EniAttachment ${namespace}/${name}`);
      throw new ToolError(`reading EniAttachment ${namespace}/${name}: ${explain(error, this.kc)}`);
    }
  }

  async list(namespace: string, labelSelector: string): Promise<EniAttachment[]> {
    const list: unknown = await apiCall(
      this.kc,
      `listing EniAttachments in ${namespace} matching ${labelSelector}`,
      () =>
        this.api.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          plural: PLURAL,
          namespace,
          labelSelector,
        }),
    );
    // The list's items lack apiVersion and kind.
    return decode(ListSchema, list, "EniAttachment list").items.map((item) =>
      decodeEniAttachment({ ...item, apiVersion: API_VERSION, kind: KIND }),
    );
  }

  /** A JSON merge patch of the object (spec, annotations). */
  async patch(resource: EniAttachment, body: object, what: string): Promise<EniAttachment> {
    const { namespace = "", name = "" } = resource.metadata;
    return decodeEniAttachment(
      await apiCall(this.kc, `${what} on ${namespace}/${name}`, () =>
        this.api.patchNamespacedCustomObject(
          { group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        ),
      ),
    );
  }

  /** The resource's events, oldest first. */
  async events(resource: EniAttachment): Promise<CoreV1Event[]> {
    const { namespace = "", name = "", uid } = resource.metadata;
    const list = await apiCall(this.kc, `listing the events of ${namespace}/${name}`, () =>
      this.core.listNamespacedEvent({
        namespace,
        fieldSelector: `involvedObject.name=${name},involvedObject.kind=EniAttachment`,
      }),
    );
    return list.items
      .filter((event) => !uid || !event.involvedObject.uid || event.involvedObject.uid === uid)
      .sort((a, b) => eventTime(a) - eventTime(b));
  }
}

export function eventTime(event: CoreV1Event): number {
  const time = event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ?? event.metadata.creationTimestamp;
  return time ? new Date(time).getTime() : 0;
}
