import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { EniAttachment } from "../../src/api/eniattachment.ts";
import { registerResourceGauges } from "../../src/kube/resource-metrics.ts";

const NOW = new Date("2026-12-01T10:00:00Z");

function resource(name: string, deletedSecondsAgo?: number, errorCode?: string): EniAttachment {
  return {
    apiVersion: "ecm.eni-operator.io/v1alpha1",
    kind: "EniAttachment",
    metadata: {
      name,
      namespace: "ns",
      ...(deletedSecondsAgo === undefined
        ? {}
        : { deletionTimestamp: new Date(NOW.getTime() - deletedSecondsAgo * 1000) }),
    },
    spec: { networkInterfaceId: "eni-00000001", instanceId: "ein-00000001", ecmRegion: "ap-xian-ecm" },
    ...(errorCode ? { status: { action: "DetachNetworkInterface", errorCode } } : {}),
  };
}

async function scrape(resources: readonly EniAttachment[]): Promise<string> {
  const registry = new Registry();
  registerResourceGauges(registry, () => resources);
  return registry.metrics();
}

describe("gauges from the cache, for the alerts", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: NOW });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("report how long the oldest Terminating resource has waited, and how many there are", async () => {
    const text = await scrape([resource("a"), resource("b", 90), resource("c", 1200, "AuthFailure.SignatureFailure")]);
    expect(text).toContain("eniattachment_terminating_oldest_seconds 1200");
    expect(text).toContain("eniattachment_terminating_resources 2");
  });

  it("count failing resources per error class, every class present, 0 when nothing is Terminating", async () => {
    const text = await scrape([
      resource("a", undefined, "AuthFailure.SignatureFailure"),
      resource("b", undefined, "Credentials.Unavailable"),
    ]);
    expect(text).toContain('eniattachment_failing_resources{class="Credentials"} 2');
    expect(text).toContain('eniattachment_failing_resources{class="InvalidRequest"} 0');
    expect(text).toContain("eniattachment_terminating_oldest_seconds 0");
  });
});
