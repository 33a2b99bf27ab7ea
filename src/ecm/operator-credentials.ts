import type { CredentialFiles } from "./credential-files.ts";
import type { CredentialSource, EcmCredential } from "./credentials.ts";
import { PodIdentityCredentials, type PodIdentityConfig } from "./pod-identity.ts";

const TKE_VARIABLES = ["TKE_REGION", "TKE_PROVIDER_ID", "TKE_WEB_IDENTITY_TOKEN_FILE", "TKE_ROLE_ARN"] as const;

/**
 * The operator's own credentials, for resources without credentialsSecretRef: the files of
 * --credentials-dir when it is set (re-read when they change), otherwise the environment
 * (TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY, TENCENTCLOUD_SESSION_TOKEN), then TKE pod identity
 * (the TKE_* variables), exchanged through STS at `stsEndpoint`. The environment is read on every call,
 * so nothing stale is kept; pod identity holds its temporary credentials until they near expiry.
 */
export class OperatorCredentials implements CredentialSource {
  private readonly env: NodeJS.ProcessEnv;
  private readonly stsEndpoint: URL;
  private readonly files: CredentialFiles | undefined;
  private podIdentity: { key: string; source: PodIdentityCredentials } | undefined;

  constructor(env: NodeJS.ProcessEnv, stsEndpoint: URL, files?: CredentialFiles) {
    this.env = env;
    this.stsEndpoint = stsEndpoint;
    this.files = files;
  }

  async getCredential(): Promise<EcmCredential> {
    if (this.files) return this.files.read();
    const secretId = this.env["TENCENTCLOUD_SECRET_ID"];
    const secretKey = this.env["TENCENTCLOUD_SECRET_KEY"];
    if (secretId && secretKey) {
      const token = this.env["TENCENTCLOUD_SESSION_TOKEN"];
      return token ? { secretId, secretKey, token } : { secretId, secretKey };
    }
    const [region, providerId, tokenFile, roleArn] = TKE_VARIABLES.map((name) => this.env[name]);
    if (region && providerId && tokenFile && roleArn) {
      return this.podIdentityFor({ region, providerId, tokenFile, roleArn }).getCredential();
    }
    throw new Error(
      "no Tencent Cloud credentials: set --credentials-dir, or TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, use TKE pod identity, or set spec.credentialsSecretRef",
    );
  }

  /** One exchanger per configuration, so credentials are shared by every call until they near expiry. */
  private podIdentityFor(config: PodIdentityConfig): PodIdentityCredentials {
    const key = JSON.stringify(config);
    if (this.podIdentity?.key !== key) {
      this.podIdentity = { key, source: new PodIdentityCredentials(config, this.stsEndpoint) };
    }
    return this.podIdentity.source;
  }
}
