import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ruleSettings } from '../../scripts/lib/deployment';
import {
  functionEnvironment,
  parameterOf,
  readServerlessDefinition,
} from '../../scripts/lib/serverless-template';
import { loadSettings, modeVariable, SETTING_VARIABLES } from '../../shared/config';
import { rules } from '../../shared/rules';

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
  const environment = functionEnvironment(definition);
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
      const variables = Object.entries(environment)
        .filter(([, value]) => parameterOf(value) === name)
        .map(([variable]) => variable);
      expect([name, variables]).toEqual([name, row.variable === '–' ? [] : [row.variable]]);
    }
  });

  it('documents every setting: each variable the code reads is a parameter with a row, or set by the stack', () => {
    // Prepare: what the stack sets without a parameter (its own resources, names and switches)
    const variables = [
      ...SETTING_VARIABLES,
      ...rules.map((rule) => modeVariable(rule.id)),
      ...ruleSettings(rules).map((setting) => setting.variable),
    ];
    // Assess
    const unset = variables.filter((variable) => !Object.hasOwn(environment, variable));
    expect(unset).toEqual([]);
    const documentedVariables = [...documented.values()].map((row) => row.variable);
    const undocumented = variables.filter(
      (variable) =>
        parameterOf(environment[variable]) !== undefined && !documentedVariables.includes(variable),
    );
    expect(undocumented).toEqual([]);
  });

  it("gives each rule's setting a row under its own parameter, default and variable", () => {
    for (const setting of ruleSettings(rules)) {
      // Assess
      const row = documented.get(setting.parameter);
      expect([setting.parameter, row]).toEqual([
        setting.parameter,
        { fallback: setting.fallback, variable: setting.variable },
      ]);
    }
  });

  it("gives each parameter the code's own default: an unset variable means what the README says", () => {
    // Prepare: the stack's own resources, then every parameter at its documented default
    const stack = {
      AWS_REGION: 'us-east-1',
      INCIDENT_TABLE: 'incidents',
      ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:alerts',
    };
    const atDefaults = Object.fromEntries(
      Object.entries(environment).flatMap(([variable, value]) => {
        const param = parameterOf(value);
        return param ? [[variable, String(definition.params.default[param])]] : [];
      }),
    );
    // Act
    const unset = loadSettings(rules, stack);
    const deployed = loadSettings(rules, { ...stack, ...atDefaults });
    // Assess
    expect(deployed).toEqual(unset);
  });
});
