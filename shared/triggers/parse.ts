import { createHash } from 'node:crypto';
import { ValidationError } from '../errors';
import type { Summary } from '../model';
import * as z from '../zod';

/**
 * What every adapter shares: turning zod issues into a ValidationError that names the field, the
 * bounded building blocks for AWS ids, and the bounds on what an Observation may carry.
 */

/** Ids and names (resource ids, event ids, rule names, event names) longer than this are refused. */
export const MAX_ID_LENGTH = 1024;
/** JSON carried as a string (invokingEvent, ruleParameters) is refused above 1 MiB (counted in UTF-16 units). */
export const MAX_JSON_STRING_LENGTH = 1024 * 1024;
export const MAX_SUMMARY_KEYS = 20;
export const MAX_SUMMARY_VALUE_LENGTH = 256;
/** Event ids longer than this are replaced by their sha256 (Config result tokens run to kilobytes). */
const MAX_EVENT_ID_LENGTH = 200;

const ROOT_FIELD = '(root)';

const joinPath = (prefix: string, path: readonly PropertyKey[]): string =>
  path.reduce<string>((field, key) => {
    if (typeof key === 'number') return `${field}[${key}]`;
    return field === '' ? String(key) : `${field}.${String(key)}`;
  }, prefix);

const kindOf = (input: unknown): string => {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'array';
  return typeof input;
};

/** Short messages in our own words; anything not listed keeps zod's wording. */
const describeIssue = (issue: z.core.$ZodRawIssue): string | undefined => {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}, received ${kindOf(issue.input)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'too_big':
      return issue.origin === 'string'
        ? `longer than ${issue.maximum} characters`
        : `more than ${issue.maximum} ${issue.origin === 'array' ? 'items' : ''}`.trim();
    case 'too_small':
      return issue.origin === 'string' ? 'must not be empty' : undefined;
    default:
      return undefined;
  }
};

/** The one place a ValidationError is built, so every message starts with the field it names. */
export const invalid = (field: string, problem: string, cause?: unknown): ValidationError =>
  new ValidationError(`${field || ROOT_FIELD}: ${problem}`, field || ROOT_FIELD, { cause });

/**
 * Parses `value` with `schema`; on failure throws a ValidationError naming the first offending field
 * (prefixed, e.g. `detail.eventName`). The result is a new object: zod copies what it parses.
 */
export const parseWith = <S extends z.ZodMiniType>(schema: S, value: unknown, prefix = ''): z.output<S> => {
  const result = schema.safeParse(value, { error: describeIssue });
  if (result.success) return result.data;
  const [first, ...rest] = result.error.issues;
  if (!first) throw invalid(prefix, 'invalid input', result.error);
  const more = rest.length > 0 ? ` (and ${rest.length} more issue${rest.length > 1 ? 's' : ''})` : '';
  throw invalid(joinPath(prefix, first.path), `${first.message}${more}`, result.error);
};

/** Joins a prefix and a field name the same way parseWith does. */
export const fieldPath = (prefix: string, ...path: readonly PropertyKey[]): string => joinPath(prefix, path);

// ─── building blocks ─────────────────────────────────────────────────────────────────────────────

export const idString = z.string().check(z.minLength(1), z.maxLength(MAX_ID_LENGTH));
/** AWS sends account ids as strings of digits (12 in practice; fixtures use other lengths). */
export const accountIdString = z.string().check(z.regex(/^\d{1,20}$/, 'expected a string of digits'));
/** `us-east-1`, `us-gov-west-1`, and `global` (Config's region for IAM items). */
export const regionString = z.string().check(z.regex(/^[a-z0-9-]{1,32}$/, 'expected an AWS region name'));
export const isoTimestamp = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 timestamp' });
/** EventBridge times are not trusted to be ISO: AWS documentation examples carry placeholders. */
export const looseTimestamp = z.string().check(z.minLength(1), z.maxLength(64));

/** A boolean that AWS may send as a string: true/false, or exactly 'true'/'false'. 'false' is never true. */
export const awsBoolean = z.pipe(
  z.union([z.boolean(), z.enum(['true', 'false'])], { error: "expected true, false, 'true' or 'false'" }),
  z.transform((value) => value === true || value === 'true'),
);

/** A JSON document carried as a string: bounded, parsed, then validated by `schema` at the same path. */
export const jsonString = <S extends z.ZodMiniType>(schema: S) =>
  z.pipe(
    z.pipe(
      z.string().check(z.maxLength(MAX_JSON_STRING_LENGTH)),
      z.transform((text, ctx): unknown => {
        try {
          return JSON.parse(text);
        } catch {
          ctx.issues.push({ code: 'custom', message: 'invalid JSON string', input: text });
          return z.NEVER;
        }
      }),
    ),
    schema,
  );

// ─── bounded outputs ─────────────────────────────────────────────────────────────────────────────

type SummaryInput = Record<string, string | number | boolean | null | undefined>;

/** Flat scalars only, undefined dropped, strings cut to 256 characters, at most 20 keys. */
export const boundedSummary = (facts: SummaryInput): Summary => {
  const entries = Object.entries(facts)
    .filter((entry): entry is [string, string | number | boolean | null] => entry[1] !== undefined)
    .slice(0, MAX_SUMMARY_KEYS)
    .map(([key, value]) => [
      key,
      typeof value === 'string' ? truncate(value, MAX_SUMMARY_VALUE_LENGTH) : value,
    ]);
  return Object.fromEntries(entries);
};

export const truncate = (text: string, max: number): string =>
  text.length > max ? text.slice(0, max) : text;

/** Keeps event ids short enough for a DynamoDB key: long ones become their sha256 (stable across retries). */
export const boundedEventId = (id: string): string =>
  id.length > MAX_EVENT_ID_LENGTH ? createHash('sha256').update(id).digest('hex') : id;

/**
 * Reads a scalar at `path` for a summary, or undefined. Summaries are descriptive only, so an odd shape
 * there is skipped rather than refused; everything an adapter decides from goes through a zod schema.
 */
export const scalarAt = (
  value: unknown,
  ...path: readonly string[]
): string | number | boolean | undefined => {
  let current: unknown = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return typeof current === 'string' || typeof current === 'number' || typeof current === 'boolean'
    ? current
    : undefined;
};
