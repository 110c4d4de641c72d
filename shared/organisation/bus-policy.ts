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
  NotPrincipal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

/** What the other statements on the bus do that the organisation statement cannot make up for. */
interface OtherStatements {
  /** Other statements (by Sid) granting every principal: restoring by principal "*" could replace them. */
  readonly othersAdmittingEveryone: readonly string[];
  /** Other statements (by Sid) letting principals outside the organisation put events on the bus. */
  readonly othersBeyondOrganisation: readonly string[];
  /** Other statements (by Sid) denying events:PutEvents on the bus: they can refuse members' events. */
  readonly othersDenying: readonly string[];
}

/** What a read of the bus found of the statement, compared with what the stack deploys. */
export type OrganisationStatement = OtherStatements &
  (
    | { readonly present: false; readonly busArn: string }
    | {
        readonly present: true;
        readonly busArn: string;
        /** Whether it still lets every account of the organisation put events (what the heartbeat pages on). */
        readonly admitsOrganisation: boolean;
        /** Which parts differ from the deployed statement, by name (never the values someone wrote). */
        readonly differences: readonly string[];
      }
  );

/**
 * Principal "*" as written in serverless.yml; AWS may render it as {"AWS":"*"}, and moto renders it as
 * {"AWS":"arn:aws:iam::*:root"}. Any narrower principal shuts members out, whatever the condition says.
 */
function admitsEveryone(principal: unknown): boolean {
  if (principal === '*') return true;
  const aws = (principal as { AWS?: unknown } | undefined)?.AWS;
  return [aws].flat().some((each) => each === '*' || each === 'arn:aws:iam::*:root');
}

const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : [value].flat());

/** IAM's wildcards (`*`, `?`) in a pattern; actions compare case-insensitively, ARNs exactly. */
function matches(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern
    .split('')
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

/**
 * Whether a statement can apply to events:PutEvents on this bus: its Action (or NotAction) and
 * Resource (or NotResource) say so, or say nothing. Principal and Condition are not read: an Allow
 * is judged on them separately, and any Deny that can apply is one too many.
 */
function coversPutEvents(statement: BusStatement, busArn: string): boolean {
  const action = (patterns: string[]) => patterns.some((each) => matches(each, 'events:PutEvents', true));
  const resource = (patterns: string[]) => patterns.some((each) => matches(each, busArn, false));
  const actions =
    statement.Action !== undefined
      ? action(list(statement.Action))
      : statement.NotAction === undefined || !action(list(statement.NotAction));
  const resources =
    statement.Resource !== undefined
      ? resource(list(statement.Resource))
      : statement.NotResource === undefined || !resource(list(statement.NotResource));
  return actions && resources;
}

/** StringEquals aws:PrincipalOrgID naming the organisation and nothing else; other keys only narrow it. */
function limitedToOrganisation(statement: BusStatement, organizationId: string): boolean {
  const orgIds = [statement.Condition?.StringEquals?.['aws:PrincipalOrgID']].flat();
  return orgIds.length > 0 && orgIds.every((each) => each === organizationId);
}

/**
 * An Allow that lets principals outside the organisation put events on the bus: principal "*"
 * (or NotPrincipal) without the organisation's condition. Kept simple and on the safe side: a "*"
 * narrowed by another key (one account) counts too, an Allow naming accounts does not.
 */
function admitsBeyondOrganisation(statement: BusStatement, organizationId: string, busArn: string): boolean {
  return (
    statement.Effect === 'Allow' &&
    (admitsEveryone(statement.Principal) || statement.NotPrincipal !== undefined) &&
    coversPutEvents(statement, busArn) &&
    !limitedToOrganisation(statement, organizationId)
  );
}

/** A statement's id as words can carry it: what PutPermission allows (64 of [A-Za-z0-9-_]). */
const sidOf = (statement: BusStatement): string =>
  statement.Sid === undefined
    ? '(no Sid)'
    : String(statement.Sid)
        .replace(/[^\w-]/g, '')
        .slice(0, 64) || '(no Sid)';

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
  const statements = [
    (JSON.parse(policy ?? '{}') as { Statement?: BusStatement | BusStatement[] }).Statement ?? [],
  ].flat();
  const statement = statements.find((each) => each.Sid === sid);
  const { busArn, organizationId } = expected;
  const others = statements.filter((each) => each !== statement);
  const sids = (keep: (each: BusStatement) => boolean) => others.filter(keep).map(sidOf);
  const otherStatements: OtherStatements = {
    othersAdmittingEveryone: sids((each) => each.Effect === 'Allow' && admitsEveryone(each.Principal)),
    othersBeyondOrganisation: sids((each) => admitsBeyondOrganisation(each, organizationId, busArn)),
    othersDenying: sids((each) => each.Effect !== 'Allow' && coversPutEvents(each, busArn)),
  };
  if (!statement) return { present: false, busArn, ...otherStatements };
  const differences = differencesOf(statement, expected.organizationId, busArn);
  const admitsOrganisation =
    statement.Effect === 'Allow' &&
    admitsEveryone(statement.Principal) &&
    list(statement.Action).includes('events:PutEvents') &&
    // No condition admits everyone; any other than the deployed one could shut members out.
    (statement.Condition === undefined ||
      Object.keys(statement.Condition).length === 0 ||
      onlyOrganisationCondition(statement, expected.organizationId));
  return { present: true, busArn, admitsOrganisation, differences, ...otherStatements };
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

/** At most five statement ids, then how many more: a policy can hold many. */
export function namedStatements(sids: readonly string[]): string {
  const shown = sids.slice(0, 5).join(', ');
  return `statement${sids.length > 1 ? 's' : ''} ${shown}${sids.length > 5 ? ` and ${sids.length - 5} more` : ''}`;
}

/**
 * The other statements that undo what the organisation statement is for, in words naming them by id
 * (never what they say); undefined: none. The responder only reports them: it never removes or
 * rewrites a statement it did not make.
 */
export function otherStatementsProblem(
  found: OrganisationStatement,
  organizationId: string,
): string | undefined {
  const { othersBeyondOrganisation: beyond, othersDenying: denying } = found;
  const problems = [
    beyond.length > 0 &&
      `${namedStatements(beyond)} ${beyond.length > 1 ? 'let' : 'lets'} principals outside organisation ${organizationId} put events (principal "*" without aws:PrincipalOrgID ${organizationId}): any AWS account can send events to the bus`,
    denying.length > 0 &&
      `${namedStatements(denying)} ${denying.length > 1 ? 'deny' : 'denies'} events:PutEvents on the bus: member accounts' events can be refused`,
  ].filter((problem): problem is string => typeof problem === 'string');
  return problems.length > 0 ? problems.join('; ') : undefined;
}

/** The statement's own drift, in words; undefined: it is as deployed. */
function ownStatementProblem(
  found: OrganisationStatement,
  sid: string,
  organizationId: string,
): string | undefined {
  if (!found.present) return `statement ${sid} is missing: member accounts' events are refused`;
  if (!found.admitsOrganisation) return `statement ${sid} no longer admits organisation ${organizationId}`;
  if (found.differences.length > 0)
    return `statement ${sid} differs from the deployed one (${found.differences.join(', ')}): it admits more than organisation ${organizationId}`;
  return undefined;
}

/**
 * The heartbeat's words for a bus that no longer admits the organisation as deployed, or whose other
 * statements admit more than it or refuse its events; undefined: neither.
 */
export function organisationStatementProblem(
  found: OrganisationStatement,
  stackName: string,
  organizationId: string,
): string | undefined {
  const problems = [
    ownStatementProblem(found, organisationStatementId(stackName), organizationId),
    otherStatementsProblem(found, organizationId),
  ].filter((problem): problem is string => problem !== undefined);
  return problems.length > 0 ? problems.join('; ') : undefined;
}
