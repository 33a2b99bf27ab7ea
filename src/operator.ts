import { cachedCopy, decodeEniAttachment, type EniAttachment } from "./api/eniattachment.ts";
import type { Fence } from "./api/fence.ts";
import type { Config } from "./config.ts";
import { Controller } from "./controller/controller.ts";
import { ownerOf } from "./controller/eni-owner.ts";
import { lastUseOf, tellDeletionWaits } from "./controller/credentials-holds.ts";
import * as text from "./controller/messages.ts";
import { Reconciler } from "./controller/reconciler.ts";
import { ResourceIndex } from "./controller/resource-index.ts";
import { CallTurns } from "./ecm/call-turns.ts";
import { EcmClient } from "./ecm/client.ts";
import { DescribeBatcher } from "./ecm/describe-batcher.ts";
import { CredentialFiles } from "./ecm/credential-files.ts";
import { OperatorCredentials } from "./ecm/operator-credentials.ts";
import { CredentialsFinalizer } from "./kube/credentials-finalizer.ts";
import type { KubeApi } from "./kube/api-client.ts";
import { EniAttachmentClient } from "./kube/eniattachment-client.ts";
import { EventRecorder } from "./kube/event-recorder.ts";
import { ResilientInformer, findCached } from "./kube/informer.ts";
import type { ChangeHandler } from "./kube/informer.ts";
import { SecretChangePoller, type SecretChanges } from "./kube/secret-change-poller.ts";
import { resourceCredentials } from "./kube/secret-credentials.ts";
import { SecretReader } from "./kube/secret-reader.ts";
import { KubeSecrets, type Secret } from "./kube/secrets.ts";
import { watchStream } from "./kube/watch-stream.ts";
import { skipUndecodable } from "./kube/undecodable.ts";
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
  readonly cachedResources: () => readonly EniAttachment[];
  /** With per-resource credentials: the finalizer on the Secrets resources name. */
  readonly holds: CredentialsFinalizer | undefined;
}

/**
 * The controller wired as the operator runs it: informers per watched namespace, the reconciler, ECM
 * client and credentials. The operator and `eni-operator uninstall` both run it.
 */
export function createController(
  config: Config,
  api: KubeApi,
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
  const client = new EniAttachmentClient(api, fence);
  const watch = watchStream(api);
  const namespaces = config.watchNamespaces.length > 0 ? config.watchNamespaces : [undefined];
  const informers = namespaces.map(
    (namespace) =>
      new ResilientInformer<EniAttachment>(
        watch,
        EniAttachmentClient.path(namespace),
        (continueToken) => client.listPage(namespace, continueToken, labelSelector),
        logger,
        {
          transform: (object) => cachedCopy(decodeEniAttachment(object)),
          skipped: (error, path, namespace, name) => skipUndecodable(logger, metrics, path, error, namespace, name),
          labelSelector,
        },
      ),
  );
  const core = new KubeSecrets(api);
  const secrets = new SecretReader(core);
  const credentialFiles = config.credentialsDir === undefined ? undefined : new CredentialFiles(config.credentialsDir);
  const cachedResources = () => informers.flatMap((informer) => informer.list());
  const index = new ResourceIndex();
  const events = new EventRecorder(api, logger, metrics, fence);
  // Held Secrets seen being deleted: each resource naming one is reconciled, so its status says so.
  const deletionHandlers: ChangeHandler<Secret>[] = [];
  const deletions: SecretChanges = {
    synced: true,
    onChange: (handler) => deletionHandlers.push(handler),
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
  };
  const holds = config.perResourceCredentials
    ? new CredentialsFinalizer({
        core,
        reader: secrets,
        needed: (namespace, name) => index.needed(namespace, name),
        onDeleting: (secret) => {
          for (const handler of deletionHandlers) handler(secret, "update");
          tellDeletionWaits(secret, index, events, informers).catch((err: unknown) =>
            logger.warn({ err }, "could not tell that a credentials Secret's deletion waits"),
          );
        },
        logger,
        fence,
      })
    : undefined;
  const controller = new Controller({
    informers,
    // Without per-resource credentials no Secret is ever read, so none can change anything.
    secrets: config.perResourceCredentials ? [new SecretChangePoller(secrets, cachedResources, logger), deletions] : [],
    reconciler: new Reconciler({
      resources: client,
      events,
      calls: new CallTurns(ecm, TURNS),
      observer: new DescribeBatcher(ecm),
      cached: (namespace, name) => findCached(informers, namespace, name),
      ownerOf: ({ spec }) => ownerOf(index.claimants(spec.ecmRegion, spec.networkInterfaceId)),
      heldSecret: ({ metadata, spec }) => {
        const namespace = metadata.namespace ?? "";
        const secret = spec.credentialsSecretRef?.name;
        return secret && holds?.deleting(namespace, secret) ? text.heldSecret(`${namespace}/${secret}`) : undefined;
      },
      ...(holds ? { lastUse: lastUseOf(holds, index) } : {}),
      syncPeriodMs: config.syncPeriodMs,
      credentialsFor: resourceCredentials({
        perResource: config.perResourceCredentials,
        secrets,
        ...(holds ? { holds } : {}),
        operator: new OperatorCredentials(process.env, config.stsEndpoint, credentialFiles),
        operatorNamespaces: config.operatorCredentialsNamespaces,
      }),
    }),
    workers: config.maxConcurrentReconciles,
    fullResyncMs: FULL_RESYNC_MS,
    logger,
    metrics,
    index,
    ...(holds ? { onUnnamed: ({ namespace, name }) => void holds.release(namespace, name) } : {}),
  });
  credentialFiles?.onChange(() => controller.operatorCredentialsChanged());
  return { controller, cachedResources, holds };
}
