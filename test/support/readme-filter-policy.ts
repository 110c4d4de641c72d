import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The filter policy README documents, as SNS applies it to message attributes: every key must match
 * one of its exact string values. Anything else in the policy fails here, so this stays SNS's meaning.
 */
export function readmeFilterPolicy(): Record<string, string[]> {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const heading = readme.indexOf('### Paging only when action is needed');
  const section = heading < 0 ? '' : readme.slice(heading);
  const block = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
  if (!block) throw new Error('README has no filter policy under "Paging only when action is needed"');
  const policy = JSON.parse(block) as Record<string, unknown>;
  for (const values of Object.values(policy)) {
    if (!Array.isArray(values) || !values.every((value) => typeof value === 'string'))
      throw new Error('the documented policy is more than exact string matches: extend this matcher');
  }
  return policy as Record<string, string[]>;
}
