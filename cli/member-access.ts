import type { AwsClients } from '../shared/aws/clients';
import { MemberRoleUnavailable, OrganisationAccounts } from '../shared/organisation/accounts';
import { memberOnCallRoleName } from '../shared/organisation/member-roles';
import type { CliContext } from './context';
import { CliError, explainError } from './errors';

/**
 * How on-call reaches the member accounts of an organisation deployment (docs/organisation.md): only
 * when the stack was deployed as one (ORGANIZATION_ID of the deployed settings, never the caller's
 * environment), only in an account Organizations lists as ACTIVE now (never because an incident
 * names it), and only as that account's `<home stack>-member-on-call` role, under a session that
 * says what it is for, so the member's CloudTrail shows it. The table and topic stay the home stack's.
 */
export interface Members {
  readonly organizationId: string;
  /** Is the account an ACTIVE account of the organisation, as Organizations lists it now? */
  isActive(accountId: string): Promise<boolean>;
  /** Every ACTIVE account of the organisation, the security account's own included, sorted. */
  active(): Promise<string[]>;
  /** A context acting in the member as its member on-call role; throws a CliError when it cannot. */
  enter(accountId: string, session: string): Promise<MemberPlace>;
}

/** A context acting in a member account, and the session it acts as (its assumed-role ARN). */
export interface MemberPlace {
  ctx: CliContext;
  session: string;
}

/** STS's RoleSessionName: 2 to 64 of letters, digits and `_+=,.@-`. */
export function sessionName(text: string): string {
  const name = text.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
  return name.length >= 2 ? name : `${name}--`.slice(0, 2);
}

/**
 * The organisation deployment's members, or undefined for a single-account deployment. `memberRole`
 * names the member role `enter` assumes: on-call's (default), or the approver's for `ssh grant`.
 */
export async function organisationMembers(
  ctx: CliContext,
  memberRole: (stackName: string) => string = memberOnCallRoleName,
): Promise<Members | undefined> {
  const { organizationId, stackName, homeRegion, managementAccountMember } = await ctx.deployedSettings();
  if (!organizationId) return undefined;
  const home = ctx.aws();
  const roleName = memberRole(stackName);
  const accounts = new OrganisationAccounts({
    homeRegion,
    stackName,
    ruleId: 'on-call',
    roleName,
    managementAccountMember,
    sts: home.sts(homeRegion),
  });
  const listing = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw new CliError(
        `cannot list the ACTIVE accounts of organisation ${organizationId} (${explainError(error).message}): the CLI needs organizations:ListAccounts and DescribeOrganization (the stack's on-call and approver roles hold them in an organisation deployment); nothing was changed`,
        { cause: error },
      );
    }
  };
  return {
    organizationId,
    isActive: (accountId) => listing(() => accounts.isActiveMember(accountId)),
    async active() {
      const { accountId } = await ctx.caller();
      const members = await listing(() => accounts.activeMembers());
      return [...new Set([accountId, ...members])].sort();
    },
    async enter(accountId, session) {
      const name = sessionName(session);
      let clients: AwsClients;
      try {
        clients = await accounts.clientsIn(accountId, name);
      } catch (error) {
        const cause = error instanceof MemberRoleUnavailable ? error.cause : error;
        throw new CliError(
          `cannot act in account ${accountId} as ${roleName} (${explainError(cause).message}): is the member stack deployed there (docs/organisation.md)? nothing was changed`,
          { cause: error },
        );
      }
      const { partition } = await accounts.own();
      return {
        // Reads and calls in the member; the table, topic and queues stay the home stack's.
        ctx: { ...ctx, aws: () => ({ ...clients, dynamo: home.dynamo, sns: home.sns, sqs: home.sqs }) },
        session: `arn:${partition}:sts::${accountId}:assumed-role/${roleName}/${name}`,
      };
    },
  };
}
