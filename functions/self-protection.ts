import { ruleHandler } from '../shared/pipeline/rule-handler';
import { selfProtection } from '../shared/rules/self-protection';

export const handler = ruleHandler(selfProtection);
