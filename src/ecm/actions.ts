/** The ECM API actions the operator calls, and the API version they belong to. */
export const ECM_VERSION = "2019-07-19";
export const ECM_SIGNING_HOST = "ecm.tencentcloudapi.com";

export const DETACH = "DetachNetworkInterface";
export const ATTACH = "AttachNetworkInterface";
export const DESCRIBE = "DescribeNetworkInterfaces";

export type MutatingAction = typeof DETACH | typeof ATTACH;
export type EcmAction = MutatingAction | typeof DESCRIBE;
export const ECM_ACTIONS: readonly EcmAction[] = [DETACH, ATTACH, DESCRIBE];
