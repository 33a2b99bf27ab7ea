import { OIDCRoleArnCredential } from "tencentcloud-sdk-nodejs-common";
import type { CredentialSource, EcmCredential } from "./credentials.ts";

const TKE_VARIABLES = ["TKE_REGION", "TKE_PROVIDER_ID", "TKE_WEB_IDENTITY_TOKEN_FILE", "TKE_ROLE_ARN"] as const;

/**
 * The operator's own credentials, for resources without credentialsSecretRef: the environment
 * (TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY, TENCENTCLOUD_SESSION_TOKEN), then TKE pod identity.
 * Read on every call, so nothing stale is kept. The SDK's OIDC provider caches a failed fetch forever,
 * so a failure replaces it with a fresh one.
 */
export class OperatorCredentials implements CredentialSource {
  private readonly env: NodeJS.ProcessEnv;
  private oidc: OIDCRoleArnCredential | undefined;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.env = env;
  }

  async getCredential(): Promise<EcmCredential> {
    const secretId = this.env["TENCENTCLOUD_SECRET_ID"];
    const secretKey = this.env["TENCENTCLOUD_SECRET_KEY"];
    if (secretId && secretKey) {
      const token = this.env["TENCENTCLOUD_SESSION_TOKEN"];
      return token ? { secretId, secretKey, token } : { secretId, secretKey };
    }
    if (TKE_VARIABLES.every((name) => this.env[name])) return this.fromPodIdentity();
    throw new Error(
      "no Tencent Cloud credentials: set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY, use TKE pod identity, or set spec.credentialsSecretRef",
    );
  }

  private async fromPodIdentity(): Promise<EcmCredential> {
    this.oidc ??= new OIDCRoleArnCredential();
    try {
      const { secretId, secretKey, token } = await this.oidc.getCredential();
      if (!secretId || !secretKey) throw new Error("TKE pod identity returned no credentials");
      return token ? { secretId, secretKey, token } : { secretId, secretKey };
    } catch (cause) {
      this.oidc = undefined;
      throw new Error("TKE pod identity (OIDC) credentials could not be fetched", { cause });
    }
  }
}
