import { ruleHandler } from '../shared/pipeline/rule-handler';
import { sshGrantExpired } from '../shared/rules/ssh-grant-expired';

export const handler = ruleHandler(sshGrantExpired);
