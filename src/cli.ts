// The operator's command line: `eni-operator [flags]` runs it, `eni-operator uninstall` empties the cluster of
// it, and `eni-operator check|status|reconcile|orphan` (also `kubectl eni ...`) help the people who run it.
import type { Server } from "node:http";
import { hostname } from "node:os";
import type { Fence } from "./api/fence.ts";
import { ConfigError, UNINSTALL_USAGE, USAGE, parseConfig, parseUninstallConfig, type Config } from "./config.ts";
import { routeOf } from "./ecm/endpoint.ts";
import { KubeApi } from "./kube/api-client.ts";
import { loadApiEndpoint } from "./kube/api-endpoint.ts";
import { LeaderElector, kubeLeases } from "./kube/leader-election.ts";
import { DEFAULT_TIMINGS } from "./kube/lease-timings.ts";
import { podNamespace } from "./kube/pod-namespace.ts";
import { createController } from "./operator.ts";
import { createLogger, type Logger } from "./observability/logger.ts";
import { metricsRoutes, probeRoutes, serve } from "./observability/http-endpoints.ts";
import { kubernetesGuard } from "./kube/metrics-access.ts";
import { Metrics } from "./observability/metrics.ts";
import { registerResourceGauges } from "./controller/resource-metrics.ts";

/** In-flight reconciles get this long to finish after SIGTERM. */
const SHUTDOWN_GRACE_MS = 20_000;

async function run(config: Config, logger: Logger): Promise<void> {
  const api = new KubeApi(await loadApiEndpoint(config.kubeconfig));
  const metrics = new Metrics();
  let elector: LeaderElector | undefined;
  // With leader election, no ECM call and no write unless the lease is held and fresh.
  const fence: Fence = () => !config.leaderElect || (elector?.holdsLease ?? false);
  const { controller, cachedResources } = createController(config, api, logger, metrics, fence);
  registerResourceGauges(metrics.registry, cachedResources);

  const servers: Server[] = [];
  if (config.metricsBindAddress) {
    const secure = config.metricsSecure
      ? {
          // Loaded only here: the certificate code is a fifth of the bundle, and most installations
          // serve plain metrics.
          tls: await (await import("./observability/self-signed.ts")).selfSignedCertificate([hostname(), "localhost"]),
          guard: kubernetesGuard(api),
        }
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

  let stopping = false;
  const shutdown = async (signal: string, exitCode: number, graceMs = SHUTDOWN_GRACE_MS) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    await controller.stop(graceMs);
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
    elector = new LeaderElector(kubeLeases(api), {
      ...DEFAULT_TIMINGS,
      namespace: config.leaderElectionNamespace || podNamespace() || "default",
      name: leaseName,
      logger,
      onLeaderChange: (leading) => metrics.leaderStatus.set({ name: leaseName }, leading ? 1 : 0),
      onStartedLeading: () => controller.startWorkers(),
      // controller-runtime exits at once when the lease is lost: in-flight reconciles are fenced off
      // anyway, so there is nothing to wait for; the restarted pod starts again as a follower.
      onStoppedLeading: () => void shutdown("lease lost", 1, 0),
    });
    elector.start();
  } else {
    controller.startWorkers();
  }
  logger.info(
    {
      namespaces: config.watchNamespaces.length > 0 ? config.watchNamespaces : "all",
      ecmEndpoint: config.ecmEndpoint.origin,
      ecmRoute: routeOf(config.ecmEndpoint),
      stsRoute: routeOf(config.stsEndpoint),
      ecmQps: config.ecmQps,
      ecmBurst: config.ecmBurst,
      workers: config.maxConcurrentReconciles,
      leaderElect: config.leaderElect,
      perResourceCredentials: config.perResourceCredentials,
      metricsSecure: config.metricsSecure,
      credentials: config.credentialsDir ? `files in ${config.credentialsDir}` : "environment",
      operatorCredentialsNamespaces:
        config.operatorCredentialsNamespaces.length > 0 ? config.operatorCredentialsNamespaces : "all",
    },
    "eni-operator started",
  );
}

function main(): void {
  const argv = process.argv.slice(2);
  if (argv[0] === "uninstall") {
    runUninstall(argv.slice(1));
    return;
  }
  const command = argv[0];
  if (command !== undefined && !command.startsWith("-")) {
    // The commands, and client-node's clients they use, are loaded only for a command: never by the operator.
    void import("./cli/tools.ts").then(({ runTool }) => runTool(command, argv.slice(1)));
    return;
  }
  const config = configOrUsage(() => parseConfig(argv, process.env), USAGE);
  if (!config) return;
  const logger = createLogger(config.logLevel);
  run(config, logger).catch((err: unknown) => {
    logger.fatal({ err }, "eni-operator could not start");
    process.stderr.write(`eni-operator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

function runUninstall(argv: readonly string[]): void {
  const config = configOrUsage(() => parseUninstallConfig(argv, process.env), UNINSTALL_USAGE);
  if (!config) return;
  const progress = (line: string) => process.stderr.write(`eni-operator uninstall: ${line}\n`);
  const logger = createLogger(config.logLevel);
  Promise.all([loadApiEndpoint(config.kubeconfig), import("./uninstall.ts")])
    .then(([endpoint, { uninstall }]) => uninstall(config, new KubeApi(endpoint), logger, progress))
    .then(
      (code) => process.exit(code),
      (err: unknown) => {
        logger.fatal({ err }, "eni-operator uninstall failed");
        progress(`failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
}

/** The parsed command line; for --help, the usage printed and undefined; for a bad flag, exit 2 with why. */
function configOrUsage<T>(parse: () => T | "help", usage: string): T | undefined {
  let config: T | "help";
  try {
    config = parse();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`eni-operator: ${err.message}\n`);
    process.exit(2);
  }
  if (config !== "help") return config;
  process.stdout.write(`${usage}\n`);
  return undefined;
}

main();
