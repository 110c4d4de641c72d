import { ruleHandler } from '../shared/pipeline/rule-handler';
import { elbClassicTls } from '../shared/rules/elb-classic-tls';

export const handler = ruleHandler(elbClassicTls);
