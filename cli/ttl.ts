import { UsageError } from './errors';

const DURATION = /^(?:(\d{1,5})h)?(?:(\d{1,6})m)?$/;

/** `30m`, `1h`, `90m`, `1h30m` → minutes. Anything else is a usage mistake. */
export function parseTtl(text: string): number {
  const match = DURATION.exec(text.trim().toLowerCase());
  if (!match || (match[1] === undefined && match[2] === undefined)) {
    throw new UsageError(`invalid --ttl '${text}': write minutes or hours, like 30m, 1h, 90m or 1h30m`);
  }
  const minutes = Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0);
  if (minutes < 1) throw new UsageError(`invalid --ttl '${text}': a grant lasts at least 1 minute`);
  return minutes;
}

/** 90 → `1h30m`, 60 → `1h`, 45 → `45m`. */
export function formatMinutes(minutes: number): string {
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours === 0) return `${rest}m`;
  return rest === 0 ? `${hours}h` : `${hours}h${rest}m`;
}
