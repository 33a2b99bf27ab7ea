import { Type, type Static } from "typebox";
import { decode } from "../api/decode.ts";
import type { Fence } from "../api/fence.ts";
import { CONTENT, type JsonPatch, type KubeApi } from "./api-client.ts";

/** What the operator reads of a Secret: its identity, its finalizers and deletion, its data. */
export const SecretSchema = Type.Object({
  metadata: Type.Optional(
    Type.Object({
      name: Type.Optional(Type.String()),
      namespace: Type.Optional(Type.String()),
      uid: Type.Optional(Type.String()),
      resourceVersion: Type.Optional(Type.String()),
      finalizers: Type.Optional(Type.Array(Type.String())),
      deletionTimestamp: Type.Optional(Type.String()),
    }),
  ),
  data: Type.Optional(Type.Record(Type.String(), Type.String())),
});
export type Secret = Static<typeof SecretSchema>;

/** The Secret requests the operator makes. */
export interface SecretsApi {
  readNamespacedSecret(param: { namespace: string; name: string }): Promise<Secret>;
  /** Checks `fence` as the last step before the patch leaves. */
  patchNamespacedSecret(param: { namespace: string; name: string; body: JsonPatch }, fence?: Fence): Promise<Secret>;
}

const secretPath = (namespace: string, name: string): string =>
  `/api/v1/namespaces/${namespace}/secrets/${encodeURIComponent(name)}`;

export class KubeSecrets implements SecretsApi {
  private readonly api: KubeApi;

  constructor(api: KubeApi) {
    this.api = api;
  }

  async readNamespacedSecret({ namespace, name }: { namespace: string; name: string }): Promise<Secret> {
    return decode(
      SecretSchema,
      await this.api.request("GET", secretPath(namespace, name)),
      `Secret ${namespace}/${name}`,
    );
  }

  async patchNamespacedSecret(
    { namespace, name, body }: { namespace: string; name: string; body: JsonPatch },
    fence?: Fence,
  ): Promise<Secret> {
    const patched = await this.api.request("PATCH", secretPath(namespace, name), {
      body,
      contentType: CONTENT.jsonPatch,
      ...(fence ? { fence, what: "Secret finalizer patch" } : {}),
    });
    return decode(SecretSchema, patched, `Secret ${namespace}/${name}`);
  }
}
