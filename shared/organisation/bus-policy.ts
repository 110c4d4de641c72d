import { DescribeEventBusCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';

/**
 * The default bus's statement admitting the organisation (serverless.yml, OrganisationEventBusPolicy):
 * without it, or narrowed, every member's events are refused and only the sweep reaches them; widened,
 * the bus admits more than the organisation. The heartbeat and self-protection read it the same way.
 */

/** The statement id the home stack gives it: `<stack>-organisation`. */
export const organisationStatementId = (stackName: string): string => `${stackName}-organisation`;

/** The bus it lives on, in the home region: the account's default bus. */
export const DEFAULT_BUS = 'default';

interface BusStatement {
  Sid?: string;
  Effect?: string;
  Principal?: unknown;
  Action?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

/** What a read of the bus found of the statement, compared with what the stack deploys. */
export type OrganisationStatement =
  | { readonly present: false; readonly busArn: string; readonly othersAdmittingEveryone: readonly string[] }
  | {
      readonly present: true;
      readonly busArn: string;
      /** Whether it still lets every account of the organisation put events (what the heartbeat pages on). */
      readonly admitsOrganisation: boolean;
      /** Which parts differ from the deployed statement, by name (never the values someone wrote). */
      readonly differences: readonly string[];
      /** Other statements (by Sid) granting every principal: restoring by principal "*" could replace them. */
      readonly othersAdmittingEveryone: readonly string[];
    };

/**
 * Principal "*" as written in serverless.yml; AWS may render it as {"AWS":"*"}, and moto renders it as
 * {"AWS":"arn:aws:iam::*:root"}. Any narrower principal shuts members out, whatever the condition says.
 */
function admitsEveryone(principal: unknown): boolean {
  if (principal === '*') return true;
  const aws = (principal as { AWS?: unknown } | undefined)?.AWS;
  return aws === '*' || aws === 'arn:aws:iam::*:root';
}

const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : [value].flat());

/** Exactly the deployed condition: StringEquals aws:PrincipalOrgID = the organisation, nothing else. */
function onlyOrganisationCondition(statement: BusStatement, organizationId: string): boolean {
  const condition = statement.Condition ?? {};
  const orgIds = condition.StringEquals ?? {};
  return (
    Object.keys(condition).length === 1 &&
    Object.keys(orgIds).length === 1 &&
    orgIds['aws:PrincipalOrgID'] === organizationId
  );
}

/** The parts of the statement that differ from the deployed one: each named once, in a stable order. */
function differencesOf(statement: BusStatement, organizationId: string, busArn: string): string[] {
  const actions = list(statement.Action);
  const resources = list(statement.Resource);
  return [
    statement.Effect !== 'Allow' && 'Effect',
    !admitsEveryone(statement.Principal) && 'Principal',
    (actions.length !== 1 || actions[0] !== 'events:PutEvents') && 'Action',
    // AWS and moto render the bus's ARN; absent, it is the bus the policy is on.
    resources.length > 0 && (resources.length !== 1 || resources[0] !== busArn) && 'Resource',
    !onlyOrganisationCondition(statement, organizationId) && 'Condition',
  ].filter((difference): difference is string => typeof difference === 'string');
}

/** Judges a bus policy (DescribeEventBus's Policy) against the statement the stack deploys. Pure. */
export function judgeOrganisationStatement(
  policy: string | undefined,
  expected: { stackName: string; organizationId: string; busArn: string },
): OrganisationStatement {
  const sid = organisationStatementId(expected.stackName);
  const statements = (JSON.parse(policy ?? '{}') as { Statement?: BusStatement[] }).Statement ?? [];
  const othersAdmittingEveryone = statements
    .filter((each) => each.Sid !== sid && each.Effect === 'Allow' && admitsEveryone(each.Principal))
    .map((each) => String(each.Sid ?? '(no Sid)'));
  const statement = statements.find((each) => each.Sid === sid);
  const { busArn } = expected;
  if (!statement) return { present: false, busArn, othersAdmittingEveryone };
  const differences = differencesOf(statement, expected.organizationId, busArn);
  const admitsOrganisation =
    statement.Effect === 'Allow' &&
    admitsEveryone(statement.Principal) &&
    list(statement.Action).includes('events:PutEvents') &&
    // No condition admits everyone; any other than the deployed one could shut members out.
    (statement.Condition === undefined ||
      Object.keys(statement.Condition).length === 0 ||
      onlyOrganisationCondition(statement, expected.organizationId));
  return { present: true, busArn, admitsOrganisation, differences, othersAdmittingEveryone };
}

/** Reads the default bus in its region and judges its policy. */
export async function readOrganisationStatement(
  events: EventBridgeClient,
  expected: { stackName: string; organizationId: string; accountId: string; region: string },
): Promise<OrganisationStatement> {
  const bus = await events.send(new DescribeEventBusCommand({ Name: DEFAULT_BUS }));
  const busArn =
    bus.Arn ?? `arn:aws:events:${expected.region}:${expected.accountId}:event-bus/${DEFAULT_BUS}`;
  return judgeOrganisationStatement(bus.Policy, { ...expected, busArn });
}

/** The heartbeat's words for a statement that no longer admits the organisation as deployed; undefined: it does. */
export function organisationStatementProblem(
  found: OrganisationStatement,
  stackName: string,
  organizationId: string,
): string | undefined {
  const sid = organisationStatementId(stackName);
  if (!found.present) return `statement ${sid} is missing: member accounts' events are refused`;
  if (!found.admitsOrganisation) return `statement ${sid} no longer admits organisation ${organizationId}`;
  if (found.differences.length > 0)
    return `statement ${sid} differs from the deployed one (${found.differences.join(', ')}): it admits more than organisation ${organizationId}`;
  return undefined;
}
