import { request } from "node:https";
import { afterAll, describe, expect, it } from "vitest";
import { agentFor } from "../../src/ecm/endpoint.ts";
import { proxyFor } from "../../src/ecm/proxy.ts";
import { startConnectProxy } from "../support/connect-proxy.ts";

const ECM = new URL("https://ecm.tencentcloudapi.com");

describe("proxy variables for ECM and STS", () => {
  it("takes HTTPS_PROXY for https endpoints and HTTP_PROXY for http ones, upper case first", () => {
    const env = { HTTPS_PROXY: "http://secure:3128", https_proxy: "http://lower:3128", http_proxy: "plain:8080" };
    expect(proxyFor(ECM, env)?.href).toBe("http://secure:3128/");
    expect(proxyFor(new URL("http://127.0.0.1:9000"), env)?.href).toBe("http://plain:8080/");
    expect(proxyFor(ECM, {})).toBeUndefined();
  });

  it.each([
    ["*", true],
    ["tencentcloudapi.com", true],
    [".tencentcloudapi.com", true],
    ["*.tencentcloudapi.com", true],
    ["ecm.tencentcloudapi.com:443", true],
    ["ecm.tencentcloudapi.com:8443", false],
    ["cloudapi.com.cn, example.com", false],
    ["apitencentcloudapi.com", false],
  ])("NO_PROXY=%s bypasses the proxy for ecm.tencentcloudapi.com: %s", (noProxy, bypassed) => {
    expect(proxyFor(ECM, { HTTPS_PROXY: "http://proxy:3128", NO_PROXY: noProxy }) === undefined).toBe(bypassed);
  });

  it("refuses a proxy it cannot use, naming the variable", () => {
    expect(() => proxyFor(ECM, { HTTPS_PROXY: "socks5://proxy:1080" })).toThrow(
      'HTTPS_PROXY must be an http:// proxy (sent a CONNECT), got "socks5://proxy:1080"',
    );
  });
});

describe("the ECM agent behind a CONNECT proxy", () => {
  const refusing = startConnectProxy(["ecm.tencentcloudapi.com:443"]);
  afterAll(async () => {
    await (await refusing).close();
  });

  it("asks the proxy for a tunnel to ECM's host and port, and reports the proxy's refusal", async () => {
    const proxy = await refusing;
    const agent = agentFor(ECM, { HTTPS_PROXY: proxy.url });
    const failure = await new Promise<Error>((resolve) => {
      const req = request({ host: "ecm.tencentcloudapi.com", port: 443, agent, path: "/" }, () =>
        resolve(new Error("answered")),
      );
      req.on("error", resolve);
      req.end();
    });
    expect(proxy.tunnels).toEqual(["ecm.tencentcloudapi.com:443"]);
    expect(failure.message).toBe(
      `proxy ${new URL(proxy.url).host} (CONNECT ecm.tencentcloudapi.com:443) answered "HTTP/1.1 403 Forbidden"`,
    );
    agent.destroy();
  });
});
