import { ECM_SIGNING_HOST } from "./actions.ts";

/** The STS host that TKE pod identity's exchange is signed for, wherever --sts-endpoint points. */
export const STS_SIGNING_HOST = "sts.tencentcloudapi.com";

/**
 * An endpoint flag's URL, checked; kept apart from the HTTP agent so that configuration does not load
 * it. `flag` names the flag in messages; its example URL is the host that flag's requests are signed for.
 */
export function parseEndpoint(raw: string, flag = "ecm-endpoint", signingHost = ECM_SIGNING_HOST): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new Error(`--${flag} ${JSON.stringify(raw)} is not a URL such as https://${signingHost}`, { cause });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error(`--${flag} must be an http or https URL, got ${JSON.stringify(raw)}`);
  }
  return url;
}
