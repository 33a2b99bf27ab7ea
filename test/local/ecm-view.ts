// What the emulator saw and holds, as small tables: the journal of ECM calls and the ENIs' state.
import type { Credential } from "../emulator/authenticate.ts";
import type { EniView } from "../emulator/eni-store.ts";
import { isJsonObject, type JsonValue } from "../emulator/json.ts";
import type { JournalEntry } from "../emulator/journal.ts";
import { SAMPLES } from "./samples.ts";
import { table } from "./narrator.ts";

/** The ENI ids a call names: NetworkInterfaceId (Attach, Detach) or NetworkInterfaceIds (Describe). */
export function enisOf(call: JournalEntry): string[] {
  const params: JsonValue = call.params;
  if (!isJsonObject(params)) return [];
  const one = params["NetworkInterfaceId"];
  const many = params["NetworkInterfaceIds"];
  if (typeof one === "string") return [one];
  return Array.isArray(many) ? many.filter((id) => typeof id === "string") : [];
}

/** Journal entries for `action` naming `eni`. */
export function callsFor(calls: readonly JournalEntry[], action: string, eni: string): JournalEntry[] {
  return calls.filter((call) => call.action === action && enisOf(call).includes(eni));
}

/** Names the credentials by where the operator took them from. */
export type CredentialLabels = ReadonlyMap<string, string>;

export function credentialLabels(entries: readonly (readonly [Credential, string])[]): CredentialLabels {
  return new Map(entries.map(([credential, label]) => [credential.secretId, label]));
}

export function callsTable(calls: readonly JournalEntry[], labels: CredentialLabels): string {
  return table(
    ["#", "ACTION", "ENI", "SIGNED WITH", "CODE", "REQUEST-ID"],
    calls.map((call) => [
      String(call.seq),
      call.action,
      enisOf(call).join(","),
      labels.get(call.secretId ?? "") ?? call.secretId ?? "?",
      call.code,
      call.requestId ?? "(none)",
    ]),
  );
}

export function enisTable(enis: readonly EniView[]): string {
  return table(
    ["ENI", "REGION", "STATE", "ATTACHED TO", "SAMPLE"],
    enis.map((eni) => [
      eni.networkInterfaceId,
      eni.ecmRegion,
      eni.state,
      eni.attachedInstanceId ?? "-",
      SAMPLES.find((s) => s.eni === eni.networkInterfaceId)?.resource ?? "",
    ]),
  );
}
