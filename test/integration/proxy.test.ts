// ECM through an egress proxy: HTTP_PROXY / HTTPS_PROXY and NO_PROXY, as an enterprise network sets them.
import { afterAll, describe, expect, it } from "vitest";
import { startConnectProxy } from "../support/connect-proxy.ts";
import { REGION, eniId, useScenario } from "../support/scenario.ts";

const proxy = await startConnectProxy();
const direct = await startConnectProxy();

describe("ECM calls through an HTTP CONNECT proxy", () => {
  // The emulator listens on plain HTTP, so HTTP_PROXY is the variable that applies to it (HTTPS_PROXY
  // to the https endpoints of production; both tunnel with CONNECT).
  const s = useScenario("proxy", { operatorEnv: { HTTP_PROXY: proxy.url, NO_PROXY: "kubernetes.default.svc" } });
  afterAll(async () => {
    await proxy.close();
  });

  it("tunnels every ECM call through the proxy, and says so at start", async () => {
    await s.emulator.control.addEnis([{ networkInterfaceId: eniId(1), ecmRegion: REGION }]);
    await s.create("proxied", { networkInterfaceId: eniId(1) });
    await s.waitFor("proxied", (r) => r.status?.phase === "Attached");
    expect((await s.calls("AttachNetworkInterface", eniId(1)))[0]?.code).toBe("Success");
    expect(proxy.tunnels.length).toBeGreaterThan(0);
    expect(new Set(proxy.tunnels)).toEqual(new Set([`127.0.0.1:${s.emulator.port}`]));
    const started = s.operator.logs.find((line) => line.msg === "eni-operator started");
    expect(started?.["ecmRoute"]).toBe(`through proxy ${new URL(proxy.url).host}`);
  });
});

describe("ECM calls to a host NO_PROXY names", () => {
  const s = useScenario("no-proxy", { operatorEnv: { HTTP_PROXY: direct.url, NO_PROXY: "localhost,127.0.0.1" } });
  afterAll(async () => {
    await direct.close();
  });

  it("go direct", async () => {
    await s.emulator.control.addEnis([{ networkInterfaceId: eniId(1), ecmRegion: REGION }]);
    await s.create("direct", { networkInterfaceId: eniId(1) });
    await s.waitFor("direct", (r) => r.status?.phase === "Attached");
    expect(direct.tunnels).toEqual([]);
    const started = s.operator.logs.find((line) => line.msg === "eni-operator started");
    expect(started?.["ecmRoute"]).toBe("direct");
  });
});
