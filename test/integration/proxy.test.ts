// ECM through an egress proxy: HTTP_PROXY / HTTPS_PROXY and NO_PROXY, as an enterprise network sets them.
import { writeFile, mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { afterAll, describe, expect, it } from "vitest";
import { selfSignedCertificate } from "../../src/observability/self-signed.ts";
import { startConnectProxy } from "../support/connect-proxy.ts";
import { REGION, eniId, useScenario } from "../support/scenario.ts";

const proxy = await startConnectProxy();
const direct = await startConnectProxy();
const secureProxy = await startConnectProxy();

/**
 * An https endpoint for the emulator, as a TLS-terminating gateway of a private network would be:
 * TLS with a certificate for localhost that only NODE_EXTRA_CA_CERTS makes trusted, then the bytes on
 * to the emulator (whose port is known once the scenario has started it).
 */
const upstream = { port: 0 };
const certificate = await selfSignedCertificate(["localhost"]);
const caDir = await mkdtemp(join(tmpdir(), "eni-operator-ca-"));
await writeFile(join(caDir, "ca.crt"), certificate.cert);
const gateway = tls.createServer({ cert: certificate.cert, key: certificate.key }, (socket) => {
  const emulator = net.connect({ host: "127.0.0.1", port: upstream.port });
  socket.pipe(emulator).pipe(socket);
  socket.on("error", () => emulator.destroy());
  emulator.on("error", () => socket.destroy());
});
await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
const gatewayPort = (gateway.address() as net.AddressInfo).port;

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

describe("ECM over https through HTTPS_PROXY, trusted by a private CA", () => {
  const s = useScenario("https-proxy", {
    operatorArgs: [`--ecm-endpoint=https://localhost:${gatewayPort}`],
    operatorEnv: { HTTPS_PROXY: secureProxy.url, NODE_EXTRA_CA_CERTS: join(caDir, "ca.crt") },
  });
  afterAll(async () => {
    await secureProxy.close();
    await new Promise<void>((resolve) => gateway.close(() => resolve()));
    await rm(caDir, { recursive: true, force: true });
  });

  it("tunnels to the https endpoint and verifies its certificate end to end", async () => {
    upstream.port = s.emulator.port;
    await s.emulator.control.addEnis([{ networkInterfaceId: eniId(1), ecmRegion: REGION }]);
    await s.create("secure", { networkInterfaceId: eniId(1) });
    await s.waitFor("secure", (r) => r.status?.phase === "Attached");
    expect(new Set(secureProxy.tunnels)).toEqual(new Set([`localhost:${gatewayPort}`]));
    const started = s.operator.logs.find((line) => line.msg === "eni-operator started");
    expect(started?.["ecmRoute"]).toBe(`through proxy ${new URL(secureProxy.url).host}`);
  });
});
