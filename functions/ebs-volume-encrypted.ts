import { ruleHandler } from '../shared/pipeline/rule-handler';
import { ebsVolumeEncrypted } from '../shared/rules/ebs-volume-encrypted';

export const handler = ruleHandler(ebsVolumeEncrypted);
