import { UsageError } from './errors';

/**
 * `--account`: one or more 12-digit account ids, comma-separated, or `all` (undefined: no filter),
 * or a usage mistake naming the option.
 */
export function parseAccounts(text: string): string[] | undefined {
  if (text.trim().toLowerCase() === 'all') return undefined;
  const accounts = text.split(',').map((each) => each.trim());
  const wrong = accounts.find((account) => !/^\d{12}$/.test(account));
  if (wrong !== undefined) {
    throw new UsageError(`invalid --account '${wrong}': 12-digit account ids, comma-separated, or all`);
  }
  return accounts;
}
