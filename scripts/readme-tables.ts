import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modeParameter, modeVariable } from '../shared/config';
import { rules as registry } from '../shared/rules';
import type { Rule } from '../shared/rules/rule';
import type { RuleSetting } from '../shared/rules/settings';

/**
 * README's generated parts: the rules table and the rules' mode parameters, one row per rule of the
 * registry, between marker comments. `npm run readme` rewrites them; the unit test
 * test/unit/scripts/readme-tables.test.ts fails when README.md is not what this would write.
 */

export type DocumentedRule = Pick<Rule, 'id' | 'hipaa' | 'defaultMode' | 'runbook' | 'readme' | 'settings'>;

/** A table cell: a `|` in the text would end the cell. */
const cell = (text: string) => text.replaceAll('|', '\\|');
const bracketed = (note: string | undefined) => (note ? ` (${note})` : '');

export function rulesTable(rules: readonly DocumentedRule[]): string {
  const rows = rules.map((rule) => {
    const safeguard =
      rule.hipaa.map((citation) => `§${citation}`).join(', ') + bracketed(rule.readme.safeguardNote);
    const cells = [
      `\`${rule.id}\``,
      safeguard,
      rule.defaultMode,
      rule.readme.enforce,
      `[runbook](${rule.runbook})`,
    ];
    return `| ${cells.map(cell).join(' | ')} |`;
  });
  return [
    '| rule | safeguard | default mode | what enforce does | runbook |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** The columns of README's parameters tables, which test/contract/readme.test.ts reads. */
export function modesTable(rules: readonly DocumentedRule[]): string {
  const rows = rules.map((rule) => {
    const meaning = `\`off\`, \`notify\` or \`enforce\`${bracketed(rule.readme.modeNote)}`;
    const cells = [
      `\`${modeParameter(rule.id)}\``,
      `\`${rule.defaultMode}\``,
      `\`${modeVariable(rule.id)}\``,
      meaning,
    ];
    return `| ${cells.map(cell).join(' | ')} |`;
  });
  return [
    '| parameter | default | environment variable | meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** Each setting a rule declares, once, with the rules that read it (same columns as the modes). */
export function settingsTable(rules: readonly DocumentedRule[]): string {
  const readers = new Map<RuleSetting<unknown>, string[]>();
  for (const rule of rules)
    for (const setting of Object.values(rule.settings ?? {}))
      readers.set(setting, [...(readers.get(setting) ?? []), rule.id]);
  const rows = [...readers].map(([setting, ids]) => {
    const cells = [
      `\`${setting.parameter}\``,
      setting.fallback === '' ? '*(empty)*' : `\`${setting.fallback}\``,
      `\`${setting.variable}\``,
      `${setting.doc} (${ids.map((id) => `\`${id}\``).join(', ')})`,
    ];
    return `| ${cells.map(cell).join(' | ')} |`;
  });
  return [
    '| parameter | default | environment variable | meaning (rules that read it) |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

const BLOCKS = [
  { name: 'rules table', render: rulesTable },
  { name: 'rule modes', render: modesTable },
  { name: 'rule settings', render: settingsTable },
] as const;

const begin = (name: string) =>
  `<!-- BEGIN ${name}: generated from shared/rules by \`npm run readme\`; edit the rule modules, not this table -->`;
const end = (name: string) => `<!-- END ${name} -->`;

/** README with each generated block rewritten from the rules; throws when a marker is missing or doubled. */
export function withGeneratedTables(readme: string, rules: readonly DocumentedRule[]): string {
  return BLOCKS.reduce((text, { name, render }) => {
    const [from, to] = [text.indexOf(begin(name)), text.indexOf(end(name))];
    if (from < 0 || to < from || text.indexOf(begin(name), from + 1) >= 0)
      throw new Error(`README.md needs exactly one "${begin(name)}" followed by "${end(name)}"`);
    return `${text.slice(0, from + begin(name).length)}\n\n${render(rules)}\n\n${text.slice(to)}`;
  }, readme);
}

/** Rewrites README.md's generated tables from the registry; true when anything changed. */
export function writeReadmeTables(root = join(__dirname, '..'), rules: readonly DocumentedRule[] = registry) {
  const path = join(root, 'README.md');
  const readme = readFileSync(path, 'utf8');
  const generated = withGeneratedTables(readme, rules);
  if (generated !== readme) writeFileSync(path, generated);
  return generated !== readme;
}

if (require.main === module) {
  const changed = writeReadmeTables();
  console.error(
    `README.md: rules table, mode parameters and rule settings ${changed ? 'rewritten' : 'already up to date'} (${registry.length} rules)`,
  );
}
