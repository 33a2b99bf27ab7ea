import { SYNC_PERIOD_ANNOTATION, type EniAttachment } from "../api/eniattachment.ts";

export const MIN_SYNC_PERIOD_MS = 30_000;
export const MAX_SYNC_PERIOD_MS = 24 * 3_600_000;

/** `90s`, `5m`, `1h30m` in ms; undefined for anything else. */
export function parseSyncPeriodMs(raw: string): number | undefined {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(raw.trim());
  if (!match || raw.trim() === "") return undefined;
  const [hours = 0, minutes = 0, seconds = 0] = match.slice(1).map((part) => (part ? Number(part) : 0));
  return ((hours * 60 + minutes) * 60 + seconds) * 1000;
}

export type SyncPeriod = { readonly ms: number } | { readonly ms: number; readonly invalid: string };

/**
 * The drift interval of one resource: its annotation when that is a duration within [30s, 24h],
 * otherwise the operator's --sync-period, with the reason the annotation was not taken.
 */
export function syncPeriodOf(resource: EniAttachment, defaultMs: number): SyncPeriod {
  const raw = resource.metadata.annotations?.[SYNC_PERIOD_ANNOTATION];
  if (raw === undefined) return { ms: defaultMs };
  const ms = parseSyncPeriodMs(raw);
  if (ms === undefined || ms < MIN_SYNC_PERIOD_MS || ms > MAX_SYNC_PERIOD_MS) {
    return {
      ms: defaultMs,
      invalid: `annotation ${SYNC_PERIOD_ANNOTATION} must be a duration from 30s to 24h such as 90s or 10m, got ${JSON.stringify(raw)}`,
    };
  }
  return { ms };
}
