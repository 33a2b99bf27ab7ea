import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { isIPv6 } from "node:net";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import type { ConnectionOptions } from "node:tls";
import { load } from "js-yaml";
import { Type, type Static } from "typebox";
import type { Dispatcher } from "undici";
import { monotonic, type Clock } from "../api/clock.ts";
import { decode } from "../api/decode.ts";
import { apiConnectionPool } from "./connection-pool.ts";

/** How requests reach the API server, and who they say they come from. */
export interface ApiEndpoint {
  /** The API server's URL without a trailing slash, as the kubeconfig or the cluster gives it. */
  readonly server: string;
  /** The connection pool and the headers (the bearer token) for the next request. */
  prepare(): Promise<{ readonly dispatcher: Dispatcher; readonly headers: Readonly<Record<string, string>> }>;
}

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
/**
 * Files named by the configuration (the service account's token, which the kubelet rotates, a client
 * certificate) are read again at most this often, as client-go's cached token source does; a changed
 * certificate or CA opens a new connection pool.
 */
export const CREDENTIAL_REREAD_MS = 60_000;

const ClusterSchema = Type.Object({
  server: Type.String({ minLength: 1 }),
  "certificate-authority": Type.Optional(Type.String()),
  "certificate-authority-data": Type.Optional(Type.String()),
  "insecure-skip-tls-verify": Type.Optional(Type.Boolean()),
  "tls-server-name": Type.Optional(Type.String()),
});
const UserSchema = Type.Object({
  token: Type.Optional(Type.String()),
  tokenFile: Type.Optional(Type.String()),
  "client-certificate": Type.Optional(Type.String()),
  "client-certificate-data": Type.Optional(Type.String()),
  "client-key": Type.Optional(Type.String()),
  "client-key-data": Type.Optional(Type.String()),
});
const KubeconfigSchema = Type.Object({
  "current-context": Type.Optional(Type.String()),
  contexts: Type.Optional(
    Type.Union([
      Type.Array(
        Type.Object({
          name: Type.String(),
          context: Type.Object({ cluster: Type.String(), user: Type.Optional(Type.String()) }),
        }),
      ),
      Type.Null(),
    ]),
  ),
  clusters: Type.Optional(
    Type.Union([Type.Array(Type.Object({ name: Type.String(), cluster: ClusterSchema })), Type.Null()]),
  ),
  users: Type.Optional(
    Type.Union([
      Type.Array(Type.Object({ name: Type.String(), user: Type.Record(Type.String(), Type.Unknown()) })),
      Type.Null(),
    ]),
  ),
});

/**
 * What a kubeconfig user or cluster may hold for the operator's own client. Anything else (exec
 * plugins, auth providers, basic auth, impersonation, a proxy-url) is served by client-node's
 * KubeConfig, loaded only then: it brings a dozen packages the common cases never use.
 */
const OWN_USER_FIELDS = new Set([
  "token",
  "tokenFile",
  "client-certificate",
  "client-certificate-data",
  "client-key",
  "client-key-data",
]);
const IGNORED_FIELDS = new Set(["extensions"]);
const OWN_CLUSTER_FIELDS = new Set([
  "server",
  "certificate-authority",
  "certificate-authority-data",
  "insecure-skip-tls-verify",
  "tls-server-name",
  "disable-compression",
]);

/** Where a credential comes from: inline, or a file read again every CREDENTIAL_REREAD_MS. */
type Source = { readonly data: Buffer } | { readonly path: string } | undefined;

interface Recipe {
  readonly server: string;
  readonly ca: Source;
  readonly cert: Source;
  readonly key: Source;
  readonly token: Source;
  readonly rejectUnauthorized: boolean;
  readonly servername: string | undefined;
}

interface Material {
  readonly tls: ConnectionOptions;
  readonly fingerprint: string;
  readonly token: string | undefined;
}

async function read(source: Source): Promise<Buffer | undefined> {
  if (!source) return undefined;
  return "data" in source ? source.data : readFile(source.path);
}

/** A connection pool and headers built from inline data and files, the files read again now and then. */
class OwnEndpoint implements ApiEndpoint {
  readonly server: string;
  private readonly recipe: Recipe;
  private readonly clock: Clock;
  private current: { material: Material; dispatcher: Dispatcher; readAt: number } | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(recipe: Recipe, clock: Clock) {
    this.recipe = recipe;
    this.clock = clock;
    this.server = recipe.server.replace(/\/+$/, "");
  }

  async prepare(): Promise<{ dispatcher: Dispatcher; headers: Record<string, string> }> {
    if (!this.current || this.clock() - this.current.readAt >= CREDENTIAL_REREAD_MS) {
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
      // A failed re-read keeps what was read before: a file being replaced is not a reason to stop.
      await this.refreshing.catch((error: unknown) => {
        if (!this.current) throw error;
      });
    }
    const current = this.current;
    if (!current) throw new Error("the API server's credentials could not be read");
    const token = current.material.token;
    return { dispatcher: current.dispatcher, headers: token ? { authorization: `Bearer ${token}` } : {} };
  }

  private async refresh(): Promise<void> {
    const { ca, cert, key, token, rejectUnauthorized, servername } = this.recipe;
    const [caPem, certPem, keyPem, tokenText] = await Promise.all([read(ca), read(cert), read(key), read(token)]);
    const tls: ConnectionOptions = {
      rejectUnauthorized,
      ...(caPem ? { ca: caPem } : {}),
      ...(certPem ? { cert: certPem } : {}),
      ...(keyPem ? { key: keyPem } : {}),
      ...(servername ? { servername } : {}),
    };
    const fingerprint = [caPem, certPem, keyPem].map((b) => b?.toString("base64") ?? "").join(":");
    const material = { tls, fingerprint, token: tokenText?.toString("utf8").trim() || undefined };
    const previous = this.current;
    if (previous && previous.material.fingerprint === fingerprint) {
      this.current = { ...previous, material, readAt: this.clock() };
      return;
    }
    this.current = { material, dispatcher: apiConnectionPool(tls), readAt: this.clock() };
    // Requests already on the old pool finish there.
    void previous?.dispatcher.close();
  }
}

function base64(data: string): Source {
  return { data: Buffer.from(data, "base64") };
}

function relativeTo(file: string, path: string): Source {
  return { path: isAbsolute(path) ? path : join(dirname(file), path) };
}

/** The in-cluster configuration: the service's address and the pod's service account. */
function inCluster(): Recipe {
  const host = process.env["KUBERNETES_SERVICE_HOST"] ?? "";
  const port = process.env["KUBERNETES_SERVICE_PORT"] ?? "443";
  return {
    server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    ca: { path: `${SERVICE_ACCOUNT_DIR}/ca.crt` },
    cert: undefined,
    key: undefined,
    token: { path: `${SERVICE_ACCOUNT_DIR}/token` },
    rejectUnauthorized: true,
    servername: undefined,
  };
}

/** The current context of a kubeconfig file, or undefined when it needs client-node's KubeConfig. */
function fromKubeconfig(file: string): Recipe | undefined {
  const config = decode(KubeconfigSchema, load(readFileSync(file, "utf8")) ?? {}, `kubeconfig ${file}`);
  const contextName = config["current-context"] ?? "";
  const context = (config.contexts ?? []).find((c) => c.name === contextName)?.context;
  if (!context) throw new Error(`kubeconfig ${file}: the current context (${contextName || "none"}) is not defined`);
  const named = (config.clusters ?? []).find((c) => c.name === context.cluster);
  if (!named)
    throw new Error(
      `kubeconfig ${file}: context ${contextName} names cluster ${context.cluster}, which is not defined`,
    );
  const cluster: Static<typeof ClusterSchema> = named.cluster;
  const rawUser = (config.users ?? []).find((u) => u.name === context.user)?.user ?? {};
  const fieldsOwn = (fields: object, own: ReadonlySet<string>) =>
    Object.keys(fields).every((field) => own.has(field) || IGNORED_FIELDS.has(field));
  if (!fieldsOwn(cluster, OWN_CLUSTER_FIELDS) || !fieldsOwn(rawUser, OWN_USER_FIELDS)) return undefined;
  const user = decode(UserSchema, rawUser, `kubeconfig ${file}: user ${context.user ?? ""}`);
  const pick = (data: string | undefined, path: string | undefined): Source =>
    data ? base64(data) : path ? relativeTo(file, path) : undefined;
  return {
    server: cluster.server,
    ca: pick(cluster["certificate-authority-data"], cluster["certificate-authority"]),
    cert: pick(user["client-certificate-data"], user["client-certificate"]),
    key: pick(user["client-key-data"], user["client-key"]),
    token: user.token
      ? { data: Buffer.from(user.token) }
      : user.tokenFile
        ? relativeTo(file, user.tokenFile)
        : undefined,
    rejectUnauthorized: !cluster["insecure-skip-tls-verify"],
    servername: cluster["tls-server-name"],
  };
}

/** A kubeconfig file's endpoint: the product's own for the common cases, client-node's for the rest. */
async function kubeconfigEndpoint(file: string, clock: Clock): Promise<ApiEndpoint> {
  const recipe = fromKubeconfig(file);
  if (recipe) return new OwnEndpoint(recipe, clock);
  const { clientNodeEndpoint } = await import("./client-node-endpoint.ts");
  return clientNodeEndpoint((kc) => kc.loadFromFile(file));
}

/**
 * --kubeconfig, else in-cluster, else $KUBECONFIG, else ~/.kube/config. Unlike client-go's and
 * client-node's defaults, never falls back silently to http://localhost:8080.
 */
export async function loadApiEndpoint(path: string | undefined, clock: Clock = monotonic): Promise<ApiEndpoint> {
  const defaultPath = join(homedir(), ".kube", "config");
  const kubeconfigEnv = process.env["KUBECONFIG"];
  let endpoint: ApiEndpoint;
  if (path) {
    if (!existsSync(path)) throw new Error(`--kubeconfig ${path}: no such file`);
    endpoint = await kubeconfigEndpoint(path, clock);
  } else if (process.env["KUBERNETES_SERVICE_HOST"] && existsSync(`${SERVICE_ACCOUNT_DIR}/token`)) {
    endpoint = new OwnEndpoint(inCluster(), clock);
  } else if (kubeconfigEnv) {
    // Several files in $KUBECONFIG are merged, as kubectl does: client-node knows how.
    const files = kubeconfigEnv.split(":").filter((f) => f !== "");
    if (files.length === 1 && files[0]) endpoint = await kubeconfigEndpoint(files[0], clock);
    else {
      const { clientNodeEndpoint } = await import("./client-node-endpoint.ts");
      endpoint = clientNodeEndpoint((kc) => kc.loadFromDefault());
    }
  } else if (existsSync(defaultPath)) {
    endpoint = await kubeconfigEndpoint(defaultPath, clock);
  } else {
    throw new Error(
      "no Kubernetes cluster configured: pass --kubeconfig PATH, set KUBECONFIG, or run inside a cluster",
    );
  }
  // The first read fails here, with what is wrong, rather than at the first request.
  await endpoint.prepare();
  return endpoint;
}
