import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoordinationV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1Deployment,
  type V1Lease,
} from "@kubernetes/client-node";
import { API_VERSION, GROUP, KIND, PLURAL, VERSION } from "../api/eniattachment.ts";
import { DESCRIBE } from "../ecm/actions.ts";
import { EcmClient } from "../ecm/client.ts";
import { STS_SIGNING_HOST, parseEndpoint } from "../ecm/endpoint-url.ts";
import { EcmError } from "../ecm/errors.ts";
import { OperatorCredentials } from "../ecm/operator-credentials.ts";
import { DescribeResponseSchema } from "../ecm/responses.ts";
import { createLogger } from "../observability/logger.ts";
import { Metrics } from "../observability/metrics.ts";
import { KUBE_USAGE, humanDuration, parseDurationMs, parseToolArgs } from "./args.ts";
import { explain } from "./kube-calls.ts";
import { kubeTarget } from "./kube-target.ts";
import type { Tool } from "./tool.ts";
import { ToolError } from "./tool-error.ts";

const CRD_NAME = `${PLURAL}.${GROUP}`;
/** The operator's --leader-election-id default; the chart names its Lease after the Deployment. */
const DEFAULT_LEASE = "eni-operator.ecm.eni-operator.io";
const OPERATOR_LABEL = "app.kubernetes.io/name=eni-operator";
const RETRY_MS = 2_000;

interface Result {
  readonly ok: boolean;
  readonly line: string;
}

interface CheckOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly operatorNamespace: string | undefined;
  readonly leaseName: string;
  readonly credentials?: { readonly endpoint: URL; readonly region: string; readonly env: NodeJS.ProcessEnv };
}

async function crdServed(kc: KubeConfig): Promise<Result> {
  try {
    const crd = await kc.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: CRD_NAME });
    const version = crd.spec.versions.find((v) => v.name === VERSION);
    const established = crd.status?.conditions?.find((c) => c.type === "Established")?.status === "True";
    if (!version?.served) return { ok: false, line: `CRD ${CRD_NAME} is installed but does not serve ${VERSION}` };
    if (!established) return { ok: false, line: `CRD ${CRD_NAME} is installed but not Established yet` };
    return { ok: true, line: `CRD ${CRD_NAME} is installed and serves ${VERSION}` };
  } catch (error) {
    return { ok: false, line: `CRD ${CRD_NAME}: ${explain(error, kc)}` };
  }
}

async function dryRunCreate(kc: KubeConfig, namespace: string): Promise<Result> {
  try {
    await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
      dryRun: "All",
      body: {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { generateName: "eni-check-" },
        spec: { networkInterfaceId: "eni-00000000", instanceId: "ein-00000000", ecmRegion: "ap-xian-ecm" },
      },
    });
    return { ok: true, line: `a server-side dry-run create of an EniAttachment in ${namespace} was accepted` };
  } catch (error) {
    return {
      ok: false,
      line: `a server-side dry-run create of an EniAttachment in ${namespace} failed: ${explain(error, kc)}`,
    };
  }
}

/** A Lease whose holder renewed it within its duration. */
function liveHolder(lease: V1Lease, now: number): string | undefined {
  const { holderIdentity, renewTime, leaseDurationSeconds = 15 } = lease.spec ?? {};
  if (!holderIdentity || !renewTime) return undefined;
  return new Date(renewTime).getTime() + leaseDurationSeconds * 1000 > now ? holderIdentity : undefined;
}

async function operatorLive(options: CheckOptions): Promise<Result> {
  const { kc, operatorNamespace, leaseName } = options;
  const where = operatorNamespace ? `namespace ${operatorNamespace}` : "any namespace";
  try {
    const apps = kc.makeApiClient(AppsV1Api);
    const coordination = kc.makeApiClient(CoordinationV1Api);
    const deployments: V1Deployment[] = (
      operatorNamespace
        ? await apps.listNamespacedDeployment({ namespace: operatorNamespace, labelSelector: OPERATOR_LABEL })
        : await apps.listDeploymentForAllNamespaces({ labelSelector: OPERATOR_LABEL })
    ).items;
    const names = [leaseName, ...deployments.map((d) => d.metadata?.name ?? "")];
    const leases = (
      await Promise.all(
        [...new Set(names)].map(async (name) =>
          operatorNamespace
            ? coordination.listNamespacedLease({ namespace: operatorNamespace, fieldSelector: `metadata.name=${name}` })
            : coordination.listLeaseForAllNamespaces({ fieldSelector: `metadata.name=${name}` }),
        ),
      )
    ).flatMap((list) => list.items);
    const now = Date.now();
    for (const lease of leases) {
      const holder = liveHolder(lease, now);
      if (holder) {
        const renewed = humanDuration(now - new Date(lease.spec?.renewTime ?? now).getTime());
        return {
          ok: true,
          line: `the operator has a live leader: ${holder} renewed Lease ${lease.metadata?.namespace ?? ""}/${lease.metadata?.name ?? ""} ${renewed} ago`,
        };
      }
    }
    // Without leader election there is no Lease: an available replica is the live one.
    const leaseNames = new Set(leases.map((l) => `${l.metadata?.namespace ?? ""}/${l.metadata?.name ?? ""}`));
    for (const d of deployments) {
      const key = `${d.metadata?.namespace ?? ""}/${d.metadata?.name ?? ""}`;
      if (!leaseNames.has(key) && (d.status?.availableReplicas ?? 0) > 0) {
        return {
          ok: true,
          line: `Deployment ${key} has ${d.status?.availableReplicas ?? 0} available replica(s) (no leader Lease: leader election off)`,
        };
      }
    }
    const stale = leases.map((l) => {
      const { holderIdentity, renewTime } = l.spec ?? {};
      const name = `${l.metadata?.namespace ?? ""}/${l.metadata?.name ?? ""}`;
      return holderIdentity && renewTime
        ? `Lease ${name} last renewed by ${holderIdentity} ${humanDuration(now - new Date(renewTime).getTime())} ago, expired`
        : `Lease ${name} has no holder`;
    });
    const found = [
      ...stale,
      ...deployments.map(
        (d) =>
          `Deployment ${d.metadata?.namespace ?? ""}/${d.metadata?.name ?? ""} has ${d.status?.availableReplicas ?? 0} available replica(s)`,
      ),
    ];
    return {
      ok: false,
      line: `no live operator in ${where}: ${found.length > 0 ? found.join("; ") : `no Deployment labelled ${OPERATOR_LABEL} and no Lease ${leaseName}`}`,
    };
  } catch (error) {
    return {
      ok: false,
      line: `looking for the operator in ${where}: ${explain(error, kc)} (--operator-namespace narrows the search)`,
    };
  }
}

/** ECM's clock minus ours, from the Date header of an answer, taken at the middle of the round trip. */
async function clockSkewMs(endpoint: URL): Promise<number | undefined> {
  const sent = Date.now();
  const response = await fetch(endpoint, {
    method: "POST",
    body: "{}",
    headers: { "Content-Type": "application/json" },
  });
  const received = Date.now();
  await response.body?.cancel();
  const date = response.headers.get("date");
  // The header has whole seconds, truncated: the server's clock was half a second later on average.
  return date ? Date.parse(date) + 500 - (sent + received) / 2 : undefined;
}

function signedSkew(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return `${seconds >= 0 ? "+" : "-"}${Math.abs(seconds)} s (${seconds >= 0 ? "ECM ahead" : "ECM behind"})`;
}

async function credentialsAccepted(credentials: NonNullable<CheckOptions["credentials"]>): Promise<Result> {
  const { endpoint, region, env } = credentials;
  let skew = "unknown (no Date header)";
  try {
    const ms = await clockSkewMs(endpoint);
    if (ms !== undefined) skew = signedSkew(ms);
  } catch (error) {
    skew = `unknown (${error instanceof Error ? error.message : String(error)})`;
  }
  const client = new EcmClient({
    endpoint,
    qps: 1,
    burst: 1,
    timeoutMs: 10_000,
    transportRetries: 0,
    metrics: new Metrics(),
    logger: createLogger("silent"),
  });
  const stsEndpoint = parseEndpoint(
    env["STS_ENDPOINT"] ?? `https://${STS_SIGNING_HOST}`,
    "sts-endpoint",
    STS_SIGNING_HOST,
  );
  try {
    const credential = await client.credential(DESCRIBE, new OperatorCredentials(env, stsEndpoint));
    const answer = await client.call(DESCRIBE, { EcmRegion: region, Limit: 1 }, credential, DescribeResponseSchema);
    return {
      ok: true,
      line: `ECM at ${endpoint.origin} accepted DescribeNetworkInterfaces signed with the operator's credentials (SecretId ${credential.secretId.slice(0, 8)}..., RequestId ${answer.RequestId}); clock skew against ECM: ${skew}`,
    };
  } catch (error) {
    if (!(error instanceof EcmError)) throw error;
    const requestId = error.requestId ? `, RequestId ${error.requestId}` : "";
    return {
      ok: false,
      line: `ECM at ${endpoint.origin} refused DescribeNetworkInterfaces signed with the operator's credentials: ${error.code} ${error.ecmMessage}${requestId}; clock skew against ECM: ${skew}`,
    };
  }
}

async function checkAll(options: CheckOptions): Promise<Result[]> {
  const crd = await crdServed(options.kc);
  const results = [crd];
  results.push(
    crd.ok
      ? await dryRunCreate(options.kc, options.namespace)
      : { ok: false, line: "the dry-run create was skipped: the CRD is not served" },
  );
  results.push(await operatorLive(options));
  if (options.credentials) results.push(await credentialsAccepted(options.credentials));
  return results;
}

export const checkTool: Tool = {
  usage: `check [--wait 2m] [--credentials] [--operator-namespace NS] [--leader-election-id NAME]
  Checks that the CRD is installed and served, that a server-side dry-run create of an EniAttachment is
  accepted, and that the operator has a live leader (its Lease, or an available replica); with
  --credentials, that ECM accepts a DescribeNetworkInterfaces signed with the operator's credentials
  from the environment (TENCENTCLOUD_SECRET_ID/KEY or TKE pod identity; --ecm-endpoint, --ecm-region),
  and prints the clock skew against ECM. Exit 0 only when all pass; --wait retries until they do.
  ${KUBE_USAGE}`,
  async run(argv, env, out) {
    const args = parseToolArgs(argv, {
      wait: { type: "string" },
      credentials: { type: "boolean" },
      "operator-namespace": { type: "string" },
      "leader-election-id": { type: "string" },
      "ecm-endpoint": { type: "string" },
      "ecm-region": { type: "string" },
    });
    if (args.help) return "help";
    const text = (key: string) => {
      const value = args.values[key];
      return typeof value === "string" ? value : undefined;
    };
    const waitMs = text("wait") === undefined ? 0 : parseDurationMs("wait", text("wait") ?? "");
    const target = kubeTarget(args.kube, env);
    let endpoint: URL | undefined;
    if (args.values["credentials"] === true) {
      try {
        endpoint = parseEndpoint(text("ecm-endpoint") ?? env["ECM_ENDPOINT"] ?? "https://ecm.tencentcloudapi.com");
      } catch (error) {
        throw new ToolError(error instanceof Error ? error.message : String(error), 2);
      }
    }
    const options: CheckOptions = {
      kc: target.kc,
      namespace: target.namespace,
      operatorNamespace: text("operator-namespace"),
      leaseName: text("leader-election-id") ?? DEFAULT_LEASE,
      ...(endpoint ? { credentials: { endpoint, region: text("ecm-region") ?? "ap-guangzhou-ecm", env } } : {}),
    };
    const deadline = Date.now() + waitMs;
    let results = await checkAll(options);
    while (results.some((r) => !r.ok) && Date.now() + RETRY_MS <= deadline) {
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      results = await checkAll(options);
    }
    for (const result of results) out(`${result.ok ? "ok  " : "FAIL"}  ${result.line}`);
    const failed = results.filter((r) => !r.ok).length;
    if (failed === 0) {
      out("all checks passed");
      return 0;
    }
    throw new ToolError(
      `${failed} of ${results.length} checks failed${waitMs > 0 ? ` after waiting ${humanDuration(waitMs)}` : ""}`,
    );
  },
};
