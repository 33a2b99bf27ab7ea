/** Tencent Cloud credentials for one ECM call. Values never reach logs, events, status or metrics. */
export interface EcmCredential {
  readonly secretId: string;
  readonly secretKey: string;
  readonly token?: string;
  /**
   * The account whose quota the call counts against, where it is not the SecretId: temporary
   * credentials (TKE pod identity) get a new SecretId at every renewal, but stay one account's.
   */
  readonly account?: string;
}

/** The key of the account a call is counted against: ECM's quota is per account and action. */
export function accountOf(credential: EcmCredential): string {
  return credential.account ?? credential.secretId;
}

/**
 * Where a call's credentials come from, read on every call. The account a call is counted against is
 * the SecretId the source resolves to (or the role, for temporary credentials), not the source itself:
 * two Secrets may hold one account.
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
