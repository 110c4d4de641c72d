import { ruleHandler } from '../shared/pipeline/rule-handler';
import { ecrScannedImmutable } from '../shared/rules/ecr-scanned-immutable';

export const handler = ruleHandler(ecrScannedImmutable);
