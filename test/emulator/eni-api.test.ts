import type { Agent } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ecmClient, loopbackAgent, sdkError } from "./clients.ts";
import { startEmulator, type RunningEmulator } from "./server.ts";

const REGION = "ap-xian-ecm";
const INSTANCE = "ein-hcs7jkg4";
const OTHER_INSTANCE = "ins-11221122";
const TRANSITION_MS = 150;
const ECM_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;

let emulator: RunningEmulator;
let agent: Agent;
let client: ReturnType<typeof ecmClient>;

beforeAll(async () => {
  emulator = await startEmulator({ transitionMs: TRANSITION_MS });
  agent = loopbackAgent(emulator.port);
  client = ecmClient(agent);
});
afterAll(async () => {
  agent.destroy();
  await emulator.close();
});
beforeEach(async () => {
  await emulator.control.reset();
  await emulator.control.addEnis([
    { networkInterfaceId: "eni-attached", ecmRegion: REGION, attachedInstanceId: INSTANCE },
    { networkInterfaceId: "eni-detached", ecmRegion: REGION },
    { networkInterfaceId: "eni-elsewher", ecmRegion: REGION, attachedInstanceId: OTHER_INSTANCE },
    { networkInterfaceId: "eni-hangzhou", ecmRegion: "ap-hangzhou-ecm", attachedInstanceId: "ein-hangzhou" },
  ]);
});

function detach(eniId: string, instanceId = INSTANCE, region = REGION) {
  return client.request("DetachNetworkInterface", {
    NetworkInterfaceId: eniId,
    InstanceId: instanceId,
    EcmRegion: region,
  });
}

function attach(eniId: string, instanceId = INSTANCE, region = REGION) {
  return client.request("AttachNetworkInterface", {
    NetworkInterfaceId: eniId,
    InstanceId: instanceId,
    EcmRegion: region,
  });
}

async function describeOne(eniId: string) {
  const { NetworkInterfaceSet } = await client.describe({ EcmRegion: REGION, NetworkInterfaceIds: [eniId] });
  expect(NetworkInterfaceSet).toHaveLength(1);
  return NetworkInterfaceSet[0];
}

describe("DetachNetworkInterface", () => {
  it("detaches an ENI attached to the instance: DETACHING, still attached, for the transition, then AVAILABLE", async () => {
    const { RequestId } = await detach("eni-attached");
    expect(RequestId).toBeTypeOf("string");
    expect(await describeOne("eni-attached")).toMatchObject({
      State: "DETACHING",
      Attachment: { InstanceId: INSTANCE },
    });
    await sleep(TRANSITION_MS + 20);
    expect(await describeOne("eni-attached")).toMatchObject({ State: "AVAILABLE", Attachment: null });
    expect((await emulator.control.enis()).find((eni) => eni.networkInterfaceId === "eni-attached")).toEqual({
      networkInterfaceId: "eni-attached",
      ecmRegion: REGION,
      state: "AVAILABLE",
      attachedInstanceId: null,
    });
  });

  it("answers UnsupportedOperation.AttachmentNotFound for an ENI not attached to that instance", async () => {
    expect((await sdkError(detach("eni-detached"))).code).toBe("UnsupportedOperation.AttachmentNotFound");
    expect((await sdkError(detach("eni-elsewher"))).code).toBe("UnsupportedOperation.AttachmentNotFound");
    expect(await describeOne("eni-elsewher")).toMatchObject({
      State: "AVAILABLE",
      Attachment: { InstanceId: OTHER_INSTANCE },
    });
  });

  it("answers the configured code for an ENI that is already detached", async () => {
    await emulator.control.settings({ alreadyDetachedCode: "UnsupportedOperation.InvalidState" });
    expect((await sdkError(detach("eni-detached"))).code).toBe("UnsupportedOperation.InvalidState");
  });

  it("answers ResourceNotFound for an unknown ENI or one of another region", async () => {
    expect((await sdkError(detach("eni-unknown1"))).code).toBe("ResourceNotFound");
    expect((await sdkError(detach("eni-hangzhou", "ein-hangzhou"))).code).toBe("ResourceNotFound");
  });

  it("answers UnsupportedOperation.InvalidState while the ENI is DETACHING or ATTACHING", async () => {
    await detach("eni-attached");
    expect((await sdkError(detach("eni-attached"))).code).toBe("UnsupportedOperation.InvalidState");
    expect((await sdkError(attach("eni-attached"))).code).toBe("UnsupportedOperation.InvalidState");
    await attach("eni-detached");
    expect((await sdkError(detach("eni-detached"))).code).toBe("UnsupportedOperation.InvalidState");
  });

  it("lets exactly one of several simultaneous detaches of an ENI succeed", async () => {
    const codes = await Promise.all(
      Array.from({ length: 8 }, () =>
        detach("eni-attached").then(
          () => "Success",
          (error: unknown) => (error as { code?: string }).code,
        ),
      ),
    );
    expect(codes.filter((code) => code === "Success")).toHaveLength(1);
    expect(codes.filter((code) => code === "UnsupportedOperation.InvalidState")).toHaveLength(7);
  });
});

describe("AttachNetworkInterface", () => {
  it("attaches an unattached ENI: ATTACHING, not yet attached, for the transition, then attached", async () => {
    await attach("eni-detached");
    expect(await describeOne("eni-detached")).toMatchObject({ State: "ATTACHING", Attachment: null });
    await sleep(TRANSITION_MS + 20);
    const item = await describeOne("eni-detached");
    expect(item).toMatchObject({
      State: "AVAILABLE",
      Attachment: { InstanceId: INSTANCE, DeviceIndex: 2, InstanceAccountId: expect.stringMatching(/^\d+$/) as string },
    });
    expect(item?.Attachment?.AttachTime).toMatch(ECM_TIME);
  });

  it("answers UnsupportedOperation.AttachmentAlreadyExists for an attached ENI", async () => {
    expect((await sdkError(attach("eni-attached"))).code).toBe("UnsupportedOperation.AttachmentAlreadyExists");
    expect((await sdkError(attach("eni-elsewher"))).code).toBe("UnsupportedOperation.AttachmentAlreadyExists");
  });
});

describe("parameter checks", () => {
  it.each([
    ["a missing InstanceId", { NetworkInterfaceId: "eni-attached", EcmRegion: REGION }, "MissingParameter"],
    ["a missing EcmRegion", { NetworkInterfaceId: "eni-attached", InstanceId: INSTANCE }, "MissingParameter"],
    [
      "an unknown parameter",
      { NetworkInterfaceId: "eni-attached", InstanceId: INSTANCE, EcmRegion: REGION, Force: true },
      "UnknownParameter",
    ],
    [
      "a malformed ENI id",
      { NetworkInterfaceId: "eni-ATTACHED", InstanceId: INSTANCE, EcmRegion: REGION },
      "InvalidParameterValue.Malformed",
    ],
    [
      "a malformed instance id",
      { NetworkInterfaceId: "eni-attached", InstanceId: "i-123", EcmRegion: REGION },
      "InvalidParameterValue.Malformed",
    ],
    [
      "an unknown region",
      { NetworkInterfaceId: "eni-attached", InstanceId: INSTANCE, EcmRegion: "ap-atlantis-ecm" },
      "InvalidParameterValue.InvalidRegion",
    ],
    [
      "a number for a string",
      { NetworkInterfaceId: 42, InstanceId: INSTANCE, EcmRegion: REGION },
      "InvalidParameter.InvalidDataFormat",
    ],
  ])("answers %s with its code and changes nothing", async (_case, params, code) => {
    const error = await sdkError(client.request("DetachNetworkInterface", params));
    expect(error.code).toBe(code);
    expect(error.requestId).toBeTypeOf("string");
    expect(await describeOne("eni-attached")).toMatchObject({
      State: "AVAILABLE",
      Attachment: { InstanceId: INSTANCE },
    });
  });

  it("answers InvalidAction for an action it does not serve and NoSuchVersion for another version", async () => {
    expect((await sdkError(client.request("CreateNetworkInterface", { EcmRegion: REGION }))).code).toBe(
      "InvalidAction",
    );
    const oldClient = ecmClient(agent, undefined, "2017-03-12");
    expect((await sdkError(oldClient.describe({ EcmRegion: REGION }))).code).toBe("NoSuchVersion");
  });
});

describe("DescribeNetworkInterfaces", () => {
  it("returns ECM's fields for each ENI of the region", async () => {
    const response = await client.describe({ EcmRegion: REGION });
    expect(response.TotalCount).toBe(3);
    const item = response.NetworkInterfaceSet.find((eni) => eni.NetworkInterfaceId === "eni-attached");
    expect(item).toMatchObject({
      NetworkInterfaceId: "eni-attached",
      State: "AVAILABLE",
      EcmRegion: REGION,
      Primary: false,
      Attachment: { InstanceId: INSTANCE, DeviceIndex: 1 },
      TagSet: [],
    });
    expect(item?.VpcId).toMatch(/^vpc-[a-z0-9]{8}$/);
    expect(item?.SubnetId).toMatch(/^subnet-[a-z0-9]{8}$/);
    expect(item?.MacAddress).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    expect(item?.PrivateIpAddressSet[0]?.PrivateIpAddress).toMatch(/^10\.\d+\.\d+\.\d+$/);
    expect(item?.CreatedTime).toMatch(ECM_TIME);
  });

  it("selects by ids, skipping unknown ones, and by filters", async () => {
    const byIds = await client.describe({ EcmRegion: REGION, NetworkInterfaceIds: ["eni-detached", "eni-unknown1"] });
    expect(byIds.NetworkInterfaceSet.map((eni) => eni.NetworkInterfaceId)).toEqual(["eni-detached"]);
    const byInstance = await client.describe({
      EcmRegion: REGION,
      Filters: [{ Name: "attachment.instance-id", Values: [INSTANCE, OTHER_INSTANCE] }],
    });
    expect(byInstance.NetworkInterfaceSet.map((eni) => eni.NetworkInterfaceId)).toEqual([
      "eni-attached",
      "eni-elsewher",
    ]);
    const both = await client.describe({
      EcmRegion: REGION,
      Filters: [
        { Name: "attachment.instance-id", Values: [INSTANCE, OTHER_INSTANCE] },
        { Name: "network-interface-id", Values: ["eni-elsewher", "eni-detached"] },
      ],
    });
    expect(both.NetworkInterfaceSet.map((eni) => eni.NetworkInterfaceId)).toEqual(["eni-elsewher"]);
  });

  it("pages with Offset and Limit, reporting the TotalCount of all matches", async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `eni-page${String(i).padStart(4, "0")}`);
    await emulator.control.addEnis(ids.map((id) => ({ networkInterfaceId: id, ecmRegion: "ap-ningbo-ecm-ct2" })));
    const first = await client.describe({ EcmRegion: "ap-ningbo-ecm-ct2" });
    expect(first.TotalCount).toBe(30);
    expect(first.NetworkInterfaceSet.map((eni) => eni.NetworkInterfaceId)).toEqual(ids.slice(0, 20));
    const last = await client.describe({ EcmRegion: "ap-ningbo-ecm-ct2", Offset: 25, Limit: 10 });
    expect(last.TotalCount).toBe(30);
    expect(last.NetworkInterfaceSet.map((eni) => eni.NetworkInterfaceId)).toEqual(ids.slice(25));
  });

  it.each([
    [
      "ids and filters together",
      { NetworkInterfaceIds: ["eni-attached"], Filters: [{ Name: "vpc-id", Values: ["vpc-1"] }] },
      "InvalidParameter.Coexist",
    ],
    [
      "more than 100 ids",
      { NetworkInterfaceIds: Array.from({ length: 101 }, (_, i) => `eni-${String(i).padStart(8, "0")}`) },
      "InvalidParameterValue.LimitExceeded",
    ],
    ["a Limit over 100", { Limit: 101 }, "InvalidParameterValue.LimitExceeded"],
    ["an unknown filter", { Filters: [{ Name: "colour", Values: ["red"] }] }, "InvalidParameterValue.InvalidFilter"],
    ["a malformed id", { NetworkInterfaceIds: ["eni-1"] }, "InvalidParameterValue.Malformed"],
    ["a negative Offset", { Offset: -1 }, "InvalidParameter.InvalidDataFormat"],
  ])("answers %s with its code", async (_case, params, code) => {
    expect((await sdkError(client.describe({ EcmRegion: REGION, ...params }))).code).toBe(code);
  });

  it("requires EcmRegion", async () => {
    expect((await sdkError(client.describe({}))).code).toBe("MissingParameter");
  });
});

describe("Describe lag (eventual consistency)", () => {
  it("shows an accepted detach only once describeLagMs has passed, while the control API shows the truth", async () => {
    await emulator.control.settings({ describeLagMs: 400 });
    await detach("eni-attached");
    const early = await describeOne("eni-attached");
    expect(early).toMatchObject({ State: "AVAILABLE", Attachment: { InstanceId: INSTANCE } });
    expect((await emulator.control.enis()).find((e) => e.networkInterfaceId === "eni-attached")).toMatchObject({
      state: "DETACHING",
    });
    // A second detach meets the real state, not the lagging one.
    await expect(detach("eni-attached")).rejects.toMatchObject({ code: "UnsupportedOperation.InvalidState" });
    await sleep(450);
    expect(await describeOne("eni-attached")).toMatchObject({ State: "AVAILABLE", Attachment: null });
  });

  it("lags only the share of Describes describeLagShare says", async () => {
    await emulator.control.settings({ describeLagMs: 60_000, describeLagShare: 0 });
    await attach("eni-detached");
    expect(await describeOne("eni-detached")).toMatchObject({ State: "ATTACHING" });
    await emulator.control.settings({ describeLagShare: 0.5, quotaPerSecond: 1000 });
    const states: string[] = [];
    for (let i = 0; i < 60; i += 1) states.push((await describeOne("eni-detached"))?.State ?? "");
    const lagging = states.filter((state) => state === "AVAILABLE").length;
    // 60 fair draws: both kinds of answer appear (each is missing with probability 2^-60).
    expect(lagging).toBeGreaterThan(0);
    expect(lagging).toBeLessThan(60);
  });

  it("refuses a share outside [0, 1]", async () => {
    await expect(emulator.control.settings({ describeLagShare: 1.5 })).rejects.toThrow("describeLagShare");
  });
});
