import { ruleHandler } from '../shared/pipeline/rule-handler';
import { phiDedicatedTenancy } from '../shared/rules/phi-dedicated-tenancy';

export const handler = ruleHandler(phiDedicatedTenancy);
