import { ruleHandler } from '../shared/pipeline/rule-handler';
import { elbListenerTls } from '../shared/rules/elb-listener-tls';

export const handler = ruleHandler(elbListenerTls);
