import { CoreV1Api } from "@kubernetes/client-node";
import { RETRY_POLICY } from "../../src/controller/backoff.ts";
import { describe, expect, it } from "vitest";
import { adminKubeConfig, kubectl } from "../support/cluster.ts";
import { DEFAULT_CREDENTIAL, TEAM_CREDENTIAL } from "../emulator/server.ts";
import { REGION, condition, eniId, instanceId, useScenario } from "../support/scenario.ts";

describe("per-resource credentials from a Secret", () => {
  const s = useScenario("credentials", {
    emulator: { credentials: [DEFAULT_CREDENTIAL, TEAM_CREDENTIAL] },
    operatorArgs: ["--per-resource-credentials"],
  });
  const core = adminKubeConfig().makeApiClient(CoreV1Api);

  it("reports a missing Secret, then uses it as soon as it exists, without waiting for the slow retry", async () => {
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(1), ecmRegion: REGION, attachedInstanceId: instanceId(1) },
    ]);
    await s.create("team", {
      networkInterfaceId: eniId(1),
      desiredState: "Detached",
      credentialsSecretRef: { name: "team-ecm" },
    });
    const waiting = await s.waitFor("team", (r) => r.status?.observation?.errorCode === "Credentials.Unavailable");
    expect(waiting.status?.phase).toBe("Failed");
    expect(condition(waiting, "Synced")?.message).toContain("team-ecm");

    // The Secret's arrival must not wait for the slow credentials retry of the error table.
    const slowRetry = Date.now() + RETRY_POLICY.Credentials.baseMs;
    const created = Date.now();
    await core.createNamespacedSecret({
      namespace: s.namespace,
      body: {
        metadata: { name: "team-ecm" },
        stringData: { secretId: TEAM_CREDENTIAL.secretId, secretKey: TEAM_CREDENTIAL.secretKey },
      },
    });
    const done = await s.waitFor("team", (r) => r.status?.phase === "Detached", 40_000);
    console.log(`detached ${Date.now() - created} ms after the Secret appeared`);
    const detach = (await s.calls("DetachNetworkInterface", eniId(1)))[0];
    expect(Date.parse(detach?.time ?? "")).toBeLessThan(slowRetry);
    expect(detach?.secretId).toBe(TEAM_CREDENTIAL.secretId);
    expect(done.status?.operation?.requestId).toBe(detach?.requestId);
  });

  it("retries at once when a Secret with wrong keys is corrected", async () => {
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(2), ecmRegion: REGION, attachedInstanceId: instanceId(1) },
    ]);
    await core.createNamespacedSecret({
      namespace: s.namespace,
      body: {
        metadata: { name: "wrong-ecm" },
        stringData: { secretId: TEAM_CREDENTIAL.secretId, secretKey: "notTheRightKeyAtAll000000000000" },
      },
    });
    await s.create("wrong", {
      networkInterfaceId: eniId(2),
      desiredState: "Detached",
      credentialsSecretRef: { name: "wrong-ecm" },
    });
    const failing = await s.waitFor(
      "wrong",
      (r) => r.status?.observation?.errorCode === "AuthFailure.SignatureFailure",
    );
    expect(condition(failing, "Synced")).toMatchObject({ status: "False", reason: "AuthFailure.SignatureFailure" });

    // The failed Describe is retried by the slow credentials schedule of the error table (30 s): the
    // Secret's change must come first.
    const slowRetry = Date.now() + RETRY_POLICY.Credentials.baseMs;
    await core.replaceNamespacedSecret({
      name: "wrong-ecm",
      namespace: s.namespace,
      body: {
        metadata: { name: "wrong-ecm" },
        stringData: { secretId: TEAM_CREDENTIAL.secretId, secretKey: TEAM_CREDENTIAL.secretKey },
      },
    });
    await s.waitFor("wrong", (r) => r.status?.phase === "Detached", 40_000);
    const accepted = (await s.calls("DetachNetworkInterface", eniId(2))).find((c) => c.code === "Success");
    // Retried when the Secret changed, not at the slow credentials retry.
    expect(Date.parse(accepted?.time ?? "")).toBeLessThan(slowRetry);
  });

  it("never shows secret values in status, events, logs or metrics", async () => {
    const everything = [
      JSON.stringify(await s.get("team")),
      JSON.stringify(await s.get("wrong")),
      (await kubectl(["get", "events", "-n", s.namespace, "-o", "yaml"])).stdout,
      JSON.stringify(s.operator.logs),
      s.operator.stderr(),
      await (await fetch(s.operator.metricsUrl)).text(),
    ].join("\n");
    expect(everything).not.toContain(TEAM_CREDENTIAL.secretKey);
    expect(everything).not.toContain("notTheRightKeyAtAll");
    expect(everything).not.toContain("emulatorSecretKeyDEFAULT");
  });
});

describe("per-resource credentials where the installation does not enable them (the default)", () => {
  const s = useScenario("credentials-off", { emulator: { credentials: [DEFAULT_CREDENTIAL, TEAM_CREDENTIAL] } });
  const core = adminKubeConfig().makeApiClient(CoreV1Api);

  it("reports that they are disabled, and makes no ECM call until the reference is removed", async () => {
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(3), ecmRegion: REGION, attachedInstanceId: instanceId(1) },
    ]);
    await core.createNamespacedSecret({
      namespace: s.namespace,
      body: {
        metadata: { name: "team-ecm" },
        stringData: { secretId: TEAM_CREDENTIAL.secretId, secretKey: TEAM_CREDENTIAL.secretKey },
      },
    });
    await s.create("named", {
      networkInterfaceId: eniId(3),
      desiredState: "Detached",
      credentialsSecretRef: { name: "team-ecm" },
    });
    const refused = await s.waitFor(
      "named",
      (r) => r.status?.observation?.errorCode === "Credentials.PerResourceDisabled",
    );
    expect(condition(refused, "Synced")).toMatchObject({ status: "False", reason: "Credentials.PerResourceDisabled" });
    expect(condition(refused, "Synced")?.message).toContain("does not enable per-resource credentials");
    expect(condition(refused, "Ready")).toMatchObject({ status: "False", reason: "DetachFailed" });
    expect(refused.status?.phase).toBe("Failed");
    expect(await s.calls()).toEqual([]);

    const removed = await kubectl([
      "patch",
      "enia/named",
      "-n",
      s.namespace,
      "--type=json",
      '-p=[{"op":"remove","path":"/spec/credentialsSecretRef"}]',
    ]);
    expect(removed.stderr).toBe("");
    await s.waitFor("named", (r) => r.status?.phase === "Detached");
    const detach = (await s.calls("DetachNetworkInterface", eniId(3)))[0];
    expect(detach?.secretId).toBe(DEFAULT_CREDENTIAL.secretId);
  });
});
