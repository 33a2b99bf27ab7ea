/** Tencent Cloud credentials for one ECM call. Values never reach logs, events, status or metrics. */
export interface EcmCredential {
  readonly secretId: string;
  readonly secretKey: string;
  readonly token?: string;
}

/**
 * Where a call's credentials come from, read on every call. The account a call is counted against is
 * the SecretId the source resolves to, not the source itself: two Secrets may hold one account.
 */
export interface CredentialSource {
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
