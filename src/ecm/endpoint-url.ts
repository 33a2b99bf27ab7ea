import { ECM_SIGNING_HOST } from "./actions.ts";

/** The --ecm-endpoint URL, checked; kept apart from the HTTP agent so that configuration does not load it. */
export function parseEndpoint(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    throw new Error(`--ecm-endpoint ${JSON.stringify(raw)} is not a URL such as https://${ECM_SIGNING_HOST}`, {
      cause,
    });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error(`--ecm-endpoint must be an http or https URL, got ${JSON.stringify(raw)}`);
  }
  return url;
}
