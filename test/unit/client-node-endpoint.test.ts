import { HttpMethod, RequestContext } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { PooledKubeConfig } from "../../src/kube/client-node-endpoint.ts";

const b64 = (text: string) => Buffer.from(text).toString("base64");

function kubeConfig(certData: string): PooledKubeConfig {
  const kc = new PooledKubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: "https://127.0.0.1:6443", caData: b64("ca"), skipTLSVerify: false }],
    users: [{ name: "u", certData: b64(certData), keyData: b64("key"), token: "t0ken" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

async function authenticated(kc: PooledKubeConfig): Promise<RequestContext> {
  const context = new RequestContext("https://127.0.0.1:6443/api", HttpMethod.GET);
  await kc.applySecurityAuthentication(context);
  return context;
}

describe("the pooled kubeconfig", () => {
  it("gives every request the same connection pool, and each its headers", async () => {
    const kc = kubeConfig("cert");
    const first = await authenticated(kc);
    const second = await authenticated(kc);
    expect(first.getDispatcher()).toBeDefined();
    expect(second.getDispatcher()).toBe(first.getDispatcher());
    expect(second.getHeaders()["Authorization"]).toBe("Bearer t0ken");
  });

  it("opens a new pool when the TLS settings change (a rotated client certificate)", async () => {
    const kc = kubeConfig("cert");
    const before = await authenticated(kc);
    const user = kc.getCurrentUser();
    if (!user) throw new Error("no user");
    Object.assign(user, { certData: b64("rotated") });
    const after = await authenticated(kc);
    expect(after.getDispatcher()).not.toBe(before.getDispatcher());
    expect((await authenticated(kc)).getDispatcher()).toBe(after.getDispatcher());
  });
});
