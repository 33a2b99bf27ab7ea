// An emulated ENI rendered as an item of DescribeNetworkInterfaces' NetworkInterfaceSet. Fields the
// emulator does not model (VPC, subnet, MAC, IP) are derived from the ids so that they are stable.
import { createHash } from "node:crypto";
import { stateOf, type Eni } from "./eni-store.ts";

/** The account that owns the emulated instances. */
const INSTANCE_ACCOUNT_ID = "100012345678";

/** ECM's time format, "YYYY-MM-DD HH:MM:SS", in China Standard Time (UTC+8) as the service reports it. */
function ecmTime(ms: number): string {
  return new Date(ms + 8 * 3_600_000).toISOString().replace("T", " ").slice(0, 19);
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** The fields of ECM's NetworkInterface that the emulator fills. */
export type NetworkInterfaceItem = {
  NetworkInterfaceId: string;
  NetworkInterfaceName: string;
  NetworkInterfaceDescription: string;
  SubnetId: string;
  VpcId: string;
  GroupSet: string[];
  Primary: boolean;
  MacAddress: string;
  State: string;
  PrivateIpAddressSet: {
    PrivateIpAddress: string;
    Primary: boolean;
    PublicIpAddress: string | null;
    AddressId: string | null;
    Description: string;
    IsWanIpBlocked: boolean;
    State: string;
  }[];
  Attachment: { InstanceId: string; DeviceIndex: number; InstanceAccountId: string; AttachTime: string } | null;
  Zone: string;
  CreatedTime: string;
  Ipv6AddressSet: string[];
  TagSet: { Key: string; Value: string }[];
  EniType: number;
  EcmRegion: string;
};

export function networkInterfaceItem(eni: Eni): NetworkInterfaceItem {
  const regionHash = digest(eni.region).toString("hex");
  const idBytes = digest(eni.id);
  const hex = (i: number): string => idBytes.subarray(i, i + 1).toString("hex");
  return {
    NetworkInterfaceId: eni.id,
    NetworkInterfaceName: eni.id,
    NetworkInterfaceDescription: "",
    SubnetId: `subnet-${regionHash.slice(8, 16)}`,
    VpcId: `vpc-${regionHash.slice(0, 8)}`,
    GroupSet: [],
    Primary: false,
    MacAddress: `20:90:6f:${hex(0)}:${hex(1)}:${hex(2)}`,
    State: stateOf(eni),
    PrivateIpAddressSet: [
      {
        PrivateIpAddress: `10.${idBytes[3] ?? 0}.${idBytes[4] ?? 0}.${((idBytes[5] ?? 0) % 253) + 2}`,
        Primary: true,
        PublicIpAddress: null,
        AddressId: null,
        Description: "",
        IsWanIpBlocked: false,
        State: "AVAILABLE",
      },
    ],
    Attachment:
      eni.attachment === null
        ? null
        : {
            InstanceId: eni.attachment.instanceId,
            DeviceIndex: eni.attachment.deviceIndex,
            InstanceAccountId: INSTANCE_ACCOUNT_ID,
            AttachTime: ecmTime(eni.attachment.attachedAtMs),
          },
    Zone: `${eni.region}-1`,
    CreatedTime: ecmTime(eni.createdAtMs),
    Ipv6AddressSet: [],
    TagSet: [],
    EniType: 0,
    EcmRegion: eni.region,
  };
}
