// Every version the API server writes of the objects under a prefix, read from etcd itself (its JSON
// gateway's watch), with the time each arrived. Unlike a watch on the API server, it has no gap when
// kube-apiserver restarts, so a test can tell exactly when a finalizer was released.

export interface StoredVersion {
  /** etcd's revision of the write. */
  revision: number;
  /** When this process received it (Date.now()). */
  receivedAt: number;
  key: string;
  /** The object as stored (custom resources are stored as JSON); undefined for a deletion. */
  object: unknown;
}

export interface EtcdHistory {
  readonly versions: readonly StoredVersion[];
  /** The versions of one key, oldest first. */
  of(key: string): StoredVersion[];
  stop(): void;
}

const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");
const unb64 = (text: string): string => Buffer.from(text, "base64").toString("utf8");

/** The end of the key range holding every key that starts with `prefix` (etcd's convention). */
function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, "utf8");
  const last = bytes.at(-1) ?? 0;
  bytes[bytes.length - 1] = last + 1;
  return bytes.toString("base64");
}

export function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null ? (Reflect.get(value, name) as unknown) : undefined;
}

/** Starts recording now; resolves once etcd has confirmed the watch, so nothing after that is missed. */
export async function recordEtcdHistory(etcdUrl: string, prefix: string): Promise<EtcdHistory> {
  const versions: StoredVersion[] = [];
  const abort = new AbortController();
  const response = await fetch(`${etcdUrl}/v3/watch`, {
    method: "POST",
    body: JSON.stringify({ create_request: { key: b64(prefix), range_end: prefixEnd(prefix) } }),
    signal: abort.signal,
  });
  if (!response.ok || response.body === null) throw new Error(`etcd watch on ${prefix}: HTTP ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let created: () => void = () => undefined;
  const confirmed = new Promise<void>((resolve) => (created = resolve));
  const onMessage = (message: unknown): void => {
    const result = field(message, "result");
    if (field(result, "created") === true) created();
    const events = field(result, "events");
    if (!Array.isArray(events)) return;
    for (const event of events) {
      const kv = field(event, "kv");
      const key = field(kv, "key");
      const value = field(kv, "value");
      if (typeof key !== "string") continue;
      versions.push({
        revision: Number(field(kv, "mod_revision")),
        receivedAt: Date.now(),
        key: unb64(key),
        object:
          field(event, "type") === "DELETE" || typeof value !== "string"
            ? undefined
            : (JSON.parse(unb64(value)) as unknown),
      });
    }
  };
  void (async () => {
    let buffered = "";
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffered += value ?? "";
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) if (line.trim() !== "") onMessage(JSON.parse(line) as unknown);
    }
  })();
  await confirmed;
  return {
    versions,
    of: (key) => versions.filter((version) => version.key === key),
    stop: () => {
      abort.abort();
    },
  };
}
