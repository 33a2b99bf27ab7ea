import { type KubeConfig, CustomObjectsApi, type KubernetesListObject } from "@kubernetes/client-node";
import {
  API_VERSION,
  FINALIZER,
  GROUP,
  KIND,
  PLURAL,
  VERSION,
  type EniAttachment,
  type EniAttachmentStatus,
} from "../api/eniattachment.ts";
import { isConflict, isNotFound } from "./api-errors.ts";

const base = { group: GROUP, version: VERSION, plural: PLURAL };
const FIELD_MANAGER = "eni-operator";

/** A JSON patch; `test` operations make it fail instead of clobbering a concurrent change. */
type JsonPatch = ({ op: "test" | "add"; path: string; value: unknown } | { op: "remove"; path: string })[];

/** Typed access to EniAttachment resources: reads, status writes, guarded finalizer patches. */
export class EniAttachmentClient {
  private readonly api: CustomObjectsApi;

  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  /** The API path the informer lists and watches. */
  static path(namespace: string | undefined): string {
    return namespace ? `/apis/${API_VERSION}/namespaces/${namespace}/${PLURAL}` : `/apis/${API_VERSION}/${PLURAL}`;
  }

  async list(namespace: string | undefined): Promise<KubernetesListObject<EniAttachment>> {
    const list = (await (namespace
      ? this.api.listNamespacedCustomObject({ ...base, namespace })
      : this.api.listClusterCustomObject(base))) as KubernetesListObject<EniAttachment>;
    // The list's items lack apiVersion/kind; the informer's cache wants whole objects.
    return { ...list, items: list.items.map((item) => ({ ...item, apiVersion: API_VERSION, kind: KIND })) };
  }

  /** A fresh read from the API server, never the cache: decisions about cloud calls need the latest status. */
  async get(namespace: string, name: string): Promise<EniAttachment | undefined> {
    try {
      return (await this.api.getNamespacedCustomObject({ ...base, namespace, name })) as EniAttachment;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Replaces the status through the status subresource. A conflict is retried once against a fresh
   * read: the status is the operator's alone, so the newer object only changes the resourceVersion.
   */
  async replaceStatus(resource: EniAttachment, status: EniAttachmentStatus): Promise<EniAttachment | undefined> {
    const { namespace = "", name = "" } = resource.metadata;
    const write = (current: EniAttachment) =>
      this.api.replaceNamespacedCustomObjectStatus({
        ...base,
        namespace,
        name,
        fieldManager: FIELD_MANAGER,
        body: { ...current, status },
      }) as Promise<EniAttachment>;
    try {
      return await write(resource);
    } catch (error) {
      if (!isConflict(error)) throw error;
      const fresh = await this.get(namespace, name);
      return fresh ? write(fresh) : undefined;
    }
  }

  /** Adds the finalizer unless the finalizer list changed since `resource` was read. */
  async addFinalizer(resource: EniAttachment): Promise<EniAttachment> {
    const finalizers = resource.metadata.finalizers;
    const patch: JsonPatch = finalizers
      ? [
          { op: "test", path: "/metadata/finalizers", value: finalizers },
          { op: "add", path: "/metadata/finalizers/-", value: FINALIZER },
        ]
      : [
          { op: "test", path: "/metadata/resourceVersion", value: resource.metadata.resourceVersion },
          { op: "add", path: "/metadata/finalizers", value: [FINALIZER] },
        ];
    return this.patch(resource, patch);
  }

  /**
   * Removes the finalizer at the index it was read at, and only if it is still there. Returns the
   * object, or undefined when that removal let it be deleted.
   */
  async removeFinalizer(resource: EniAttachment): Promise<EniAttachment | undefined> {
    const index = resource.metadata.finalizers?.indexOf(FINALIZER) ?? -1;
    if (index < 0) return resource;
    try {
      return await this.patch(resource, [
        { op: "test", path: `/metadata/finalizers/${index}`, value: FINALIZER },
        { op: "remove", path: `/metadata/finalizers/${index}` },
      ]);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      return undefined;
    }
  }

  private async patch(resource: EniAttachment, body: JsonPatch): Promise<EniAttachment> {
    const { namespace = "", name = "" } = resource.metadata;
    return (await this.api.patchNamespacedCustomObject({
      ...base,
      namespace,
      name,
      body,
      fieldManager: FIELD_MANAGER,
    })) as EniAttachment;
  }
}
