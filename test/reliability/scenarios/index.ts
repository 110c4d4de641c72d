import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { rules as registry } from '../../../shared/rules';
import type { Rule } from '../../../shared/rules/rule';
import { outcomeOf, type RuleScenario, type Scenario } from '../scenario';

/**
 * Each registry rule's reliability scenario, found by its id: test/reliability/scenarios/<rule-id>.ts
 * exporting `scenario`. A rule without one cannot be skipped: asking for it throws, naming the file.
 */
const ROOT = join(__dirname, '..', '..', '..');

export const scenarioFile = (ruleId: string): string => relative(ROOT, join(__dirname, `${ruleId}.ts`));

export function scenarioFor(rule: Rule): RuleScenario {
  const file = join(ROOT, scenarioFile(rule.id));
  const loaded: { scenario?: Scenario } = existsSync(file) ? require(file) : {};
  if (!loaded.scenario)
    throw new Error(
      `rule ${rule.id} has no reliability scenario: write ${scenarioFile(rule.id)} exporting \`scenario\` ` +
        '(test/reliability/scenario.ts says what it holds; `notifyOnly` is the shape of a rule that only notifies)',
    );
  return { ...loaded.scenario, rule: rule.id, outcome: outcomeOf(rule, loaded.scenario.env) };
}

/** Every registry rule's scenario, in registry order (the fault suite's sample follows it). */
export const scenarios = (rules: readonly Rule[] = registry): RuleScenario[] => rules.map(scenarioFor);
