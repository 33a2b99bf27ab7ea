// A typed client of the control API, so that a test can drive an emulator running in another process.
import type { EniView, SeedEni } from "./eni-store.ts";
import type { ActiveFault, FaultRule } from "./faults.ts";
import type { JournalEntry } from "./journal.ts";
import type { Settings, SettingsPatch } from "./settings.ts";
import type { IssuedCredential } from "./sts.ts";

export class EmulatorControl {
  readonly #baseUrl: string;

  /** `baseUrl` is the emulator's URL, e.g. http://127.0.0.1:9000. */
  constructor(baseUrl: string) {
    this.#baseUrl = baseUrl.replace(/\/+$/, "");
  }

  /** Adds ENIs (all or none); returns them as `enis()` would. */
  async addEnis(enis: readonly SeedEni[]): Promise<EniView[]> {
    return (await this.#call("POST", "enis", enis)) as EniView[];
  }

  /** Every ENI with its current state. */
  async enis(): Promise<EniView[]> {
    return (await this.#call("GET", "enis")) as EniView[];
  }

  /** The journal, or only the entries after sequence number `afterSeq`. */
  async calls(afterSeq = 0): Promise<JournalEntry[]> {
    return (await this.#call("GET", `calls?since=${afterSeq}`)) as JournalEntry[];
  }

  async addFault(rule: FaultRule): Promise<ActiveFault> {
    return (await this.#call("POST", "faults", rule)) as ActiveFault;
  }

  /** The fault rules still active, with the count they have left. */
  async faults(): Promise<ActiveFault[]> {
    return (await this.#call("GET", "faults")) as ActiveFault[];
  }

  /** Temporary credentials STS AssumeRoleWithWebIdentity issued, secrets included. */
  async issuedCredentials(): Promise<IssuedCredential[]> {
    return (await this.#call("GET", "issued-credentials")) as IssuedCredential[];
  }

  /** Changes the given settings (none when called without a patch) and returns them all. */
  async settings(patch?: SettingsPatch): Promise<Settings> {
    return (await (patch === undefined
      ? this.#call("GET", "settings")
      : this.#call("POST", "settings", patch))) as Settings;
  }

  /** Stops accepting a SecretId (reset() accepts it again). */
  async revokeCredential(secretId: string): Promise<void> {
    await this.#call("POST", "revoke-credential", { secretId });
  }

  /** Forgets ENIs, journal, fault rules and quota counts, and restores the settings the emulator started with. */
  async reset(): Promise<void> {
    await this.#call("POST", "reset");
  }

  async #call(method: "GET" | "POST", route: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.#baseUrl}/_emulator/${route}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`emulator control ${method} ${route}: HTTP ${response.status} ${text}`);
    return JSON.parse(text) as unknown;
  }
}
