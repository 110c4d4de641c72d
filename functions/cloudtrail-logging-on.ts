import { ruleHandler } from '../shared/pipeline/rule-handler';
import { cloudtrailLoggingOn } from '../shared/rules/cloudtrail-logging-on';

export const handler = ruleHandler(cloudtrailLoggingOn);
