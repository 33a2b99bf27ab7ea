/** What DescribeNetworkInterfaces reported about one interface. */
export type EniState = "PENDING" | "AVAILABLE" | "ATTACHING" | "DETACHING" | "DELETING";

export type EniObservation =
  | { readonly found: false }
  | { readonly found: true; readonly state: EniState; readonly attachedInstanceId: string | undefined };

export const NOT_FOUND: EniObservation = { found: false };
