import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * Every metric the operator exports, as typed fields. Label values come from closed sets (controller
 * name, result, ECM action, ECM error code), never from object names or messages.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly reconcileTotal = new Counter({
    name: "controller_runtime_reconcile_total",
    help: "Total number of reconciliations per controller",
    labelNames: ["controller", "result"] as const,
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: "controller_runtime_reconcile_errors_total",
    help: "Total number of reconciliation errors per controller",
    labelNames: ["controller"] as const,
    registers: [this.registry],
  });
  readonly reconcileTime = new Histogram({
    name: "controller_runtime_reconcile_time_seconds",
    help: "Length of time per reconciliation per controller",
    labelNames: ["controller"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly activeWorkers = new Gauge({
    name: "controller_runtime_active_workers",
    help: "Number of currently used workers per controller",
    labelNames: ["controller"] as const,
    registers: [this.registry],
  });
  readonly maxWorkers = new Gauge({
    name: "controller_runtime_max_concurrent_reconciles",
    help: "Maximum number of concurrent reconciles per controller",
    labelNames: ["controller"] as const,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "workqueue_depth",
    help: "Current depth of workqueue",
    labelNames: ["name"] as const,
    registers: [this.registry],
  });
  readonly queueAdds = new Counter({
    name: "workqueue_adds_total",
    help: "Total number of adds handled by workqueue",
    labelNames: ["name"] as const,
    registers: [this.registry],
  });
  readonly queueRetries = new Counter({
    name: "workqueue_retries_total",
    help: "Total number of retries handled by workqueue",
    labelNames: ["name"] as const,
    registers: [this.registry],
  });
  readonly queueDuration = new Histogram({
    name: "workqueue_queue_duration_seconds",
    help: "How long in seconds an item stays in workqueue before being requested",
    labelNames: ["name"] as const,
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 60],
    registers: [this.registry],
  });
  readonly workDuration = new Histogram({
    name: "workqueue_work_duration_seconds",
    help: "How long in seconds processing an item from workqueue takes",
    labelNames: ["name"] as const,
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 60],
    registers: [this.registry],
  });
  readonly decodeErrors = new Counter({
    name: "eniattachment_decode_errors_total",
    help: "EniAttachments read that do not match their schema, skipped, by how they were read (watch, list, get)",
    labelNames: ["path"] as const,
    registers: [this.registry],
  });
  readonly leaderStatus = new Gauge({
    name: "leader_election_master_status",
    help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master",
    labelNames: ["name"] as const,
    registers: [this.registry],
  });
  readonly ecmRequests = new Counter({
    name: "ecm_api_requests_total",
    help: "ECM API requests by action and result code (Success or the error code)",
    labelNames: ["action", "code"] as const,
    registers: [this.registry],
  });
  readonly ecmLatency = new Histogram({
    name: "ecm_api_request_duration_seconds",
    help: "ECM API request latency by action",
    labelNames: ["action"] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly ecmLimiterAllowance = new Gauge({
    name: "ecm_api_limiter_allowance",
    help: "Calls per limiter window currently allowed for an ECM action, the lowest of any account (drops after RequestLimitExceeded)",
    labelNames: ["action"] as const,
    registers: [this.registry],
  });

  readonly eventsNamespaceTerminating = new Counter({
    name: "eniattachment_events_namespace_terminating_total",
    help: "Events not recorded because their namespace is being deleted (expected while it goes; logged at debug)",
    registers: [this.registry],
  });

  readonly ecmAccountLimiterAllowance = new Gauge({
    name: "ecm_api_account_limiter_allowance",
    help: "Calls per limiter window currently allowed for one account's ECM action; account is a digest of the SecretId",
    labelNames: ["account", "action"] as const,
    registers: [this.registry],
  });

  constructor() {
    // The event-loop delay histogram samples every 10 ms by default: 100 wake-ups a second, most of an
    // idle operator's CPU. Every 100 ms still shows any delay that matters to a reconcile.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
  }
}
