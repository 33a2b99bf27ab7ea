import type { EniState } from "./responses.ts";

export type { EniState };

/** What DescribeNetworkInterfaces reported about one interface. */
export type EniObservation =
  | { readonly found: false }
  | { readonly found: true; readonly state: EniState; readonly attachedInstanceId: string | undefined };

export const NOT_FOUND: EniObservation = { found: false };
