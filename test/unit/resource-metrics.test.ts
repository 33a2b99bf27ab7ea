import { Registry } from "prom-client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { EniAttachment, EniAttachmentStatus, Operation } from "../../src/api/eniattachment.ts";
import { registerResourceGauges } from "../../src/controller/resource-metrics.ts";

const NOW = new Date("2026-12-01T10:00:00Z");

function call(outcome: Operation["outcome"], errorCode?: string): EniAttachmentStatus {
  return {
    operation: {
      action: "DetachNetworkInterface",
      time: NOW.toISOString(),
      outcome,
      attempts: 1,
      ...(errorCode ? { errorCode, errorMessage: "" } : {}),
    },
  };
}

function describeFailed(errorCode: string): EniAttachmentStatus {
  return { observation: { errorCode, errorMessage: "" } };
}

function resource(name: string, deletedSecondsAgo?: number, status?: EniAttachmentStatus): EniAttachment {
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
    ...(status ? { status } : {}),
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
    const text = await scrape([
      resource("a"),
      resource("b", 90),
      resource("c", 1200, call("Failed", "AuthFailure.SignatureFailure")),
    ]);
    expect(text).toContain("eniattachment_terminating_oldest_seconds 1200");
    expect(text).toContain("eniattachment_terminating_resources 2");
  });

  it("count failing resources per error class, every class present, 0 when nothing is Terminating", async () => {
    const text = await scrape([
      resource("a", undefined, call("Failed", "AuthFailure.SignatureFailure")),
      resource("b", undefined, describeFailed("Credentials.Unavailable")),
      resource("c", undefined, call("Failed", "InternalError")),
      // A describe failure is what fails now, whatever the last call was.
      resource("d", undefined, { ...call("Failed", "InternalError"), ...describeFailed("AuthFailure.TokenFailure") }),
      // Settled, or awaiting confirmation: not failing, an already-done answer's code kept or not.
      resource("e", undefined, call("Confirmed", "UnsupportedOperation.AttachmentNotFound")),
      resource("f", undefined, call("Accepted")),
    ]);
    expect(text).toContain('eniattachment_failing_resources{class="Credentials"} 3');
    expect(text).toContain('eniattachment_failing_resources{class="ServiceFault"} 1');
    expect(text).toContain('eniattachment_failing_resources{class="AlreadyDone"} 0');
    expect(text).toContain('eniattachment_failing_resources{class="InvalidRequest"} 0');
    expect(text).toContain("eniattachment_terminating_oldest_seconds 0");
  });
});
