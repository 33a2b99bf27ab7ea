import type { V1Secret } from "@kubernetes/client-node";
import { currentFailure } from "../api/current-failure.ts";
import type { EniAttachment } from "../api/eniattachment.ts";
import { CredentialsError, type CredentialSource, type EcmCredential } from "../ecm/credentials.ts";
import { LOCAL_CODES, classify } from "../ecm/errors.ts";
import type { SecretReader } from "./secret-reader.ts";

/**
 * Credentials from a resource's credentialsSecretRef (keys secretId, secretKey, optional token), read
 * with a GET when needed. `fresh` skips the reader's cache: a resource whose last call failed on its
 * credentials re-reads the Secret on every retry.
 */
export class SecretCredentials implements CredentialSource {
  private readonly reader: SecretReader;
  private readonly namespace: string;
  private readonly name: string;
  private readonly fresh: boolean;

  constructor(reader: SecretReader, namespace: string, name: string, fresh: boolean) {
    this.reader = reader;
    this.namespace = namespace;
    this.name = name;
    this.fresh = fresh;
  }

  async getCredential(): Promise<EcmCredential> {
    const where = `Secret ${this.namespace}/${this.name}`;
    let secret: V1Secret | undefined;
    try {
      secret = await this.reader.read(this.namespace, this.name, this.fresh);
    } catch (cause) {
      throw new Error(`${where} (spec.credentialsSecretRef) could not be read`, { cause });
    }
    if (!secret) throw new Error(`${where} (spec.credentialsSecretRef) was not found`);
    const secretId = decode(secret, "secretId");
    const secretKey = decode(secret, "secretKey");
    if (!secretId || !secretKey) throw new Error(`${where} must have non-empty keys secretId and secretKey`);
    const token = decode(secret, "token");
    return token ? { secretId, secretKey, token } : { secretId, secretKey };
  }
}

/** Where per-resource credentials are not enabled, a resource that names a Secret fails before any ECM call. */
export class PerResourceCredentialsDisabled implements CredentialSource {
  private readonly name: string;

  constructor(name: string) {
    this.name = name;
  }

  getCredential(): Promise<EcmCredential> {
    return Promise.reject(
      new CredentialsError(
        LOCAL_CODES.perResourceDisabled,
        `spec.credentialsSecretRef names Secret ${this.name}, but this installation does not enable per-resource credentials (--per-resource-credentials, chart value perResourceCredentials.enabled): remove credentialsSecretRef to use the operator's credentials`,
      ),
    );
  }
}

/** Whether the resource is failing on its credentials now (its last Describe, or its last call). */
export function failingOnCredentials(resource: EniAttachment): boolean {
  const failure = currentFailure(resource.status);
  return failure !== undefined && classify(failure.code, failure.action).class === "Credentials";
}

export interface ResourceCredentialsOptions {
  /** Whether spec.credentialsSecretRef is honoured. */
  readonly perResource: boolean;
  readonly secrets: SecretReader;
  /** For resources without credentialsSecretRef. */
  readonly operator: CredentialSource;
}

/** The credential source for a resource. */
export function resourceCredentials(
  options: ResourceCredentialsOptions,
): (resource: EniAttachment) => CredentialSource {
  return (resource) => {
    const ref = resource.spec.credentialsSecretRef;
    if (!ref) return options.operator;
    if (!options.perResource) return new PerResourceCredentialsDisabled(ref.name);
    const namespace = resource.metadata.namespace ?? "";
    return new SecretCredentials(options.secrets, namespace, ref.name, failingOnCredentials(resource));
  };
}

function decode(secret: V1Secret, key: string): string | undefined {
  const encoded = secret.data?.[key];
  return encoded ? Buffer.from(encoded, "base64").toString("utf8").trim() : undefined;
}
