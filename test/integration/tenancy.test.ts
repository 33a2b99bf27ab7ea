// The tenancy guard: the operator's own credentials serve only the namespaces an administrator lists;
// elsewhere a resource must name its own Secret, or fails with a reason and no ECM call.
import { CoreV1Api } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { DEFAULT_CREDENTIAL, TEAM_CREDENTIAL } from "../emulator/server.ts";
import { adminKubeConfig } from "../support/cluster.ts";
import { REGION, condition, eniId, useScenario } from "../support/scenario.ts";

describe("--operator-credentials-namespaces", () => {
  const s = useScenario("tenancy", {
    emulator: { credentials: [DEFAULT_CREDENTIAL, TEAM_CREDENTIAL] },
    operatorArgs: ["--per-resource-credentials", "--operator-credentials-namespaces=platform"],
  });

  it("refuses the operator's credentials to a namespace not listed, with no ECM call, and serves its own Secret", async () => {
    await s.emulator.control.addEnis([
      { networkInterfaceId: eniId(1), ecmRegion: REGION },
      { networkInterfaceId: eniId(2), ecmRegion: REGION },
    ]);
    await s.create("borrowing", { networkInterfaceId: eniId(1) });
    const refused = await s.waitFor(
      "borrowing",
      (r) => r.status?.observation?.errorCode === "Credentials.OperatorCredentialsNotAllowed",
    );
    expect(refused.status?.phase).toBe("Failed");
    expect(condition(refused, "Synced")).toMatchObject({
      status: "False",
      reason: "Credentials.OperatorCredentialsNotAllowed",
    });
    expect(condition(refused, "Synced")?.message).toContain(
      `namespace ${s.namespace} may not use the operator's own credentials (only platform`,
    );
    expect(await s.calls(undefined, eniId(1))).toEqual([]);
    expect(await s.events("borrowing")).toContain("Credentials.OperatorCredentialsNotAllowed");

    const core = adminKubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({
      namespace: s.namespace,
      body: { metadata: { name: "team-ecm" }, stringData: TEAM_CREDENTIAL },
    });
    await s.create("own", { networkInterfaceId: eniId(2), credentialsSecretRef: { name: "team-ecm" } });
    await s.waitFor("own", (r) => r.status?.phase === "Attached");
    const attach = (await s.calls("AttachNetworkInterface", eniId(2)))[0];
    expect(attach?.secretId).toBe(TEAM_CREDENTIAL.secretId);
    expect((await s.calls()).filter((c) => c.secretId === DEFAULT_CREDENTIAL.secretId)).toEqual([]);
  });
});
