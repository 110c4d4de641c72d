import { ruleHandler } from '../shared/pipeline/rule-handler';
import { imageFindingsMitigated } from '../shared/rules/image-findings-mitigated';

export const handler = ruleHandler(imageFindingsMitigated);
