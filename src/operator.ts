import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { cachedCopy, decodeEniAttachment, type EniAttachment } from "./api/eniattachment.ts";
import type { Fence } from "./api/fence.ts";
import type { Config } from "./config.ts";
import { Controller } from "./controller/controller.ts";
import { Reconciler } from "./controller/reconciler.ts";
import { CallTurns } from "./ecm/call-turns.ts";
import { EcmClient } from "./ecm/client.ts";
import { DescribeBatcher } from "./ecm/describe-batcher.ts";
import { OperatorCredentials } from "./ecm/operator-credentials.ts";
import { EniAttachmentClient } from "./kube/eniattachment-client.ts";
import { EventRecorder } from "./kube/event-recorder.ts";
import { ResilientInformer, findCached } from "./kube/informer.ts";
import { SecretChangePoller } from "./kube/secret-change-poller.ts";
import { resourceCredentials } from "./kube/secret-credentials.ts";
import { SecretReader } from "./kube/secret-reader.ts";
import type { Logger } from "./observability/logger.ts";
import type { Metrics } from "./observability/metrics.ts";

/** The ECM client's settings that are not flags. */
const ECM_TIMEOUT_MS = 10_000;
const ECM_TRANSPORT_RETRIES = 2;
/** A worker waits 0.5 s at most for an ECM turn; a later one returns 0.4 s ahead of it. */
const TURNS = { maxWaitMs: 500, returnAheadMs: 400 };
/** Every key is queued again this often, in case a watch missed an event. */
const FULL_RESYNC_MS = 10 * 60_000;

export interface OperatorParts {
  readonly controller: Controller;
  /** Every EniAttachment the informers hold. */
  readonly resources: () => readonly EniAttachment[];
}

/**
 * The controller wired as the operator runs it: informers per watched namespace, the reconciler, ECM
 * client and credentials. The operator and `eni-operator uninstall` both run it.
 */
export function createController(
  config: Config,
  kc: KubeConfig,
  logger: Logger,
  metrics: Metrics,
  fence: Fence,
  /** Only the resources with these labels (`eni-operator uninstall -l`); empty: all. */
  labelSelector = "",
): OperatorParts {
  const ecm = new EcmClient({
    endpoint: config.ecmEndpoint,
    qps: config.ecmQps,
    burst: config.ecmBurst,
    timeoutMs: ECM_TIMEOUT_MS,
    transportRetries: ECM_TRANSPORT_RETRIES,
    metrics,
    logger,
    fence,
  });
  const client = new EniAttachmentClient(kc, fence);
  const namespaces = config.watchNamespaces.length > 0 ? config.watchNamespaces : [undefined];
  const informers = namespaces.map(
    (namespace) =>
      new ResilientInformer<EniAttachment>(
        kc,
        EniAttachmentClient.path(namespace),
        (continueToken) => client.listPage(namespace, continueToken, labelSelector),
        logger,
        { transform: (object) => cachedCopy(decodeEniAttachment(object)), labelSelector },
      ),
  );
  const secrets = new SecretReader(kc.makeApiClient(CoreV1Api));
  const resources = () => informers.flatMap((informer) => informer.list());
  const controller = new Controller({
    resources: informers,
    // Without per-resource credentials no Secret is ever read, so none can change anything.
    secrets: config.perResourceCredentials ? [new SecretChangePoller(secrets, resources, logger)] : [],
    reconciler: new Reconciler({
      resources: client,
      events: new EventRecorder(kc, logger, fence),
      calls: new CallTurns(ecm, TURNS),
      observer: new DescribeBatcher(ecm),
      cached: (namespace, name) => findCached(informers, namespace, name),
      syncPeriodMs: config.syncPeriodMs,
      credentialsFor: resourceCredentials({
        perResource: config.perResourceCredentials,
        secrets,
        operator: new OperatorCredentials(process.env, config.stsEndpoint),
      }),
    }),
    workers: config.maxConcurrentReconciles,
    fullResyncMs: FULL_RESYNC_MS,
    logger,
    metrics,
  });
  return { controller, resources };
}
