import { readFileSync } from "node:fs";

const NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** The namespace the operator's pod runs in, when it runs in a cluster. */
export function podNamespace(): string | undefined {
  try {
    return readFileSync(NAMESPACE_FILE, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}
