import { Type, type Static } from "typebox";
import type { V1ObjectMeta } from "@kubernetes/client-node";
import { decode } from "./decode.ts";
import { fromLegacyStatus } from "./legacy-status.ts";

/** The EniAttachment API: defined once here; the CRD in crds/ and the TypeScript types both come from it. */
export const GROUP = "ecm.eni-operator.io";
export const VERSION = "v1alpha1";
export const KIND = "EniAttachment";
export const PLURAL = "eniattachments";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const FINALIZER = `${GROUP}/detach`;

/** `"true"`: no ECM call and no drift correction for this resource until removed; deletion still proceeds. */
export const PAUSED_ANNOTATION = `${GROUP}/paused`;
/** Any new value: reconcile now with a fresh Describe; echoed in status.lastHandledReconcileAt. */
export const RECONCILE_REQUESTED_ANNOTATION = `${GROUP}/reconcile-requested-at`;
/** This resource's drift interval, such as 90s or 10m, within [30s, 24h]. */
export const SYNC_PERIOD_ANNOTATION = `${GROUP}/sync-period`;
/** The annotations the operator reads; the informer's cache keeps only these. */
export const OWN_ANNOTATIONS = [PAUSED_ANNOTATION, RECONCILE_REQUESTED_ANNOTATION, SYNC_PERIOD_ANNOTATION] as const;

export const ENI_ID_PATTERN = "^eni-[a-z0-9]{8}$";
export const INSTANCE_ID_PATTERN = "^(ein|ins)-[a-z0-9]{8}$";
export const REGION_PATTERN = "^[a-z]+-[a-z]+-ecm(-[a-z0-9]+)?$";
// No backslashes: the pattern is embedded in CEL string literals.
const DNS_SUBDOMAIN_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/**
 * A string field checked by CEL so the API server's message names the field and shows a valid example.
 * maxLength only bounds the rules' cost: keep it well above the longest valid value, because a value
 * over it fails the OpenAPI check alone ("Too long") and the API server then skips every CEL rule.
 */
function idField(description: string, pattern: string, shape: string, example: string, maxLength: number) {
  return Type.String({
    description,
    maxLength,
    "x-kubernetes-validations": [
      { rule: `self.matches('${pattern}')`, message: `must be ${shape}, for example ${example}` },
      { rule: "self == oldSelf", message: "is immutable: create a new EniAttachment instead" },
    ],
  });
}

/** Optional in the type, always present on objects read back: the API server applies the default. */
function optionalEnum<const T extends readonly string[]>(values: T, defaultValue: T[number], description: string) {
  return Type.Optional(
    Type.Unsafe<T[number]>({ type: "string", enum: [...values], default: defaultValue, description }),
  );
}

export const DESIRED_STATES = ["Attached", "Detached"] as const;
export const DELETION_POLICIES = ["Detach", "Orphan"] as const;
export const PHASES = ["Pending", "Attaching", "Attached", "Detaching", "Detached", "Failed"] as const;
export const ACTIONS = ["DetachNetworkInterface", "AttachNetworkInterface"] as const;
export const MANAGEMENT_POLICIES = ["Manage", "Observe"] as const;

export const EniAttachmentSpecSchema = Type.Object(
  {
    networkInterfaceId: idField(
      "ID of the ECM elastic network interface. Immutable.",
      ENI_ID_PATTERN,
      "'eni-' followed by 8 lower-case letters or digits",
      "eni-m6dyj72l",
      64,
    ),
    instanceId: idField(
      "ID of the ECM instance the interface is attached to or detached from. Immutable.",
      INSTANCE_ID_PATTERN,
      "'ein-' or 'ins-' followed by 8 lower-case letters or digits",
      "ein-hcs7jkg4",
      64,
    ),
    ecmRegion: idField(
      "ECM region of the interface and the instance, such as ap-xian-ecm or ap-ningbo-ecm-ct2. Immutable.",
      REGION_PATTERN,
      "a lower-case ECM region",
      "ap-xian-ecm",
      63,
    ),
    desiredState: optionalEnum(
      DESIRED_STATES,
      "Attached",
      "Attached keeps the interface attached to the instance; Detached detaches it (DetachNetworkInterface).",
    ),
    deletionPolicy: optionalEnum(
      DELETION_POLICIES,
      "Detach",
      "What deleting this resource does: Detach detaches the interface first (the finalizer holds the resource until ECM confirms); Orphan leaves the interface as it is. May be changed while the resource is terminating.",
    ),
    managementPolicy: optionalEnum(
      MANAGEMENT_POLICIES,
      "Manage",
      "Manage attaches and detaches the interface as declared; Observe only reports what ECM shows (Describe on the drift interval), never attaches or detaches, and deleting the resource leaves the interface as it is. Switching Observe to Manage adopts the interface.",
    ),
    credentialsSecretRef: Type.Optional(
      Type.Object(
        {
          name: Type.String({
            description: "Name of the Secret.",
            maxLength: 253,
            "x-kubernetes-validations": [
              {
                rule: `self.matches('${DNS_SUBDOMAIN_PATTERN}')`,
                message: "must be a Secret name (a DNS subdomain), for example ecm-credentials",
              },
            ],
          }),
        },
        {
          description:
            "Secret in this namespace holding the Tencent Cloud credentials to use: keys secretId, secretKey and optional token. Without it the operator's own credentials are used.",
        },
      ),
    ),
  },
  { description: "The interface attachment the operator maintains." },
);

const ConditionSchema = Type.Object(
  {
    type: Type.String({ description: "Ready (desired state reached) or Synced (last ECM interaction succeeded)." }),
    status: Type.Unsafe<"True" | "False" | "Unknown">({
      type: "string",
      enum: ["True", "False", "Unknown"],
      description: "True, False or Unknown.",
    }),
    reason: Type.String({ description: "PascalCase reason; on an ECM failure, the ECM error code itself." }),
    message: Type.String({ description: "Human-readable detail." }),
    lastTransitionTime: Type.String({ format: "date-time", description: "When status last changed." }),
    observedGeneration: Type.Optional(Type.Integer({ description: "The generation this condition describes." })),
  },
  { description: "A metav1.Condition." },
);

export const OUTCOMES = ["Accepted", "Confirmed", "Failed"] as const;
export const DESCRIBE_ACTION = "DescribeNetworkInterfaces";

const OperationSchema = Type.Object(
  {
    action: Type.Unsafe<(typeof ACTIONS)[number]>({
      type: "string",
      enum: [...ACTIONS],
      description: "DetachNetworkInterface or AttachNetworkInterface.",
    }),
    requestId: Type.Optional(
      Type.String({ description: "The RequestId ECM returned for the call, on success and on failure." }),
    ),
    time: Type.String({ format: "date-time", description: "When the call was made." }),
    outcome: Type.Unsafe<(typeof OUTCOMES)[number]>({
      type: "string",
      enum: [...OUTCOMES],
      description:
        "Accepted: ECM accepted the call and Describe does not show its effect yet; Confirmed: Describe shows the state the call asked for; Failed: ECM refused the call (errorCode).",
    }),
    errorCode: Type.Optional(
      Type.String({
        description:
          "The ECM error code of the call; absent after a success. Kept once Confirmed only for an already-done answer (such as UnsupportedOperation.AttachmentNotFound).",
      }),
    ),
    errorMessage: Type.Optional(Type.String({ description: "The ECM error message of the call." })),
    attempts: Type.Integer({
      description: "Calls made for the current operation (throttled calls not counted).",
      minimum: 0,
    }),
    nextAttemptTime: Type.Optional(
      Type.String({ format: "date-time", description: "When the operator will call again, if it will." }),
    ),
  },
  { description: "The last mutating ECM call made for this resource and what became of it." },
);

const ObservationSchema = Type.Object(
  {
    errorCode: Type.String({ description: "The error code of the last DescribeNetworkInterfaces." }),
    errorMessage: Type.String({ description: "Its error message." }),
  },
  {
    description:
      "Present while the last DescribeNetworkInterfaces failed; removed by the next one that succeeds. It never changes status.operation.",
  },
);

const TransitionSchema = Type.Object(
  {
    state: Type.String({ description: "The transition state ECM reports: PENDING, ATTACHING, DETACHING or DELETING." }),
    since: Type.String({
      format: "date-time",
      description: "When a Describe first showed the interface in a transition.",
    }),
  },
  {
    description:
      "Present while ECM shows the interface in a transition that no accepted call of this resource started (another actor's); it is polled less and less often, up to the drift interval.",
  },
);

/** Fields of the status written before status.operation existed: read into it, never written. */
const LEGACY_STATUS_FIELDS = {
  action: Type.Optional(
    Type.Unsafe<(typeof ACTIONS)[number]>({
      type: "string",
      enum: [...ACTIONS],
      description: "Deprecated: read into operation.action, no longer written.",
    }),
  ),
  requestId: Type.Optional(Type.String({ description: "Deprecated: read into operation.requestId." })),
  errorCode: Type.Optional(Type.String({ description: "Deprecated: read into operation.errorCode." })),
  errorMessage: Type.Optional(Type.String({ description: "Deprecated: read into operation.errorMessage." })),
  attempts: Type.Optional(Type.Integer({ description: "Deprecated: read into operation.attempts." })),
  lastAttemptTime: Type.Optional(
    Type.String({ format: "date-time", description: "Deprecated: read into operation.time." }),
  ),
  nextAttemptTime: Type.Optional(
    Type.String({ format: "date-time", description: "Deprecated: read into operation.nextAttemptTime." }),
  ),
};

const CURRENT_STATUS_FIELDS = {
  observedGeneration: Type.Optional(Type.Integer({ description: "The spec generation this status describes." })),
  phase: Type.Optional(
    Type.Unsafe<(typeof PHASES)[number]>({
      type: "string",
      enum: [...PHASES],
      description: "Human summary of the attachment; the conditions are the contract.",
    }),
  ),
  operation: Type.Optional(OperationSchema),
  observation: Type.Optional(ObservationSchema),
  transition: Type.Optional(TransitionSchema),
  lastHandledReconcileAt: Type.Optional(
    Type.String({ description: "The value of the reconcile-requested-at annotation the operator last acted on." }),
  ),
  attachedInstanceId: Type.Optional(
    Type.String({ description: "The instance ECM last reported the interface attached to; empty when detached." }),
  ),
  conditions: Type.Optional(
    Type.Array(ConditionSchema, {
      description: "Ready and Synced.",
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["type"],
    }),
  ),
};

/**
 * The status as the CRD declares it: the current fields, plus the deprecated ones an older operator
 * wrote, kept in the schema so that the API server hands them over rather than pruning them.
 */
export const EniAttachmentStatusSchema = Type.Object(
  { ...CURRENT_STATUS_FIELDS, ...LEGACY_STATUS_FIELDS },
  { description: "What the operator last observed and did." },
);

export type EniAttachmentSpec = Static<typeof EniAttachmentSpecSchema>;
/** The status the operator reads and writes: the deprecated fields are already read into `operation`. */
export type EniAttachmentStatus = Omit<Static<typeof EniAttachmentStatusSchema>, keyof typeof LEGACY_STATUS_FIELDS>;
export type Operation = Static<typeof OperationSchema>;
export type Outcome = (typeof OUTCOMES)[number];
export type ObservationFailure = Static<typeof ObservationSchema>;
export type ForeignTransition = Static<typeof TransitionSchema>;
export type Condition = Static<typeof ConditionSchema>;
export type Phase = (typeof PHASES)[number];

/**
 * The metadata fields the operator reads, checked; typed as client-node's V1ObjectMeta for the rest
 * (the API server's JSON carries timestamps as strings, which the operator only tests for presence).
 */
const ObjectMetaSchema = Type.Unsafe<V1ObjectMeta>(
  Type.Object({
    name: Type.String(),
    namespace: Type.String(),
    uid: Type.Optional(Type.String()),
    resourceVersion: Type.Optional(Type.String()),
    generation: Type.Optional(Type.Integer()),
    creationTimestamp: Type.Optional(Type.String()),
    deletionTimestamp: Type.Optional(Type.String()),
    annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
    finalizers: Type.Optional(Type.Array(Type.String())),
  }),
);

/** A whole EniAttachment as the API server returns it; objects from outside are decoded against it. */
export const EniAttachmentSchema = Type.Object({
  apiVersion: Type.Literal(API_VERSION),
  kind: Type.Literal(KIND),
  metadata: ObjectMetaSchema,
  spec: EniAttachmentSpecSchema,
  status: Type.Optional(EniAttachmentStatusSchema),
});

/** The status as the API server may return it, deprecated fields included. */
export type StoredStatus = Static<typeof EniAttachmentStatusSchema>;

export type EniAttachment = Omit<Static<typeof EniAttachmentSchema>, "status"> & { status?: EniAttachmentStatus };

/**
 * An EniAttachment from the API server or a watch, checked; DecodeError names the first bad field.
 * A status an older operator wrote is read into `operation` here, so no other code sees its fields.
 */
export function decodeEniAttachment(value: unknown): EniAttachment {
  const { status, ...rest } = decode(EniAttachmentSchema, value, KIND);
  return status ? { ...rest, status: fromLegacyStatus(status) } : rest;
}

/**
 * What the informer's cache keeps of a resource: the metadata fields ObjectMetaSchema lists (the ones
 * the operator reads), the operator's own annotations, the spec and the status. managedFields and the
 * other annotations (kubectl's last-applied-configuration copies the whole spec) would otherwise be
 * most of the cache.
 */
export function cachedCopy(resource: EniAttachment): EniAttachment {
  const { name, namespace, uid, resourceVersion, generation, creationTimestamp, deletionTimestamp, finalizers } =
    resource.metadata;
  const { apiVersion, kind, spec, status } = resource;
  const all = resource.metadata.annotations ?? {};
  const own = OWN_ANNOTATIONS.filter((key) => all[key] !== undefined).map((key): [string, string] => [
    key,
    all[key] ?? "",
  ]);
  return {
    apiVersion,
    kind,
    metadata: {
      name,
      namespace,
      uid,
      resourceVersion,
      generation,
      creationTimestamp,
      deletionTimestamp,
      finalizers,
      ...(own.length > 0 ? { annotations: Object.fromEntries(own) } : {}),
    },
    spec,
    ...(status ? { status } : {}),
  };
}
