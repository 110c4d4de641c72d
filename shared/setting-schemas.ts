import * as z from './zod';

/**
 * Schemas the settings share: shared/config.ts's and the rules' own (shared/rules/settings.ts).
 * Each reads a variable's text; the caller supplies the default.
 */

/** 'true' or 'false' exactly: the string "false" is never true. */
export const flag = z.pipe(
  z.enum(['true', 'false']),
  z.transform((value) => value === 'true'),
);

export const positiveInt = (fallback: number, max: number) =>
  z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(max)), fallback);

/** Empty means unset. */
export const optionalString = z.optional(
  z.pipe(
    z.string().check(z.trim()),
    z.transform((value) => (value === '' ? undefined : value)),
  ),
);

export const commaList = z.pipe(
  z._default(z.string(), ''),
  z.transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  ),
);

/**
 * Which resources a rule covers: every one, those that carry a tag (`value` undefined: any value),
 * or those whose tag equals a value.
 */
export type TagScope = { kind: 'all' } | { kind: 'tag'; key: string; value?: string };

/** `all`, `tag:<key>` (the tag is present) or `tag:<key>=<value>` (the value may hold `=`). */
export const tagScope = z.pipe(
  z.union([
    z.literal('all'),
    z
      .string()
      .check(z.regex(/^tag:[^=]{1,128}(=.{0,256})?$/, 'expected all, tag:<key> or tag:<key>=<value>')),
  ]),
  z.transform((scope): TagScope => {
    if (scope === 'all') return { kind: 'all' };
    const [key = '', ...value] = scope.slice('tag:'.length).split('=');
    return value.length === 0 ? { kind: 'tag', key } : { kind: 'tag', key, value: value.join('=') };
  }),
);

/** A resource's tags are in a scope. */
export const inTagScope = (tags: Readonly<Record<string, string>>, scope: TagScope): boolean =>
  scope.kind === 'all' ||
  (scope.value === undefined ? Object.hasOwn(tags, scope.key) : tags[scope.key] === scope.value);
