import { KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { DEFAULT_TIMINGS, LeaderElector } from "../../src/kube/leader-election.ts";
import { silentLogger } from "./fakes.ts";

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: "https://127.0.0.1:1", skipTLSVerify: true }],
    users: [{ name: "u" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

const options = {
  ...DEFAULT_TIMINGS,
  namespace: "ns",
  name: "lease",
  logger: silentLogger,
  onStartedLeading: () => undefined,
  onStoppedLeading: () => undefined,
};

describe("leader election", () => {
  it("refuses timings that could let two replicas lead, or hide a lost lease", () => {
    expect(() => new LeaderElector(kubeConfig(), { ...options, leaseDurationMs: 10_000 })).toThrow(/leaseDuration/);
    expect(() => new LeaderElector(kubeConfig(), { ...options, retryPeriodMs: 9_000 })).toThrow(/renewDeadline/);
    expect(() => new LeaderElector(kubeConfig(), { ...options, requestTimeoutMs: 10_000 })).toThrow(/requestTimeout/);
  });

  it("holds no lease before it has won one", () => {
    expect(new LeaderElector(kubeConfig(), options).holdsLease).toBe(false);
  });
});
