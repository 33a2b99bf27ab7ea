// What a user sees when `kubectl apply` meets a bad EniAttachment: the API server alone (the OpenAPI
// schema and CEL rules of the committed CRD, no operator running) rejects it with a message naming the
// field and, where the schema has one, a valid example, and stores nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eniAttachmentCrd } from "../../src/api/crd.ts";
import { API_VERSION, KIND, type EniAttachment } from "../../src/api/eniattachment.ts";
import { DEFAULT_REGIONS } from "../emulator/regions.ts";
import { kubectl, testNamespace, type TestNamespace } from "../support/cluster.ts";

const VALID = { networkInterfaceId: "eni-m6dyj72l", instanceId: "ein-hcs7jkg4", ecmRegion: "ap-xian-ecm" } as const;
const DEFAULTS = { desiredState: "Attached", deletionPolicy: "Detach", managementPolicy: "Manage" } as const;

// The schema's own words, as kubectl prints them.
const ENI_RULE = "must be 'eni-' followed by 8 lower-case letters or digits, for example eni-m6dyj72l";
const INSTANCE_RULE = "must be 'ein-' or 'ins-' followed by 8 lower-case letters or digits, for example ein-hcs7jkg4";
const REGION_RULE = "must be a lower-case ECM region, for example ap-xian-ecm";
const SECRET_RULE = "must be a Secret name (a DNS subdomain), for example ecm-credentials";
const IMMUTABLE = "is immutable: create a new EniAttachment instead";

type Json = Record<string, unknown>;

/** An EniAttachment as JSON for `kubectl apply -f -`; fields set to undefined are left out. */
function manifest(name: string, spec: Json | undefined, topLevel: Json = {}): string {
  return JSON.stringify({ apiVersion: API_VERSION, kind: KIND, metadata: { name }, spec, ...topLevel });
}

/** The line kubectl prints for a value the schema refuses. */
function invalid(field: string, value: string, rule: string): string {
  return `${field}: Invalid value: ${JSON.stringify(value)}: ${rule}`;
}

const apply = (namespace: string, input: string, ...flags: string[]) =>
  kubectl(["apply", "-n", namespace, ...flags, "-f", "-"], { input });

async function names(namespace: string): Promise<string> {
  const listed = await kubectl(["get", "enia", "-n", namespace, "-o", "name"]);
  expect(listed.stderr).toBe("");
  return listed.stdout;
}

async function getEnia(namespace: string, name: string): Promise<EniAttachment> {
  const got = await kubectl(["get", "enia", name, "-n", namespace, "-o", "json"]);
  expect(got.stderr).toBe("");
  return JSON.parse(got.stdout) as EniAttachment;
}

interface Rejection {
  /** What the user wrote, for the test's name. */
  what: string;
  /** undefined: the manifest has no spec. */
  spec: Json | undefined;
  topLevel?: Json;
  /** The field path the message must name. */
  field: string;
  /** Lines (or parts of lines) stderr must contain. */
  says: readonly string[];
}

const eni = (value: string, why: string): Rejection => ({
  what: `networkInterfaceId '${value}' (${why})`,
  spec: { ...VALID, networkInterfaceId: value },
  field: "spec.networkInterfaceId",
  says: [invalid("spec.networkInterfaceId", value, ENI_RULE)],
});
const instance = (value: string, why: string): Rejection => ({
  what: `instanceId '${value}' (${why})`,
  spec: { ...VALID, instanceId: value },
  field: "spec.instanceId",
  says: [invalid("spec.instanceId", value, INSTANCE_RULE)],
});
const region = (value: string, why: string): Rejection => ({
  what: `ecmRegion '${value}' (${why})`,
  spec: { ...VALID, ecmRegion: value },
  field: "spec.ecmRegion",
  says: [invalid("spec.ecmRegion", value, REGION_RULE)],
});

const rejections: readonly Rejection[] = [
  eni("nic-m6dyj72l", "wrong prefix"),
  eni("eni-m6dyj72", "too short"),
  eni("eni-ABCDEFGH", "upper case"),
  eni("eni-m6dyj72lx", "too long"),
  eni("eni-0a1b2c3d4e5f67890", "an AWS-style id"),
  eni("eni-m6dyj72l ", "trailing space"),
  eni("", "empty"),
  {
    what: "networkInterfaceId of 100 characters (over the 64-byte limit)",
    spec: { ...VALID, networkInterfaceId: `eni-${"a".repeat(96)}` },
    field: "spec.networkInterfaceId",
    says: ["spec.networkInterfaceId: Too long: may not be more than 64 bytes"],
  },
  instance("vm-hcs7jkg4", "wrong prefix"),
  instance("ins-1122112", "too short"),
  instance("INS-11221122", "upper case"),
  {
    what: "instanceId 11221122 (a number, not a string)",
    spec: { ...VALID, instanceId: 11221122 },
    field: "spec.instanceId",
    says: ["spec.instanceId in body must be of type string"],
  },
  region("AP-XIAN-ECM", "upper case"),
  region("ap_xian_ecm", "malformed"),
  region("ap-xian", "missing -ecm"),
  region("ap-xian-ecm-", "empty suffix"),
  {
    what: "desiredState 'attached' (not one of the enum values)",
    spec: { ...VALID, desiredState: "attached" },
    field: "spec.desiredState",
    says: ['spec.desiredState: Unsupported value: "attached": supported values: "Attached", "Detached"'],
  },
  {
    what: "desiredState 'Deleted' (not one of the enum values)",
    spec: { ...VALID, desiredState: "Deleted" },
    field: "spec.desiredState",
    says: ['spec.desiredState: Unsupported value: "Deleted": supported values: "Attached", "Detached"'],
  },
  {
    what: "deletionPolicy 'Delete' (not one of the enum values)",
    spec: { ...VALID, deletionPolicy: "Delete" },
    field: "spec.deletionPolicy",
    says: ['spec.deletionPolicy: Unsupported value: "Delete": supported values: "Detach", "Orphan"'],
  },
  {
    what: "unknown spec field 'foo'",
    spec: { ...VALID, foo: "bar" },
    field: "spec.foo",
    says: ['unknown field "spec.foo"'],
  },
  {
    what: "spec field typo 'networkInterfaceID'",
    spec: { ...VALID, networkInterfaceId: undefined, networkInterfaceID: VALID.networkInterfaceId },
    field: "spec.networkInterfaceID",
    says: ['unknown field "spec.networkInterfaceID"'],
  },
  {
    what: "unknown credentialsSecretRef field 'key'",
    spec: { ...VALID, credentialsSecretRef: { name: "ecm-credentials", key: "secretId" } },
    field: "spec.credentialsSecretRef.key",
    says: ['unknown field "spec.credentialsSecretRef.key"'],
  },
  {
    what: "unknown top-level field 'specs' beside spec",
    spec: VALID,
    topLevel: { specs: { desiredState: "Detached" } },
    field: "specs",
    says: ['unknown field "specs"'],
  },
  {
    what: "a spec without networkInterfaceId",
    spec: { ...VALID, networkInterfaceId: undefined },
    field: "spec.networkInterfaceId",
    says: ["spec.networkInterfaceId: Required value"],
  },
  {
    what: "no spec at all",
    spec: undefined,
    field: "spec",
    says: ["spec: Required value"],
  },
  {
    what: "an empty spec (every required field named)",
    spec: {},
    field: "spec.networkInterfaceId",
    says: [
      "spec.networkInterfaceId: Required value",
      "spec.instanceId: Required value",
      "spec.ecmRegion: Required value",
    ],
  },
  {
    what: "credentialsSecretRef without name",
    spec: { ...VALID, credentialsSecretRef: {} },
    field: "spec.credentialsSecretRef.name",
    says: ["spec.credentialsSecretRef.name: Required value"],
  },
  {
    what: "credentialsSecretRef name 'ECM_Credentials' (not a DNS subdomain)",
    spec: { ...VALID, credentialsSecretRef: { name: "ECM_Credentials" } },
    field: "spec.credentialsSecretRef.name",
    says: [invalid("spec.credentialsSecretRef.name", "ECM_Credentials", SECRET_RULE)],
  },
  {
    what: "three bad ids at once (every field named)",
    spec: { networkInterfaceId: "eni-1", instanceId: "i-1", ecmRegion: "xian" },
    field: "spec.networkInterfaceId",
    says: [
      invalid("spec.networkInterfaceId", "eni-1", ENI_RULE),
      invalid("spec.instanceId", "i-1", INSTANCE_RULE),
      invalid("spec.ecmRegion", "xian", REGION_RULE),
    ],
  },
];

describe("kubectl apply of an invalid EniAttachment", () => {
  let ns: TestNamespace;
  beforeAll(async () => {
    ns = await testNamespace("validation-rejected");
  });
  afterAll(async () => {
    await ns.cleanup();
  });

  it.each(rejections.map((rejection, i) => ({ ...rejection, name: `bad-${i + 1}` })))(
    "rejects $what, naming the field, and creates nothing",
    async ({ name, spec, topLevel, field, says }) => {
      const result = await apply(ns.name, manifest(name, spec, topLevel));
      expect(result.code).not.toBe(0);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain(field);
      for (const line of says) expect(result.stderr).toContain(line);
      expect(await names(ns.name)).toBe("");
    },
  );

  it("rejects a plain apply exactly as --dry-run=server does, so trying it first is not needed", async () => {
    const input = manifest("rehearsed", { ...VALID, networkInterfaceId: "eni-ABCDEFGH", desiredState: "Detached" });
    const rehearsal = await apply(ns.name, input, "--dry-run=server");
    const real = await apply(ns.name, input);
    expect(rehearsal.code).not.toBe(0);
    expect(real.code).not.toBe(0);
    expect(real.stderr).toContain(invalid("spec.networkInterfaceId", "eni-ABCDEFGH", ENI_RULE));
    expect(real.stderr).toBe(rehearsal.stderr);
    expect(await names(ns.name)).toBe("");
  });
});

describe("kubectl apply changing an immutable field of an existing EniAttachment", () => {
  let ns: TestNamespace;
  let before: EniAttachment;
  beforeAll(async () => {
    ns = await testNamespace("validation-immutable");
    const created = await apply(ns.name, manifest("existing", VALID));
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    before = await getEnia(ns.name, "existing");
  });
  afterAll(async () => {
    await ns.cleanup();
  });

  const changes = [
    { field: "networkInterfaceId", to: "eni-aaaaaaaa" },
    { field: "instanceId", to: "ins-11221122" },
    { field: "ecmRegion", to: "ap-ningbo-ecm-ct2" },
  ] as const;

  it.each(changes)(
    "refuses $field '$to' (valid, but a change), says to create a new resource, and changes nothing",
    async ({ field, to }) => {
      // desiredState is mutable: it must not slip through when the rest of the update is refused.
      const result = await apply(ns.name, manifest("existing", { ...VALID, [field]: to, desiredState: "Detached" }));
      expect(result.code).not.toBe(0);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain(invalid(`spec.${field}`, to, IMMUTABLE));

      const after = await getEnia(ns.name, "existing");
      expect(after.spec).toEqual({ ...VALID, ...DEFAULTS });
      expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
      expect(after.metadata.generation).toBe(before.metadata.generation);
      const shown = await kubectl(["get", "enia", "existing", "-n", ns.name, "--no-headers"]);
      expect(shown.stdout).toContain(VALID[field]);
      expect(shown.stdout).not.toContain(to);
    },
  );
});

describe("kubectl apply of a valid EniAttachment", () => {
  let ns: TestNamespace;
  beforeAll(async () => {
    ns = await testNamespace("validation-accepted");
  });
  afterAll(async () => {
    await ns.cleanup();
  });

  const accepted = [
    {
      what: "the smallest spec ('ein-hcs7jkg4', 'ap-xian-ecm'), with the defaults filled in",
      name: "smallest",
      spec: VALID,
      stored: { ...VALID, ...DEFAULTS },
    },
    {
      what: "instanceId 'ins-11221122' in region 'ap-ningbo-ecm-ct2'",
      name: "ningbo",
      spec: { ...VALID, instanceId: "ins-11221122", ecmRegion: "ap-ningbo-ecm-ct2" },
      stored: { ...VALID, instanceId: "ins-11221122", ecmRegion: "ap-ningbo-ecm-ct2", ...DEFAULTS },
    },
    {
      what: "every optional field: Detached, Orphan, Observe and credentialsSecretRef 'ecm-credentials'",
      name: "everything",
      spec: {
        ...VALID,
        desiredState: "Detached",
        deletionPolicy: "Orphan",
        managementPolicy: "Observe",
        credentialsSecretRef: { name: "ecm-credentials" },
      },
      stored: {
        ...VALID,
        desiredState: "Detached",
        deletionPolicy: "Orphan",
        managementPolicy: "Observe",
        credentialsSecretRef: { name: "ecm-credentials" },
      },
    },
    {
      what: "all-digit ids 'eni-12345678' and 'ins-00000000', region 'ap-xian-ecm-cu', Secret 'ecm.credentials-2'",
      name: "digits",
      spec: {
        networkInterfaceId: "eni-12345678",
        instanceId: "ins-00000000",
        ecmRegion: "ap-xian-ecm-cu",
        credentialsSecretRef: { name: "ecm.credentials-2" },
      },
      stored: {
        networkInterfaceId: "eni-12345678",
        instanceId: "ins-00000000",
        ecmRegion: "ap-xian-ecm-cu",
        credentialsSecretRef: { name: "ecm.credentials-2" },
        ...DEFAULTS,
      },
    },
  ] as const;

  it.each(accepted)("accepts $what", async ({ name, spec, stored }) => {
    const result = await apply(ns.name, manifest(name, spec));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(`eniattachment.ecm.eni-operator.io/${name} created`);
    expect((await getEnia(ns.name, name)).spec).toEqual(stored);
  });

  it(`accepts every region the ECM emulator knows (${DEFAULT_REGIONS.length})`, async () => {
    const list = {
      apiVersion: "v1",
      kind: "List",
      items: DEFAULT_REGIONS.map((ecmRegion) => ({
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: `region-${ecmRegion}` },
        spec: { ...VALID, ecmRegion },
      })),
    };
    const result = await apply(ns.name, JSON.stringify(list));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split("\n")).toEqual(
      DEFAULT_REGIONS.map((ecmRegion) => `eniattachment.ecm.eni-operator.io/region-${ecmRegion} created`),
    );
  });

  it("accepts changes to desiredState, deletionPolicy and managementPolicy, and re-applying the same manifest", async () => {
    const first = await apply(ns.name, manifest("mutable", VALID));
    expect(first.code).toBe(0);
    const changed = { ...VALID, desiredState: "Detached", deletionPolicy: "Orphan", managementPolicy: "Observe" };
    const update = await apply(ns.name, manifest("mutable", changed));
    expect(update.stderr).toBe("");
    expect(update.code).toBe(0);
    expect(update.stdout.trim()).toBe("eniattachment.ecm.eni-operator.io/mutable configured");
    const again = await apply(ns.name, manifest("mutable", changed));
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe("eniattachment.ecm.eni-operator.io/mutable unchanged");
    expect((await getEnia(ns.name, "mutable")).spec).toEqual(changed);
  });
});

describe("kubectl explain", () => {
  const specFields = eniAttachmentCrd().spec.versions[0]?.schema?.openAPIV3Schema?.properties?.["spec"]?.properties;
  const documented = Object.entries(specFields ?? {}).map(([field, schema]) => ({
    field,
    description: schema.description ?? "",
  }));

  it.each(documented)("documents spec.$field with the schema's description", async ({ field, description }) => {
    const explained = await kubectl(["explain", `eniattachment.spec.${field}`]);
    expect(explained.stderr).toBe("");
    expect(explained.code).toBe(0);
    expect(explained.stdout).toContain(`FIELD: ${field} <`);
    expect(description).not.toBe("");
    // kubectl wraps long descriptions.
    expect(explained.stdout.replace(/\s+/g, " ")).toContain(description);
  });

  it("shows networkInterfaceId's description and marks it required", async () => {
    const field = await kubectl(["explain", "eniattachment.spec.networkInterfaceId"]);
    expect(field.stdout).toContain("ID of the ECM elastic network interface. Immutable.");
    const spec = await kubectl(["explain", "eniattachment.spec"]);
    expect(spec.stdout).toMatch(/networkInterfaceId\s+<string> -required-/);
  });
});
