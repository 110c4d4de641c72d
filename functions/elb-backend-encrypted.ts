import { ruleHandler } from '../shared/pipeline/rule-handler';
import { elbBackendEncrypted } from '../shared/rules/elb-backend-encrypted';

export const handler = ruleHandler(elbBackendEncrypted);
