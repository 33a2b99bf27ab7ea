/** Tencent Cloud credentials for one ECM call. Values never reach logs, events, status or metrics. */
export interface EcmCredential {
  readonly secretId: string;
  readonly secretKey: string;
  readonly token?: string;
}

/**
 * Where a call's credentials come from. `identity` names the source without revealing it (a Secret's
 * namespace/name, or "operator"), so calls for one account can be batched together.
 */
export interface CredentialSource {
  readonly identity: string;
  getCredential(): Promise<EcmCredential>;
}

/** A credential source that refuses with a code of the error table (otherwise Credentials.Unavailable). */
export class CredentialsError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CredentialsError";
    this.code = code;
  }
}
