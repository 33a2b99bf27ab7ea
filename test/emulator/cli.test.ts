import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
      "--describe-lag-ms",
      "1500",
      "--describe-lag-share",
      "0.25",
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
      expect(await control.settings()).toMatchObject({
        quotaPerSecond: 5,
        detachDelayMs: 0,
        describeLagMs: 1500,
        describeLagShare: 0.25,
      });
      expect((await sdkError(ecmClient(agent).describe({ EcmRegion: "ap-xian-ecm" }))).code).toBe(
        "AuthFailure.SecretIdNotFound",
      );
    } finally {
      agent.destroy();
    }
    expect(await emulator.stop()).toBe(0);
    expect(emulator.output).toHaveLength(1);
  });

  it("accepts several accounts from --credentials-file, each with its own quota", async () => {
    const dir = mkdtempSync(join(tmpdir(), "emulator-credentials-"));
    const other = { secretId: "AKIDcliOTHER0000000000000000000000000", secretKey: "cliOtherSecretKey000000000000000" };
    const file = join(dir, "credentials.json");
    writeFileSync(file, JSON.stringify([CREDENTIAL, other]));
    const emulator = await startCliEmulator(["--port", "0", "--credentials-file", file, "--quota", "1"]);
    const agent = loopbackAgent(emulator.port);
    try {
      expect(emulator.output[0]).toContain(`${CREDENTIAL.secretId}, ${other.secretId}`);
      const answers = await Promise.all(
        [CREDENTIAL, other].map((credential) =>
          ecmClient(agent, credential)
            .describe({ EcmRegion: "ap-xian-ecm" })
            .then(() => "Success"),
        ),
      );
      expect(answers).toEqual(["Success", "Success"]);
    } finally {
      agent.destroy();
      rmSync(dir, { recursive: true });
    }
    expect(await emulator.stop()).toBe(0);
  });

  it("documents --credentials-file in --help", async () => {
    const cli = fileURLToPath(new URL("./cli.ts", import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [cli, "--help"]);
    expect(stdout).toContain("--credentials-file PATH");
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
