import type { V1Secret } from "@kubernetes/client-node";
import type { CredentialSource, EcmCredential } from "../ecm/credentials.ts";

/** Looks a Secret up in the operator's Secret cache. */
export type SecretLookup = (namespace: string, name: string) => V1Secret | undefined;

/**
 * Credentials from a resource's credentialsSecretRef (keys secretId, secretKey, optional token), read
 * from the cache on every call so that a changed Secret is used without a restart.
 */
export class SecretCredentials implements CredentialSource {
  private readonly lookup: SecretLookup;
  private readonly namespace: string;
  private readonly name: string;

  constructor(lookup: SecretLookup, namespace: string, name: string) {
    this.lookup = lookup;
    this.namespace = namespace;
    this.name = name;
  }

  getCredential(): Promise<EcmCredential> {
    const where = `Secret ${this.namespace}/${this.name}`;
    const secret = this.lookup(this.namespace, this.name);
    if (!secret) return Promise.reject(new Error(`${where} (spec.credentialsSecretRef) was not found`));
    const secretId = decode(secret, "secretId");
    const secretKey = decode(secret, "secretKey");
    if (!secretId || !secretKey) {
      return Promise.reject(new Error(`${where} must have non-empty keys secretId and secretKey`));
    }
    const token = decode(secret, "token");
    return Promise.resolve(token ? { secretId, secretKey, token } : { secretId, secretKey });
  }
}

function decode(secret: V1Secret, key: string): string | undefined {
  const encoded = secret.data?.[key];
  return encoded ? Buffer.from(encoded, "base64").toString("utf8").trim() : undefined;
}
