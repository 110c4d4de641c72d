import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readServerlessDefinition } from '../../scripts/lib/serverless-template';

const ROOT = join(__dirname, '..', '..');

/** Rows of README's Parameters table: parameter → { default, variable }. */
function readmeParameters(): Map<string, { fallback: string; variable: string }> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Parameters'), readme.indexOf('### Exempting'));
  const rows = new Map<string, { fallback: string; variable: string }>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const name = /^`(\w+)`$/.exec(cells[1] ?? '')?.[1];
    if (!name) continue;
    const fallback = /^[*_]\(empty\)[*_]$/.test(cells[2] ?? '') ? '' : (cells[2] ?? '').replace(/^`|`$/g, '');
    rows.set(name, { fallback, variable: (cells[3] ?? '').replace(/^`|`$/g, '') });
  }
  return rows;
}

describe("README's parameters table", () => {
  const definition = readServerlessDefinition();
  const documented = readmeParameters();

  it('lists every serverless.yml parameter with its default, and nothing else', () => {
    // Assess
    const defaults = Object.fromEntries(
      Object.entries(definition.params.default).map(([name, value]) => [name, String(value)]),
    );
    const table = Object.fromEntries([...documented].map(([name, row]) => [name, row.fallback]));
    expect(table).toEqual(defaults);
  });

  it('names the environment variable each parameter reaches', () => {
    for (const [name, row] of documented) {
      // Assess
      const variables = Object.entries(definition.provider.environment)
        .filter(([, value]) => value === `\${param:${name}}`)
        .map(([variable]) => variable);
      expect([name, variables]).toEqual([name, row.variable === '–' ? [] : [row.variable]]);
    }
  });
});
