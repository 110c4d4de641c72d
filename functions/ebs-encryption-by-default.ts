import { ruleHandler } from '../shared/pipeline/rule-handler';
import { ebsEncryptionByDefault } from '../shared/rules/ebs-encryption-by-default';

export const handler = ruleHandler(ebsEncryptionByDefault);
