import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { invalidId, NewRuleRefused, newRule } from '../../../scripts/new-rule';

const ROOT = join(__dirname, '..', '..', '..');

/** What new-rule reads and writes, copied: shared/rules (the registry), functions, runbooks, rule tests, scenarios. */
function aCheckout(): string {
  const root = mkdtempSync(join(tmpdir(), 'new-rule-'));
  for (const dir of [
    'shared/rules',
    'functions',
    'docs/runbooks',
    'test/unit/rules',
    'test/reliability/scenarios',
  ])
    cpSync(join(ROOT, dir), join(root, dir), { recursive: true });
  return root;
}

/** Every file under root, with its content: what "nothing was written" compares. */
const snapshot = (root: string) =>
  Object.fromEntries(
    readdirSync(root, { recursive: true, encoding: 'utf8' })
      .filter((path) => path.includes('.'))
      .map((path) => [path, readFileSync(join(root, path), 'utf8')]),
  );

describe('npm run new-rule', () => {
  let root: string;
  const regenerated: string[] = [];
  const options = () => ({ root, regenerateReadme: (at: string) => regenerated.push(at) });
  beforeEach(() => {
    root = aCheckout();
    regenerated.length = 0;
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("writes the rule, its function, runbook and unit test, adds its registry line and regenerates README's tables", () => {
    // Prepare
    const registryBefore = readFileSync(join(root, 'shared/rules/index.ts'), 'utf8');
    // Act
    const written = newRule('rdp-open-to-world', options());
    // Assess
    expect(written).toEqual([
      'shared/rules/rdp-open-to-world.ts',
      'functions/rdp-open-to-world.ts',
      'docs/runbooks/rdp-open-to-world.md',
      'test/unit/rules/rdp-open-to-world.test.ts',
      'test/reliability/scenarios/rdp-open-to-world.ts',
      'shared/rules/index.ts',
    ]);
    const read = (path: string) => readFileSync(join(root, path), 'utf8');
    expect(read('shared/rules/rdp-open-to-world.ts')).toContain(
      "export const rdpOpenToWorld = defineRule<SecurityGroupView>({\n  id: 'rdp-open-to-world',",
    );
    expect(read('shared/rules/rdp-open-to-world.ts')).toContain(
      "runbook: 'docs/runbooks/rdp-open-to-world.md'",
    );
    expect(read('functions/rdp-open-to-world.ts')).toContain(
      'export const handler = ruleHandler(rdpOpenToWorld);',
    );
    expect(read('docs/runbooks/rdp-open-to-world.md')).toMatch(/^# Runbook: rdp-open-to-world\n/);
    expect(read('test/unit/rules/rdp-open-to-world.test.ts')).toContain(
      "import { rdpOpenToWorld as rule } from '../../../shared/rules/rdp-open-to-world';",
    );
    expect(Object.values(snapshot(root)).join('\n')).not.toMatch(/\{\{\w+\}\}/);
    // The registry gains exactly its import (sorted by biome) and its entry, listed last.
    const registry = read('shared/rules/index.ts');
    const added = registry.split('\n').filter((line) => !registryBefore.split('\n').includes(line));
    expect(added).toEqual(["import { rdpOpenToWorld } from './rdp-open-to-world';", '  rdpOpenToWorld,']);
    expect(registry).toMatch(/,\n {2}rdpOpenToWorld,\n\];/);
    expect(registry.indexOf("from './rdp-open-to-world'")).toBeLessThan(registry.indexOf("from './rule'"));
    expect(regenerated).toEqual([root]);
  });

  it.each([
    ['RDP-Open', /not a rule id/],
    ['rdp_open', /not a rule id/],
    ['rdp', /two or more lowercase words/],
    ['-rdp-open', /not a rule id/],
    ['rdp--open', /not a rule id/],
    ['9-lives', /starting with a letter/],
    ['../../etc/passwd', /not a rule id/],
    ['a-very-long-rule-id-that-names-too-much', /longer than 32 characters/],
  ])('refuses the id %j with a reason, writing nothing', (id, reason) => {
    // Prepare
    const before = snapshot(root);
    // Act / Assess
    expect(() => newRule(id, options())).toThrow(reason);
    expect(snapshot(root)).toEqual(before);
    expect(regenerated).toEqual([]);
  });

  it.each([
    [
      'an existing rule',
      'ssh-open-to-world',
      /ssh-open-to-world.ts, functions\/ssh-open-to-world.ts.*already exist/,
    ],
    [
      'a module of the rules folder',
      'function-configuration',
      /shared\/rules\/function-configuration.ts already exist/,
    ],
    ['a name the registry holds (ruleById)', 'rule-by-id', /already names ruleById/],
  ])('refuses an id that is taken (%s), writing nothing', (_case, id, reason) => {
    // Prepare
    const before = snapshot(root);
    // Act / Assess
    expect(() => newRule(id, options())).toThrow(reason);
    expect(snapshot(root)).toEqual(before);
  });

  it('refuses, writing nothing, when one of its files exists already (a half-added rule)', () => {
    // Prepare
    writeFileSync(join(root, 'docs/runbooks/rdp-open-to-world.md'), '# mine\n');
    const before = snapshot(root);
    // Act / Assess
    expect(() => newRule('rdp-open-to-world', options())).toThrow(NewRuleRefused);
    expect(snapshot(root)).toEqual(before);
    expect(existsSync(join(root, 'shared/rules/rdp-open-to-world.ts'))).toBe(false);
  });

  it('refuses, writing nothing, when the registry has no list to add the rule to', () => {
    // Prepare
    writeFileSync(join(root, 'shared/rules/index.ts'), 'export const rules = [];\n');
    const before = snapshot(root);
    // Act / Assess
    expect(() => newRule('rdp-open-to-world', options())).toThrow(/has no "export const rules/);
    expect(snapshot(root)).toEqual(before);
  });

  it('accepts the ids of the rules it ships with', () => {
    // Assess
    for (const id of ['ebs-encryption-by-default', 'phi-dedicated-tenancy', 'demo-kit-check'])
      expect(invalidId(id)).toBeUndefined();
  });
});
