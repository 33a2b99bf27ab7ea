import type { Secret } from "./secrets.ts";
import { currentFailure } from "../api/current-failure.ts";
import type { EniAttachment } from "../api/eniattachment.ts";
import { CredentialsError, type CredentialSource, type EcmCredential } from "../ecm/credentials.ts";
import { LOCAL_CODES, classify } from "../ecm/errors.ts";
import { CREDENTIALS_FINALIZER, type CredentialsFinalizer } from "./credentials-finalizer.ts";
import type { SecretReader } from "./secret-reader.ts";

/**
 * Credentials from a resource's credentialsSecretRef (keys secretId, secretKey, optional token), read
 * with a GET when needed. `fresh` skips the reader's cache: a resource whose last call failed on its
 * credentials re-reads the Secret on every retry. With `holds`, the Secret is held (its finalizer added)
 * before its credentials are handed to any ECM call.
 */
export class SecretCredentials implements CredentialSource {
  private readonly reader: SecretReader;
  private readonly holds: CredentialsFinalizer | undefined;
  private readonly namespace: string;
  private readonly name: string;
  private readonly fresh: boolean;

  constructor(
    reader: SecretReader,
    namespace: string,
    name: string,
    fresh: boolean,
    holds: CredentialsFinalizer | undefined,
  ) {
    this.reader = reader;
    this.holds = holds;
    this.namespace = namespace;
    this.name = name;
    this.fresh = fresh;
  }

  async getCredential(): Promise<EcmCredential> {
    const where = `Secret ${this.namespace}/${this.name}`;
    let secret: Secret | undefined;
    try {
      secret = await this.reader.read(this.namespace, this.name, this.fresh);
    } catch (cause) {
      throw new Error(`${where} (spec.credentialsSecretRef) could not be read`, { cause });
    }
    if (secret && this.holds) {
      try {
        secret = await this.holds.hold(this.namespace, this.name, secret);
      } catch (cause) {
        const detail = cause instanceof Error ? cause.message : String(cause);
        throw new Error(`${where} could not be held with finalizer ${CREDENTIALS_FINALIZER}: ${detail}`, { cause });
      }
    }
    if (!secret) {
      throw new CredentialsError(
        LOCAL_CODES.secretNotFound,
        `${where} (spec.credentialsSecretRef) was not found: create it again, or set deletionPolicy: Orphan to let a deleted resource go without detaching`,
      );
    }
    const secretId = base64Field(secret, "secretId");
    const secretKey = base64Field(secret, "secretKey");
    if (!secretId || !secretKey) throw new Error(`${where} must have non-empty keys secretId and secretKey`);
    const token = base64Field(secret, "token");
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

/**
 * Where the operator's own credentials are limited to some namespaces, a resource elsewhere that names
 * no Secret fails before any ECM call: whoever may create it there may not act with the operator's account.
 */
export class OperatorCredentialsNotAllowed implements CredentialSource {
  private readonly namespace: string;
  private readonly allowed: readonly string[];
  private readonly perResource: boolean;

  constructor(namespace: string, allowed: readonly string[], perResource: boolean) {
    this.namespace = namespace;
    this.allowed = allowed;
    this.perResource = perResource;
  }

  getCredential(): Promise<EcmCredential> {
    return Promise.reject(
      new CredentialsError(
        LOCAL_CODES.operatorCredentialsNotAllowed,
        `namespace ${this.namespace} may not use the operator's own credentials (only ${this.allowed.join(", ")}: --operator-credentials-namespaces, chart value credentials.allowedNamespaces): ${
          this.perResource
            ? "name a Secret of this namespace in spec.credentialsSecretRef"
            : "per-resource credentials are off too, so only an administrator can let it act (allow the namespace, or enable per-resource credentials)"
        }`,
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
  /** Holds each Secret while resources name it; per-resource credentials only. */
  readonly holds?: CredentialsFinalizer;
  /** For resources without credentialsSecretRef. */
  readonly operator: CredentialSource;
  /** Namespaces whose resources may use `operator`; empty: every namespace. */
  readonly operatorNamespaces: readonly string[];
}

/** The credential source for a resource. */
export function resourceCredentials(
  options: ResourceCredentialsOptions,
): (resource: EniAttachment) => CredentialSource {
  return (resource) => {
    const ref = resource.spec.credentialsSecretRef;
    const namespace = resource.metadata.namespace ?? "";
    if (!ref) {
      const allowed = options.operatorNamespaces;
      if (allowed.length === 0 || allowed.includes(namespace)) return options.operator;
      return new OperatorCredentialsNotAllowed(namespace, allowed, options.perResource);
    }
    if (!options.perResource) return new PerResourceCredentialsDisabled(ref.name);
    return new SecretCredentials(options.secrets, namespace, ref.name, failingOnCredentials(resource), options.holds);
  };
}

/** A key of the Secret's data, base64 taken off and trimmed. */
function base64Field(secret: Secret, key: string): string | undefined {
  const encoded = secret.data?.[key];
  return encoded ? Buffer.from(encoded, "base64").toString("utf8").trim() : undefined;
}
