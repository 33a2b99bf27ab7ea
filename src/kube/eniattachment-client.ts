import { Type } from "typebox";
import { decode } from "../api/decode.ts";
import { UNFENCED, checkFence, type Fence } from "../api/fence.ts";
import {
  API_VERSION,
  FINALIZER,
  KIND,
  PLURAL,
  decodeEniAttachment,
  type EniAttachment,
  type EniAttachmentStatus,
} from "../api/eniattachment.ts";
import { isConflict, isNotFound } from "./api-errors.ts";
import type { ListPage } from "./informer.ts";
import { CONTENT, type JsonPatch, type KubeApi } from "./api-client.ts";

/** A page of a list as the API server returns it; the informer checks its items one by one. */
const ListPageSchema = Type.Object({
  metadata: Type.Object({ resourceVersion: Type.Optional(Type.String()), continue: Type.Optional(Type.String()) }),
  items: Type.Array(Type.Record(Type.String(), Type.Unknown())),
});
/** Objects per list page: a list of 10,000 resources never arrives as one response of tens of MiB. */
const LIST_PAGE_SIZE = 500;
const FIELD_MANAGER = "eni-operator";

const objectPath = (namespace: string, name: string): string =>
  `${EniAttachmentClient.path(namespace)}/${encodeURIComponent(name)}`;

/** The result of a status write guarded by resourceVersion. */
export type StatusWrite =
  { readonly kind: "written"; readonly resource: EniAttachment } | { readonly kind: "conflict" };

/**
 * Typed access to EniAttachment resources: reads, status writes, guarded finalizer patches. Every
 * object the API server returns is decoded against the schema.
 */
export class EniAttachmentClient {
  private readonly api: KubeApi;
  private readonly fence: Fence;

  /** `fence` is checked before every write; reads are always allowed. */
  constructor(api: KubeApi, fence: Fence = UNFENCED) {
    this.api = api;
    this.fence = fence;
  }

  /** The API path the informer lists and watches. */
  static path(namespace: string | undefined): string {
    return namespace ? `/apis/${API_VERSION}/namespaces/${namespace}/${PLURAL}` : `/apis/${API_VERSION}/${PLURAL}`;
  }

  /** One page of the list the informer keeps, from the start or from the page before's continue token. */
  async listPage(
    namespace: string | undefined,
    continueToken: string | undefined,
    labelSelector = "",
  ): Promise<ListPage> {
    const query = {
      limit: LIST_PAGE_SIZE,
      ...(continueToken ? { continue: continueToken } : {}),
      ...(labelSelector ? { labelSelector } : {}),
    };
    const list = decode(
      ListPageSchema,
      await this.api.request("GET", EniAttachmentClient.path(namespace), { query }),
      `${KIND} list`,
    );
    // The list's items lack apiVersion/kind; the informer's cache wants whole objects.
    return {
      metadata: list.metadata,
      items: list.items.map((item) => ({ ...item, apiVersion: API_VERSION, kind: KIND })),
    };
  }

  /** A read from the API server, for when the informer's cache may still lack the operator's own last write (StaleReadGuard). */
  async get(namespace: string, name: string): Promise<EniAttachment | undefined> {
    try {
      return decodeEniAttachment(await this.api.request("GET", objectPath(namespace, name)));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Replaces the status through the status subresource, guarded by the resourceVersion `resource` was
   * read at: a status computed from an older object is never written over a newer one.
   */
  async replaceStatus(resource: EniAttachment, status: EniAttachmentStatus): Promise<StatusWrite> {
    const { namespace = "", name = "" } = resource.metadata;
    checkFence(this.fence, "status write");
    try {
      const written = await this.api.request("PUT", `${objectPath(namespace, name)}/status`, {
        query: { fieldManager: FIELD_MANAGER },
        body: { ...resource, status },
        fence: this.fence,
        what: "status write",
      });
      return { kind: "written", resource: decodeEniAttachment(written) };
    } catch (error) {
      if (isConflict(error)) return { kind: "conflict" };
      throw error;
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
      const patched = await this.patch(resource, [
        { op: "test", path: `/metadata/finalizers/${index}`, value: FINALIZER },
        { op: "remove", path: `/metadata/finalizers/${index}` },
      ]);
      // The removal of a deleted object's last finalizer is answered with the object, which is then gone.
      const gone = patched.metadata.deletionTimestamp !== undefined && (patched.metadata.finalizers ?? []).length === 0;
      return gone ? undefined : patched;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      return undefined;
    }
  }

  private async patch(resource: EniAttachment, body: JsonPatch): Promise<EniAttachment> {
    const { namespace = "", name = "" } = resource.metadata;
    checkFence(this.fence, "finalizer patch");
    return decodeEniAttachment(
      await this.api.request("PATCH", objectPath(namespace, name), {
        query: { fieldManager: FIELD_MANAGER },
        body,
        contentType: CONTENT.jsonPatch,
        fence: this.fence,
        what: "finalizer patch",
      }),
    );
  }
}
