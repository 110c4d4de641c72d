import { ResponderError } from '../errors';
import { resourceTypes } from '../resources';
import { rules } from '../rules';
import { type Rule, typesJudgedBy } from '../rules/rule';
import { ARN_MAX } from './ledger';

/** An exemption the ledger refuses: unknown rule, malformed ARN, or a resource the rule never judges. */
export class ExemptionRefusedError extends ResponderError {
  override name = 'ExemptionRefusedError';
}

const ARN = /^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12})?:(.+)$/;

/** The resource types that can be exempted, by ARN service and resource part (as the rules build their ARNs). */
const ARN_TYPES = resourceTypes.flatMap(({ type, arn }) => (arn ? [{ ...arn, type }] : []));

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
      `${arn}: no rule judges this kind of resource (exemptible: ${ARN_TYPES.map((entry) => entry.plural).join(', ')})`,
    );
  }
  return { partition, service, region, accountId, resourceType: known.type };
}

/** Why a rule cannot be exempted at all, or undefined (a rule id no rule has: nothing to refuse). */
export const neverExempt = (ruleId: string): string | undefined =>
  rules.find((rule) => rule.id === ruleId)?.neverExempt;

/** Refuses an exemption of `arn` from `rule` that could never apply. Returns the parsed ARN. */
export function checkExemptible(
  rule: Pick<Rule, 'id' | 'resourceType' | 'alsoJudges'>,
  arn: string,
): ParsedArn {
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
