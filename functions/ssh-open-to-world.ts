import { ruleHandler } from '../shared/pipeline/rule-handler';
import { sshOpenToWorld } from '../shared/rules/ssh-open-to-world';

export const handler = ruleHandler(sshOpenToWorld);
