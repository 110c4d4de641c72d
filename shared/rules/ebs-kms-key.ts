import { optionalString } from '../setting-schemas';
import { ruleSetting } from './settings';

/** The key both EBS rules encrypt with: the account default's and every encrypted copy's. */
export const ebsKmsKeyId = ruleSetting({
  parameter: 'ebsKmsKeyId',
  variable: 'EBS_KMS_KEY_ID',
  fallback: '',
  doc: 'KMS key (id, alias or ARN) for EBS encryption; empty keeps the AWS-managed `aws/ebs` (read the runbook before setting one)',
  schema: optionalString,
});
