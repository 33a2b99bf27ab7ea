#!/usr/bin/env node
import "./node-version.ts";
import type { Server } from "node:http";
import { hostname } from "node:os";
import { CoreV1Api } from "@kubernetes/client-node";
import type { EniAttachment } from "./api/eniattachment.ts";
import { ConfigError, USAGE, parseConfig, type Config } from "./config.ts";
import { Controller } from "./controller/controller.ts";
import { Reconciler } from "./controller/reconciler.ts";
import { EcmClient } from "./ecm/client.ts";
import { DescribeBatcher } from "./ecm/describe-batcher.ts";
import { OperatorCredentials } from "./ecm/operator-credentials.ts";
import { EniAttachmentClient } from "./kube/eniattachment-client.ts";
import { EventRecorder } from "./kube/event-recorder.ts";
import { ResilientInformer, findCached } from "./kube/informer.ts";
import { loadKubeConfig } from "./kube/kubeconfig.ts";
import { DEFAULT_TIMINGS, LeaderElector } from "./kube/leader-election.ts";
import { SecretChangePoller } from "./kube/secret-change-poller.ts";
import { resourceCredentials } from "./kube/secret-credentials.ts";
import { SecretReader } from "./kube/secret-reader.ts";
import { podNamespace } from "./kube/pod-namespace.ts";
import { createLogger, type Logger } from "./observability/logger.ts";
import { metricsRoutes, probeRoutes, serve } from "./observability/http-endpoints.ts";
import { kubernetesGuard } from "./observability/metrics-auth.ts";
import { selfSignedCertificate } from "./observability/self-signed.ts";
import { Metrics } from "./observability/metrics.ts";
import { registerResourceGauges } from "./observability/resource-metrics.ts";

/** The ECM client's settings that are not flags. */
const ECM_TIMEOUT_MS = 10_000;
const ECM_TRANSPORT_RETRIES = 2;
const DESCRIBE_BATCH_WINDOW_MS = 20;
const RESYNC_MS = 10 * 60_000;
const SHUTDOWN_GRACE_MS = 20_000;

async function run(config: Config, logger: Logger): Promise<void> {
  const kc = loadKubeConfig(config.kubeconfig);
  const metrics = new Metrics();
  const ecm = new EcmClient({
    endpoint: config.ecmEndpoint,
    qps: config.ecmQps,
    burst: config.ecmBurst,
    timeoutMs: ECM_TIMEOUT_MS,
    transportRetries: ECM_TRANSPORT_RETRIES,
    metrics,
    logger,
  });
  const resources = new EniAttachmentClient(kc);
  const core = kc.makeApiClient(CoreV1Api);
  const namespaces = config.watchNamespaces.length > 0 ? config.watchNamespaces : [undefined];
  const resourceInformers = namespaces.map(
    (namespace) =>
      new ResilientInformer<EniAttachment>(
        kc,
        EniAttachmentClient.path(namespace),
        () => resources.list(namespace),
        logger,
      ),
  );
  const secrets = new SecretReader(core);
  const allResources = () => resourceInformers.flatMap((informer) => informer.list());
  registerResourceGauges(metrics.registry, allResources);
  const controller = new Controller({
    resources: resourceInformers,
    // Without per-resource credentials no Secret is ever read, so none can change anything.
    secrets: config.perResourceCredentials ? [new SecretChangePoller(secrets, allResources, logger)] : [],
    reconciler: new Reconciler({
      resources,
      events: new EventRecorder(kc, logger),
      ecm,
      describe: new DescribeBatcher(ecm, DESCRIBE_BATCH_WINDOW_MS),
      cached: (namespace, name) => findCached(resourceInformers, namespace, name),
      credentialsFor: resourceCredentials({
        perResource: config.perResourceCredentials,
        secrets,
        operator: new OperatorCredentials(),
      }),
    }),
    workers: config.maxConcurrentReconciles,
    resyncMs: RESYNC_MS,
    logger,
    metrics,
  });

  const servers: Server[] = [];
  if (config.metricsBindAddress) {
    const secure = config.metricsSecure
      ? { tls: await selfSignedCertificate([hostname(), "localhost"]), guard: kubernetesGuard(kc) }
      : {};
    servers.push(await serve(config.metricsBindAddress, metricsRoutes(metrics.registry), secure));
  }
  if (config.healthProbeBindAddress) {
    servers.push(
      await serve(
        config.healthProbeBindAddress,
        probeRoutes(() => controller.synced),
      ),
    );
  }

  let elector: LeaderElector | undefined;
  let stopping = false;
  const shutdown = async (signal: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    await controller.stop(SHUTDOWN_GRACE_MS);
    await elector?.stop();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    logger.info("stopped");
    process.exit(exitCode);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM", 0));
  process.once("SIGINT", () => void shutdown("SIGINT", 0));

  await controller.startInformers();
  if (config.leaderElect) {
    const leaseName = config.leaderElectionId;
    metrics.leaderStatus.set({ name: leaseName }, 0);
    elector = new LeaderElector(kc, {
      ...DEFAULT_TIMINGS,
      namespace: config.leaderElectionNamespace || podNamespace() || "default",
      name: leaseName,
      logger,
      onLeaderChange: (leading) => metrics.leaderStatus.set({ name: leaseName }, leading ? 1 : 0),
      onStartedLeading: () => controller.startWorkers(),
      // controller-runtime exits when the lease is lost: the restarted pod starts again as a follower.
      onStoppedLeading: () => void shutdown("lease lost", 1),
    });
    elector.start();
  } else {
    controller.startWorkers();
  }
  logger.info(
    {
      namespaces: config.watchNamespaces.length > 0 ? config.watchNamespaces : "all",
      ecmEndpoint: config.ecmEndpoint.origin,
      ecmQps: config.ecmQps,
      ecmBurst: config.ecmBurst,
      workers: config.maxConcurrentReconciles,
      leaderElect: config.leaderElect,
      perResourceCredentials: config.perResourceCredentials,
      metricsSecure: config.metricsSecure,
    },
    "eni-operator started",
  );
}

function main(): void {
  let config: Config | "help";
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`eni-operator: ${err.message}\n`);
    process.exit(2);
  }
  if (config === "help") {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const logger = createLogger(config.logLevel);
  run(config, logger).catch((err: unknown) => {
    logger.fatal({ err }, "eni-operator could not start");
    process.stderr.write(`eni-operator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

main();
