// The samples in deploy/samples/ and how the emulator's ENIs start out, so that each sample has a story.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { Credential } from "../emulator/authenticate.ts";
import type { SeedEni } from "../emulator/eni-store.ts";

export const NAMESPACE = "eni-demo";
/** As the user types it, relative to the repository root. */
export const SAMPLES_DIR = "deploy/samples/";
const CREDENTIALS_SAMPLE = "with-credentials.yaml";
export const CREDENTIALS_SECRET = "team-ecm-credentials";

export interface Sample {
  resource: string;
  eni: string;
  instance: string;
  region: string;
  /** How the ENI starts out in the emulator, and what the operator is expected to do about it. */
  startsAttached: boolean;
  story: string;
}

export const WEB_PRIMARY: Sample = {
  resource: "web-primary",
  eni: "eni-m6dyj72l",
  instance: "ein-hcs7jkg4",
  region: "ap-xian-ecm",
  startsAttached: false,
  story: "free: the operator attaches it",
};

export const BATCH_SECONDARY: Sample = {
  resource: "batch-secondary",
  eni: "eni-dqcedwp7",
  instance: "ein-05ihbvco",
  region: "ap-hangzhou-ecm",
  startsAttached: true,
  story: "attached, desiredState Detached: the operator detaches it",
};

export const EDGE_GATEWAY: Sample = {
  resource: "edge-gateway",
  eni: "eni-12121212",
  instance: "ins-11221122",
  region: "ap-ningbo-ecm-ct2",
  startsAttached: true,
  story: "already attached: nothing to call (own credentials, deletionPolicy Orphan)",
};

export const SAMPLES: readonly Sample[] = [WEB_PRIMARY, BATCH_SECONDARY, EDGE_GATEWAY];

export function seedEnis(): SeedEni[] {
  return SAMPLES.map((s) => ({
    networkInterfaceId: s.eni,
    ecmRegion: s.region,
    ...(s.startsAttached ? { attachedInstanceId: s.instance } : {}),
  }));
}

/** The credential in the sample Secret, so the emulator accepts what edge-gateway's calls are signed with. */
export async function sampleSecretCredential(repoRoot: string): Promise<Credential> {
  const file = join(repoRoot, SAMPLES_DIR, CREDENTIALS_SAMPLE);
  for (const doc of parseAllDocuments(await readFile(file, "utf8"))) {
    const value = doc.toJS() as {
      kind?: string;
      metadata?: { name?: string };
      stringData?: { secretId?: string; secretKey?: string };
    } | null;
    const { secretId, secretKey } = value?.stringData ?? {};
    if (value?.kind === "Secret" && value.metadata?.name === CREDENTIALS_SECRET && secretId && secretKey) {
      return { secretId, secretKey };
    }
  }
  throw new Error(
    `${SAMPLES_DIR}${CREDENTIALS_SAMPLE} has no Secret ${CREDENTIALS_SECRET} with stringData secretId and secretKey`,
  );
}
