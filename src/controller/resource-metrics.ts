import { Gauge, type Registry } from "prom-client";
import { currentFailure } from "../api/current-failure.ts";
import type { EniAttachment } from "../api/eniattachment.ts";
import { classify, type ErrorClass } from "../ecm/errors.ts";

/** Every class of the error table, so each series exists (at 0) before anything fails. */
const ERROR_CLASSES: readonly ErrorClass[] = [
  "AlreadyDone",
  "InTransition",
  "Throttled",
  "ServiceFault",
  "Credentials",
  "InvalidRequest",
];

/**
 * Gauges computed from the informer cache at each scrape, for the chart's alerts: how long the oldest
 * Terminating resource has waited for its finalizer, how many are Terminating, and how many are failing
 * per error class. No object names in labels: the alert says something is stuck, `kubectl` says what.
 */
export function registerResourceGauges(registry: Registry, resources: () => readonly EniAttachment[]): void {
  new Gauge({
    name: "eniattachment_terminating_oldest_seconds",
    help: "Seconds since the deletion of the oldest EniAttachment still Terminating (0 when none is)",
    registers: [registry],
    collect() {
      const now = Date.now();
      const ages = resources()
        .map((r) => r.metadata.deletionTimestamp)
        .filter((t) => t !== undefined);
      this.set(Math.max(0, ...ages.map((t) => (now - new Date(t).getTime()) / 1000)));
    },
  });
  new Gauge({
    name: "eniattachment_terminating_resources",
    help: "EniAttachments deleted and waiting for their detach (Terminating)",
    registers: [registry],
    collect() {
      this.set(resources().filter((r) => r.metadata.deletionTimestamp !== undefined).length);
    },
  });
  new Gauge({
    name: "eniattachment_failing_resources",
    help: "EniAttachments failing now (last Describe, or last call not since confirmed), by class of the error table",
    labelNames: ["class"] as const,
    registers: [registry],
    collect() {
      const counts = new Map<ErrorClass, number>(ERROR_CLASSES.map((c) => [c, 0]));
      for (const resource of resources()) {
        const failure = currentFailure(resource.status);
        if (!failure) continue;
        const errorClass = classify(failure.code, failure.action).class;
        counts.set(errorClass, (counts.get(errorClass) ?? 0) + 1);
      }
      for (const [errorClass, count] of counts) this.set({ class: errorClass }, count);
    },
  });
}
