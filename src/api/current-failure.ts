import { DESCRIBE_ACTION, type ACTIONS, type EniAttachmentStatus } from "./eniattachment.ts";

export interface CurrentFailure {
  readonly code: string;
  /** The call that failed: DescribeNetworkInterfaces, or the mutating call of status.operation. */
  readonly action: (typeof ACTIONS)[number] | typeof DESCRIBE_ACTION;
}

/**
 * What a resource is failing on now, if anything: the last Describe's error while it lasts, else the
 * last mutating call's error while that call stands Failed. The one reading of the status that the
 * credentials re-read, the metrics and the command line share.
 */
export function currentFailure(status: EniAttachmentStatus | undefined): CurrentFailure | undefined {
  if (status?.observation) return { code: status.observation.errorCode, action: DESCRIBE_ACTION };
  const operation = status?.operation;
  if (operation?.outcome !== "Failed" || !operation.errorCode) return undefined;
  return { code: operation.errorCode, action: operation.action };
}
