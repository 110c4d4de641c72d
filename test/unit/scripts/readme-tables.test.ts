import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DocumentedRule, withGeneratedTables } from '../../../scripts/readme-tables';
import { rules } from '../../../shared/rules';

const README = readFileSync(join(__dirname, '..', '..', '..', 'README.md'), 'utf8');

const aRule = (overrides: Partial<DocumentedRule> = {}): DocumentedRule => ({
  id: 'rdp-open-to-world',
  hipaa: ['164.312(a)(1)'],
  defaultMode: 'notify',
  runbook: 'docs/runbooks/rdp-open-to-world.md',
  readme: { enforce: 'revokes the rule' },
  ...overrides,
});

describe("README's generated tables", () => {
  it('are what `npm run readme` writes from the registry (run it after changing a rule)', () => {
    // Act
    const generated = withGeneratedTables(README, rules);
    // Assess
    expect(generated).toBe(README);
  });

  it("give a rule its rules-table row and its mode row, with the rule's notes in brackets", () => {
    // Prepare
    const rule = aRule({
      hipaa: ['164.312(a)(1)', '164.308(a)(4)(ii)(C)'],
      readme: { enforce: 'revokes it | keeps it', safeguardNote: 'policy', modeNote: 'read the runbook' },
    });
    // Act
    const generated = withGeneratedTables(README, [rule]);
    // Assess: a `|` in the text is escaped, so it cannot end the cell
    expect(generated).toContain(
      '| `rdp-open-to-world` | §164.312(a)(1), §164.308(a)(4)(ii)(C) (policy) | notify | revokes it \\| keeps it | [runbook](docs/runbooks/rdp-open-to-world.md) |',
    );
    expect(generated).toContain(
      '| `rdpOpenToWorldMode` | `notify` | `MODE_RDP_OPEN_TO_WORLD` | `off`, `notify` or `enforce` (read the runbook) |',
    );
    expect(generated).not.toContain('| `ssh-open-to-world` |');
  });

  it('rewrites only what lies between the markers', () => {
    // Act
    const generated = withGeneratedTables(README, [aRule()]);
    // Assess: the hand-written parameters are still there, and regenerating is stable
    expect(generated).toContain('| `sshPorts` | `22` | `SSH_PORTS` |');
    expect(withGeneratedTables(generated, rules)).toBe(README);
  });

  it('refuses a README whose markers are missing, instead of losing the tables', () => {
    // Prepare
    const withoutMarkers = README.replace(/<!-- END rule modes -->/, '');
    // Act / Assess
    expect(() => withGeneratedTables(withoutMarkers, rules)).toThrow(/END rule modes/);
  });
});
