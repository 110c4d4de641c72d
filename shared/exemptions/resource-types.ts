import { ResponderError } from '../errors';
import type { Rule } from '../rules/rule';
import { IAM_USER } from '../ssh/iam-keys';
import { SECURITY_GROUP } from '../ssh/security-groups';
import { ARN_MAX } from './ledger';

/** An exemption the ledger refuses: unknown rule, malformed ARN, or a resource the rule never judges. */
export class ExemptionRefusedError extends ResponderError {}

const ARN = /^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12})?:(.+)$/;

/** The resource types rules judge, by ARN service and resource part (as the rules build their ARNs). */
const ARN_TYPES: readonly { service: string; resource: RegExp; type: string }[] = [
  { service: 'ec2', resource: /^volume\/vol-[0-9a-f]+$/, type: 'AWS::EC2::Volume' },
  { service: 'ec2', resource: /^instance\/i-[0-9a-f]+$/, type: 'AWS::EC2::Instance' },
  { service: 'ec2', resource: /^security-group\/sg-[0-9a-f]+$/, type: SECURITY_GROUP },
  // Region-level settings are "resources" of type AWS::::Account (ebs-encryption-by-default).
  { service: 'ec2', resource: /^ebs-encryption-by-default$/, type: 'AWS::::Account' },
  { service: 'iam', resource: /^user\/[\w+=,.@/-]+$/, type: IAM_USER },
  { service: 'cloudtrail', resource: /^trail\/[\w.-]+$/, type: 'AWS::CloudTrail::Trail' },
  {
    service: 'config',
    resource: /^configuration-recorder\/[\w.-]+$/,
    type: 'AWS::Config::ConfigurationRecorder',
  },
];

/** Types a rule judges besides its own resourceType (ssh-grant-expired also judges security groups). */
const ALSO_JUDGES: Readonly<Record<string, readonly string[]>> = {
  'ssh-grant-expired': [SECURITY_GROUP],
};

/** Rules whose findings no exemption may silence. */
const NEVER_EXEMPT: Readonly<Record<string, string>> = {
  // An exemption would be a way around the responder's own protection.
  'self-protection': "the responder's own stack cannot be exempted: change it through its deploy role",
};

export interface ParsedArn {
  partition: string;
  service: string;
  region: string;
  accountId: string;
  resourceType: string;
}

/** An ARN's parts and the CloudFormation resource type a rule knows it by. */
export function parseResourceArn(arn: string): ParsedArn {
  const match = ARN.exec(arn);
  if (!match || arn.length > ARN_MAX) {
    throw new ExemptionRefusedError(
      `'${arn.slice(0, 80)}' is not a resource ARN (arn:aws:<service>:<region>:<account>:<resource>, at most ${ARN_MAX} characters)`,
    );
  }
  const [, partition = '', service = '', region = '', accountId = '', resource = ''] = match;
  const known = ARN_TYPES.find((entry) => entry.service === service && entry.resource.test(resource));
  if (!known) {
    throw new ExemptionRefusedError(
      `${arn}: no rule judges this kind of resource (exemptible: volumes, instances, security groups, IAM users, trails, configuration recorders, the EBS encryption-by-default setting)`,
    );
  }
  return { partition, service, region, accountId, resourceType: known.type };
}

/** The resource types a rule's findings are about. */
export const typesJudgedBy = (rule: Pick<Rule, 'id' | 'resourceType'>): readonly string[] => [
  rule.resourceType,
  ...(ALSO_JUDGES[rule.id] ?? []),
];

/** Why a rule cannot be exempted at all, or undefined. */
export const neverExempt = (ruleId: string): string | undefined => NEVER_EXEMPT[ruleId];

/** Refuses an exemption of `arn` from `rule` that could never apply. Returns the parsed ARN. */
export function checkExemptible(rule: Pick<Rule, 'id' | 'resourceType'>, arn: string): ParsedArn {
  const refused = neverExempt(rule.id);
  if (refused) throw new ExemptionRefusedError(refused);
  const parsed = parseResourceArn(arn);
  const types = typesJudgedBy(rule);
  if (!types.includes(parsed.resourceType)) {
    throw new ExemptionRefusedError(
      `${rule.id} judges ${types.join(' and ')}, not ${parsed.resourceType}: check --rule and the ARN`,
    );
  }
  return parsed;
}
