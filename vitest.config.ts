import { defineConfig } from "vitest/config";

// Three projects: pure unit tests, the ECM emulator (loopback HTTP only), and integration tests that
// share one real control plane (etcd + kube-apiserver) started by the global setup.
export default defineConfig({
  test: {
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      { test: { name: "emulator", include: ["test/emulator/**/*.test.ts"], testTimeout: 60_000 } },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/support/global-setup.ts"],
          // One file at a time: the throughput test measures the quota, not a contended CPU.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
