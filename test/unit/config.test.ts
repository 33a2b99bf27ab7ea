import { describe, expect, it } from "vitest";
import { ConfigError, parseBindAddress, parseConfig, parseUninstallConfig } from "../../src/config.ts";

describe("operator flags", () => {
  it("has controller-runtime's defaults", () => {
    const config = parseConfig([], {});
    expect(config).toMatchObject({
      kubeconfig: undefined,
      watchNamespaces: [],
      metricsBindAddress: { host: "0.0.0.0", port: 8080 },
      healthProbeBindAddress: { host: "0.0.0.0", port: 8081 },
      leaderElect: false,
      ecmQps: 20,
      ecmBurst: 20,
      logLevel: "info",
      perResourceCredentials: false,
      metricsSecure: false,
      syncPeriodMs: 300_000,
    });
    expect(parseConfig(["--sync-period=1h30m"], {})).toMatchObject({ syncPeriodMs: 5_400_000 });
    expect(parseConfig([], { SYNC_PERIOD: "30s" })).toMatchObject({ syncPeriodMs: 30_000 });
    expect(config !== "help" && config.ecmEndpoint.href).toBe("https://ecm.tencentcloudapi.com/");
    expect(config !== "help" && config.stsEndpoint.href).toBe("https://sts.tencentcloudapi.com/");
    const local = parseConfig([], { STS_ENDPOINT: "http://127.0.0.1:9000" });
    expect(local !== "help" && local.stsEndpoint.href).toBe("http://127.0.0.1:9000/");
  });

  it("takes each flag from the environment, and a flag over the environment", () => {
    const env = { WATCH_NAMESPACE: "a,b", ECM_QPS: "10", LEADER_ELECT: "true", METRICS_BIND_ADDRESS: "0" };
    expect(parseConfig([], env)).toMatchObject({
      watchNamespaces: ["a", "b"],
      ecmQps: 10,
      leaderElect: true,
      metricsBindAddress: undefined,
    });
    expect(parseConfig(["--ecm-qps=5", "--watch-namespace", "c", "--watch-namespace=d,c"], env)).toMatchObject({
      ecmQps: 5,
      watchNamespaces: ["c", "d"],
    });
  });

  it("reads --credentials-dir and --operator-credentials-namespaces, or CREDENTIALS_DIR and OPERATOR_CREDENTIALS_NAMESPACES", () => {
    expect(parseConfig([], {})).toMatchObject({ credentialsDir: undefined, operatorCredentialsNamespaces: [] });
    expect(
      parseConfig(
        ["--credentials-dir=/creds", "--operator-credentials-namespaces", "a,b", "--operator-credentials-namespaces=a"],
        {},
      ),
    ).toMatchObject({ credentialsDir: "/creds", operatorCredentialsNamespaces: ["a", "b"] });
    expect(parseConfig([], { CREDENTIALS_DIR: "/env", OPERATOR_CREDENTIALS_NAMESPACES: "platform" })).toMatchObject({
      credentialsDir: "/env",
      operatorCredentialsNamespaces: ["platform"],
    });
  });

  it("reads a bare --leader-elect, --per-resource-credentials or --metrics-secure as true", () => {
    expect(parseConfig(["--leader-elect"], {})).toMatchObject({ leaderElect: true });
    expect(parseConfig(["--per-resource-credentials", "--metrics-secure"], {})).toMatchObject({
      perResourceCredentials: true,
      metricsSecure: true,
    });
    expect(parseConfig([], { PER_RESOURCE_CREDENTIALS: "true", METRICS_SECURE: "true" })).toMatchObject({
      perResourceCredentials: true,
      metricsSecure: true,
    });
    expect(parseConfig(["--leader-elect=false"], { LEADER_ELECT: "true" })).toMatchObject({ leaderElect: false });
  });

  it.each([
    [["--ecm-qps=0"], /--ecm-qps must be a number >= 0.001, got "0"/],
    [["--ecm-burst=2.5"], /--ecm-burst must be an integer >= 1/],
    [["--max-concurrent-reconciles=none"], /--max-concurrent-reconciles must be an integer/],
    [["--log-level=loud"], /--log-level must be one of/],
    [["--ecm-endpoint=ftp://x"], /--ecm-endpoint must be an http or https URL/],
    [["--ecm-endpoint=not a url"], /is not a URL/],
    [["--sts-endpoint=ftp://x"], /--sts-endpoint must be an http or https URL/],
    [
      ["--sts-endpoint=not a url"],
      /--sts-endpoint "not a url" is not a URL such as https:\/\/sts\.tencentcloudapi\.com/,
    ],
    [["--metrics-bind-address=8080"], /--metrics-bind-address must be HOST:PORT, :PORT or 0/],
    [["--leader-elect=maybe"], /--leader-elect must be true or false/],
    [["--per-resource-credentials=yes"], /--per-resource-credentials must be true or false/],
    [["--no-such-flag"], /Unknown option '--no-such-flag'/],
    [["--sync-period=10s"], /--sync-period must be a duration of at least 30s, such as 90s, 5m or 1h, got "10s"/],
    [["--sync-period=5"], /--sync-period must be a duration/],
  ])("refuses %j with a clear message", (argv, message) => {
    expect(() => parseConfig(argv, {})).toThrow(ConfigError);
    expect(() => parseConfig(argv, {})).toThrow(message);
  });

  it("parses bind addresses, IPv6 included", () => {
    expect(parseBindAddress("x", "127.0.0.1:0")).toEqual({ host: "127.0.0.1", port: 0 });
    expect(parseBindAddress("x", "[::1]:9090")).toEqual({ host: "::1", port: 9090 });
    expect(() => parseBindAddress("x", ":70000")).toThrow(/HOST:PORT/);
  });
});

describe("uninstall flags", () => {
  it("takes --policy and --timeout beside the operator's flags", () => {
    expect(
      parseUninstallConfig(["--policy", "Orphan", "--timeout=90s", "--watch-namespace=a", "--ecm-qps=5"], {}),
    ).toMatchObject({ policy: "Orphan", timeoutMs: 90_000, watchNamespaces: ["a"], ecmQps: 5 });
    expect(parseUninstallConfig(["--policy=Detach"], {})).toMatchObject({ policy: "Detach", timeoutMs: 600_000 });
  });

  it.each([
    [[], /--policy must be Detach or Orphan, got ""/],
    [["--policy", "Delete"], /--policy must be Detach or Orphan, got "Delete"/],
    [["--policy"], /--policy needs a value/],
    [["--policy=Detach", "--timeout=soon"], /--timeout must be a duration such as 90s, 10m or 1h, got "soon"/],
    [["--policy=Detach", "--no-such-flag"], /Unknown option '--no-such-flag'/],
  ])("refuses %j with a clear message", (argv, message) => {
    expect(() => parseUninstallConfig(argv, {})).toThrow(message);
  });
});
