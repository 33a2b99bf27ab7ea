import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ecmClient, loopbackAgent, sdkError, startCliEmulator } from "./clients.ts";
import { EmulatorControl } from "./control-client.ts";

const CREDENTIAL = { secretId: "AKIDcliEXAMPLE000000000000000000000", secretKey: "cliSecretKeyEXAMPLE0000000000000" };

describe("npm run emulator", () => {
  it("prints one line with its URL, serves the given credentials to another process, and stops on SIGTERM", async () => {
    const emulator = await startCliEmulator([
      "--port",
      "0",
      "--secret-id",
      CREDENTIAL.secretId,
      "--secret-key",
      CREDENTIAL.secretKey,
      "--quota",
      "5",
      "--transition-ms",
      "0",
    ]);
    const agent = loopbackAgent(emulator.port);
    try {
      expect(emulator.output).toEqual([
        `ECM emulator listening on http://127.0.0.1:${emulator.port} (secretId ${CREDENTIAL.secretId})`,
      ]);
      const control = new EmulatorControl(emulator.url);
      await control.addEnis([
        { networkInterfaceId: "eni-cli00001", ecmRegion: "ap-xian-ecm", attachedInstanceId: "ein-cli00001" },
      ]);
      await ecmClient(agent, CREDENTIAL).request("DetachNetworkInterface", {
        NetworkInterfaceId: "eni-cli00001",
        InstanceId: "ein-cli00001",
        EcmRegion: "ap-xian-ecm",
      });
      expect(await control.enis()).toMatchObject([{ state: "AVAILABLE", attachedInstanceId: null }]);
      expect(await control.settings()).toMatchObject({ quotaPerSecond: 5, detachDelayMs: 0 });
      expect((await sdkError(ecmClient(agent).describe({ EcmRegion: "ap-xian-ecm" }))).code).toBe(
        "AuthFailure.SecretIdNotFound",
      );
    } finally {
      agent.destroy();
    }
    expect(await emulator.stop()).toBe(0);
    expect(emulator.output).toHaveLength(1);
  });

  it("refuses bad flags with a usage message and exit code 2", async () => {
    const cli = fileURLToPath(new URL("./cli.ts", import.meta.url));
    const failure = await promisify(execFile)(process.execPath, [cli, "--secret-id", "AKIDonly"]).then(
      () => undefined,
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toContain("give both --secret-id and --secret-key");
    expect(failure?.stderr).toContain("usage: npm run emulator");
  });
});
