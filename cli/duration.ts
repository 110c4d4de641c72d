import { MAX_EXEMPTION_MS } from '../shared/exemptions/ledger';
import { UsageError } from './errors';

export { formatMinutes } from '../shared/duration';

/**
 * One grammar for every duration the command line reads (--ttl, --exempt-for, --since, --until):
 * whole units, largest first, each at most once: `90m`, `12h`, `1h30m`, `7d`, `2w`, `1d12h`.
 */
const DURATION = /^(?:(\d{1,4})w)?(?:(\d{1,5})d)?(?:(\d{1,5})h)?(?:(\d{1,6})m)?$/;
const UNIT_MS = [7 * 86_400_000, 86_400_000, 3_600_000, 60_000] as const;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}/;
const MINUTE_MS = 60_000;

/** `1h30m` → 5,400,000 ms; undefined when it is not a duration. */
export function durationMs(text: string): number | undefined {
  const match = DURATION.exec(text.trim().toLowerCase());
  if (!match || match.slice(1).every((part) => part === undefined)) return undefined;
  return UNIT_MS.reduce((total, unitMs, index) => total + Number(match[index + 1] ?? 0) * unitMs, 0);
}

/** A flag's duration in whole minutes, from 1 minute up to the longest allowed when one is given. */
export function parseMinutes(flag: string, text: string, longest?: { ms: number; text: string }): number {
  const ms = durationMs(text);
  if (ms === undefined) {
    throw new UsageError(`invalid ${flag} '${text}': write a duration such as 30m, 1h, 1h30m, 7d or 2w`);
  }
  if (ms < MINUTE_MS) throw new UsageError(`invalid ${flag} '${text}': at least 1 minute`);
  if (longest && ms > longest.ms) throw new UsageError(`invalid ${flag} '${text}': at most ${longest.text}`);
  return ms / MINUTE_MS;
}

/** `--since`: a duration back from now or an ISO date/time, not in the future. */
export function parseSince(text: string, now: Date): Date {
  const back = durationMs(text);
  const since = back === undefined ? isoDate(text) : new Date(now.getTime() - back);
  if (!since) {
    throw new UsageError(`invalid --since '${text}': write 30d, 12h, 90m or an ISO date such as 2026-11-01`);
  }
  if (since > now) throw new UsageError(`invalid --since '${text}': it is in the future`);
  return since;
}

/** `report --until`: a duration back from now or an ISO date/time, not in the future. */
export function parsePeriodEnd(text: string, now: Date): Date {
  const back = durationMs(text);
  const until = back === undefined ? isoDate(text) : new Date(now.getTime() - back);
  if (!until) {
    throw new UsageError(`invalid --until '${text}': write 7d, 12h, 90m or an ISO date such as 2026-10-01`);
  }
  if (until > now) throw new UsageError(`invalid --until '${text}': it is in the future`);
  return until;
}

/**
 * The report's period, from `since` (included) to `until` (excluded; now without --until), both
 * validated before anything is read or written.
 */
export function parsePeriod(
  since: string,
  until: string | undefined,
  now: Date,
): { since: Date; until: Date } {
  const start = parseSince(since, now);
  const end = until === undefined ? now : parsePeriodEnd(until, now);
  if (end <= start) {
    throw new UsageError(`invalid period: --until '${until ?? 'now'}' is not after --since '${since}'`);
  }
  return { since: start, until: end };
}

export const LONGEST_EXEMPTION = {
  ms: MAX_EXEMPTION_MS,
  text: 'a year ahead, so every exception is looked at again',
};

/** `--until`: a duration ahead or an ISO date/time; in the future and at most a year ahead. */
export function parseUntil(text: string, now: Date): Date {
  const ahead = durationMs(text);
  const until = ahead === undefined ? isoDate(text) : new Date(now.getTime() + ahead);
  if (!until) {
    throw new UsageError(
      `invalid --until '${text}': write a duration (90m, 12h, 30d, 2w) or an ISO date such as 2026-12-01`,
    );
  }
  if (until <= now) throw new UsageError(`invalid --until '${text}': it is not in the future`);
  if (until.getTime() - now.getTime() > LONGEST_EXEMPTION.ms) {
    throw new UsageError(`invalid --until '${text}': at most ${LONGEST_EXEMPTION.text}`);
  }
  return until;
}

function isoDate(text: string): Date | undefined {
  const trimmed = text.trim();
  if (!ISO_DATE.test(trimmed)) return undefined;
  const date = new Date(trimmed);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
