import { Type, type Static } from "typebox";

/**
 * The parts of ECM's answers the operator reads, as schemas: every answer is decoded against one at
 * the client, so a malformed body is a Transport.MalformedResponse naming the field, never a cast.
 */
/** AttachNetworkInterface and DetachNetworkInterface return only a RequestId. */
export const MutatingResponseSchema = Type.Object({ RequestId: Type.String() });

export const DescribeResponseSchema = Type.Object({
  RequestId: Type.String(),
  NetworkInterfaceSet: Type.Array(
    Type.Object({
      NetworkInterfaceId: Type.String(),
      State: Type.Union([
        Type.Literal("PENDING"),
        Type.Literal("AVAILABLE"),
        Type.Literal("ATTACHING"),
        Type.Literal("DETACHING"),
        Type.Literal("DELETING"),
      ]),
      Attachment: Type.Optional(Type.Union([Type.Null(), Type.Object({ InstanceId: Type.Optional(Type.String()) })])),
    }),
  ),
});

export type MutatingResponse = Static<typeof MutatingResponseSchema>;
export type DescribeResponse = Static<typeof DescribeResponseSchema>;
export type EniState = DescribeResponse["NetworkInterfaceSet"][number]["State"];
