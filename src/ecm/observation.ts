import type { ENI_STATES } from "./responses.ts";

/** What DescribeNetworkInterfaces reported about one interface. */
export type EniState = (typeof ENI_STATES)[number];

export type EniObservation =
  | { readonly found: false }
  | { readonly found: true; readonly state: EniState; readonly attachedInstanceId: string | undefined };

export const NOT_FOUND: EniObservation = { found: false };
