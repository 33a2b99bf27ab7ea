import type { V1CustomResourceDefinition, V1JSONSchemaProps } from "@kubernetes/client-node";
import { EniAttachmentSpecSchema, EniAttachmentStatusSchema, GROUP, KIND, PLURAL, VERSION } from "./eniattachment.ts";

/** JSON round trip: drops TypeBox's symbol keys so only the OpenAPI schema remains. */
function plain(schema: object): V1JSONSchemaProps {
  return JSON.parse(JSON.stringify(schema)) as V1JSONSchemaProps;
}

/** The CustomResourceDefinition, derived from the schemas in eniattachment.ts. */
export function eniAttachmentCrd(): V1CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${PLURAL}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: "Namespaced",
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: KIND.toLowerCase(),
        shortNames: ["enia"],
        categories: ["ecm"],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: "ENI", type: "string", jsonPath: ".spec.networkInterfaceId" },
            { name: "Instance", type: "string", jsonPath: ".spec.instanceId" },
            { name: "Region", type: "string", jsonPath: ".spec.ecmRegion" },
            { name: "Desired", type: "string", jsonPath: ".spec.desiredState" },
            { name: "Phase", type: "string", jsonPath: ".status.phase" },
            { name: "Reason", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
            { name: "Request-ID", type: "string", jsonPath: ".status.operation.requestId" },
            { name: "Error", type: "string", jsonPath: ".status.operation.errorCode" },
            { name: "Describe-Error", type: "string", jsonPath: ".status.observation.errorCode" },
            { name: "Paused", type: "string", jsonPath: ".metadata.annotations.ecm\\.eni-operator\\.io/paused" },
            { name: "Policy", type: "string", jsonPath: ".spec.managementPolicy", priority: 1 },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              description:
                "EniAttachment attaches a Tencent Cloud ECM elastic network interface to an ECM instance, and detaches it when the resource is deleted or its desiredState is Detached.",
              required: ["spec"],
              properties: {
                apiVersion: { type: "string", description: "APIVersion of this representation of the object." },
                kind: { type: "string", description: "Kind of this object." },
                metadata: { type: "object" },
                spec: plain(EniAttachmentSpecSchema),
                status: plain(EniAttachmentStatusSchema),
              },
            },
          },
        },
      ],
    },
  };
}
