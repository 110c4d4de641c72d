import { ruleHandler } from '../shared/pipeline/rule-handler';
import { elbClassicListenerTls } from '../shared/rules/elb-classic-listener-tls';

export const handler = ruleHandler(elbClassicListenerTls);
