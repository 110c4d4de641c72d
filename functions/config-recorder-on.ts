import { ruleHandler } from '../shared/pipeline/rule-handler';
import { configRecorderOn } from '../shared/rules/config-recorder-on';

export const handler = ruleHandler(configRecorderOn);
