import { UsageError } from './errors';

const RELATIVE = /^(\d{1,5})([dhm])$/;
const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000 } as const;

/** `--since`: `30d`, `12h`, `90m` back from now, or an ISO date/time. Anything else is a usage mistake. */
export function parseSince(text: string, now: Date): Date {
  const trimmed = text.trim().toLowerCase();
  const relative = RELATIVE.exec(trimmed);
  if (relative) {
    const unit = relative[2] as keyof typeof UNIT_MS;
    return new Date(now.getTime() - Number(relative[1]) * UNIT_MS[unit]);
  }
  const absolute = /^\d{4}-\d{2}-\d{2}/.test(trimmed) ? new Date(text.trim()) : undefined;
  if (!absolute || Number.isNaN(absolute.getTime())) {
    throw new UsageError(`invalid --since '${text}': write 30d, 12h, 90m or an ISO date such as 2026-11-01`);
  }
  if (absolute > now) throw new UsageError(`invalid --since '${text}': it is in the future`);
  return absolute;
}
