import {
  type Account,
  DescribeOrganizationCommand,
  OrganizationsClient,
  paginateListAccounts,
} from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { type AwsClients, createAwsClients } from '../aws/clients';
import { ResponderError } from '../errors';
import { memberRoleName } from './member-roles';

/**
 * How an organisation deployment's function reaches the member accounts its events name
 * (docs/organisation.md): it acts only in ACTIVE members of its own organisation, and only as its
 * rule's member role there, under a session named after what it is doing (the incident id when it
 * changes something), so CloudTrail in the member shows which incident acted.
 */
export interface AccountAccess {
  /** This function's own account and partition (STS, once). */
  own(): Promise<{ accountId: string; partition: string }>;
  /**
   * An ACTIVE account of the organisation, as Organizations listed it lately; never the management
   * account (no member stack there) unless `managementAccountMember` says one was deployed by hand.
   */
  isActiveMember(accountId: string): Promise<boolean>;
  /** Every ACTIVE account of the organisation but this one (and the management account, as above), sorted: what a sweep fans out to. */
  activeMembers(): Promise<string[]>;
  /** The same, each with when it joined the organisation (Organizations' JoinedTimestamp), listed afresh. */
  activeMemberAccounts(): Promise<MemberAccount[]>;
  /** The organisation's management account (DescribeOrganization, once): StackSets never deploy there. */
  managementAccount(): Promise<string | undefined>;
  /** Clients acting in the account as the rule's member role. Throws MemberRoleUnavailable. */
  clientsIn(accountId: string, sessionName: string): Promise<AwsClients>;
}

export interface MemberAccount {
  accountId: string;
  /** Absent when Organizations did not say. */
  joinedAt?: Date;
}

/** The member role could not be assumed: the member stack is missing, changed, or STS refused. */
export class MemberRoleUnavailable extends ResponderError {
  override name = 'MemberRoleUnavailable';
  constructor(
    readonly accountId: string,
    readonly roleArn: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot assume ${roleArn} in account ${accountId}`, options);
  }
}

/** How long a listing of the organisation's accounts is believed: a suspended account stops acting within it. */
export const MEMBERSHIP_TTL_MS = 5 * 60_000;
/** An account the listing lacks lists again (it may have just joined), but never more often than this. */
export const RELIST_AFTER_MS = 60_000;
/** A failed listing is believed this long: a throttled or refused ListAccounts is not asked again by every delivery. */
export const LISTING_FAILURE_TTL_MS = 30_000;
/** Member sessions kept per environment (the least recently used is dropped): incident-named sessions never pile up. */
export const MAX_MEMBER_SESSIONS = 64;
/** What an assumed session may last: a remediation step never needs longer, and the SDK refreshes it. */
const SESSION_SECONDS = 900;
/** A session this close to its end is renewed before a call uses it. */
const REFRESH_BEFORE_MS = 60_000;

export interface OrganisationAccountsOptions {
  homeRegion: string;
  stackName: string;
  ruleId: string;
  /** The member role to assume when it is not the rule's (on-call's: memberOnCallRoleName). */
  roleName?: string;
  /**
   * A member stack was deployed by hand in the organisation's management account (settings'
   * managementAccountMember): act there like in any member. Otherwise (default) it is never a member:
   * a service-managed StackSet never deploys there, so a sweep would only fail to reach it.
   */
  managementAccountMember?: boolean;
  sts: STSClient;
  organizations?: OrganizationsClient;
  now?: () => number;
}

export class OrganisationAccounts implements AccountAccess {
  private identity?: Promise<{ accountId: string; partition: string }>;
  private members?: { ids: ReadonlyMap<string, Date | undefined>; listedAt: number };
  private management?: Promise<string | undefined>;
  private failedListing?: { error: unknown; at: number };
  private readonly clients = new Map<string, Promise<AwsClients>>();
  private readonly organizations: OrganizationsClient;
  private readonly now: () => number;

  constructor(private readonly options: OrganisationAccountsOptions) {
    // Organizations' API lives in us-east-1 (the aws partition's only endpoint).
    this.organizations = options.organizations ?? new OrganizationsClient({ region: 'us-east-1' });
    this.now = options.now ?? Date.now;
  }

  own(): Promise<{ accountId: string; partition: string }> {
    this.identity ??= this.options.sts.send(new GetCallerIdentityCommand({})).then((caller) => ({
      accountId: caller.Account ?? '',
      partition: /^arn:([^:]+):/.exec(caller.Arn ?? '')?.[1] ?? 'aws',
    }));
    return this.identity;
  }

  async isActiveMember(accountId: string): Promise<boolean> {
    const age = this.members ? this.now() - this.members.listedAt : Number.POSITIVE_INFINITY;
    const stale = age > MEMBERSHIP_TTL_MS || (!this.members?.ids.has(accountId) && age > RELIST_AFTER_MS);
    if (stale) this.members = { ids: await this.listActive(), listedAt: this.now() };
    if (!this.members?.ids.has(accountId)) return false;
    return accountId !== (await this.unmanagedManagement());
  }

  /** The management account, unless a member stack was deployed there by hand (managementAccountMember). */
  private async unmanagedManagement(): Promise<string | undefined> {
    return this.options.managementAccountMember ? undefined : this.managementAccount();
  }

  async activeMembers(): Promise<string[]> {
    return (await this.activeMemberAccounts()).map((member) => member.accountId);
  }

  async activeMemberAccounts(): Promise<MemberAccount[]> {
    const { accountId } = await this.own();
    // A sweep plans once an interval: it lists afresh, and what it lists is believed for the TTL.
    this.members = { ids: await this.listActive(), listedAt: this.now() };
    const management = await this.unmanagedManagement();
    return [...this.members.ids]
      .filter(([id]) => id !== accountId && id !== management)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, joinedAt]) => ({ accountId: id, ...(joinedAt && { joinedAt }) }));
  }

  managementAccount(): Promise<string | undefined> {
    this.management ??= (async () => {
      const described = await this.organizations.send(new DescribeOrganizationCommand({}));
      return described?.Organization?.MasterAccountId;
    })();
    // A failure is not remembered: the next call asks again.
    this.management.catch(() => {
      this.management = undefined;
    });
    return this.management;
  }

  private async listActive(): Promise<ReadonlyMap<string, Date | undefined>> {
    // A listing that just failed fails again without asking: Organizations' rate is low, and a
    // throttled or refused ListAccounts must not be called by every delivery.
    if (this.failedListing && this.now() - this.failedListing.at < LISTING_FAILURE_TTL_MS)
      throw this.failedListing.error;
    try {
      const ids = new Map<string, Date | undefined>();
      for await (const page of paginateListAccounts({ client: this.organizations }, {})) {
        for (const account of page.Accounts ?? [])
          if (isActive(account) && account.Id) ids.set(account.Id, account.JoinedTimestamp);
      }
      this.failedListing = undefined;
      return ids;
    } catch (error) {
      this.failedListing = { error, at: this.now() };
      throw error;
    }
  }

  clientsIn(accountId: string, sessionName: string): Promise<AwsClients> {
    const key = `${accountId}/${sessionName}`;
    let clients = this.clients.get(key);
    if (clients) {
      // Least recently used first: used now, it moves to the end.
      this.clients.delete(key);
    } else {
      clients = this.assume(accountId, sessionName);
      // A failure is not remembered: the next delivery tries again.
      clients.catch(() => {
        if (this.clients.get(key) === clients) this.clients.delete(key);
      });
    }
    this.clients.set(key, clients);
    // Sessions named after incidents would pile up in a warm environment: keep the most recent.
    for (const oldest of this.clients.keys()) {
      if (this.clients.size <= MAX_MEMBER_SESSIONS) break;
      this.clients.delete(oldest);
    }
    return clients;
  }

  private async assume(accountId: string, sessionName: string): Promise<AwsClients> {
    const { partition } = await this.own();
    const { homeRegion, stackName, ruleId, roleName = memberRoleName(stackName, ruleId) } = this.options;
    const roleArn = `arn:${partition}:iam::${accountId}:role/${roleName}`;
    // STS directly with the function's own credentials: the credential-providers package would add
    // its own STS client and the whole default chain to every function bundle.
    const assumeRole = async () => {
      const { Credentials: session } = await this.options.sts.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: sessionName,
          DurationSeconds: SESSION_SECONDS,
        }),
      );
      if (!session?.AccessKeyId || !session.SecretAccessKey)
        throw new Error('AssumeRole returned no credentials');
      return {
        accessKeyId: session.AccessKeyId,
        secretAccessKey: session.SecretAccessKey,
        sessionToken: session.SessionToken,
        expiration: session.Expiration,
      };
    };
    let current: Awaited<ReturnType<typeof assumeRole>>;
    try {
      // Assumed now, not at the first call: a role that cannot be assumed is known before any read.
      current = await assumeRole();
    } catch (error) {
      throw new MemberRoleUnavailable(accountId, roleArn, { cause: error });
    }
    // One session for every client of the account, assumed again only when it nears its end.
    const credentials = async () => {
      const ends = current.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
      if (ends - this.now() < REFRESH_BEFORE_MS) current = await assumeRole();
      return current;
    };
    return { ...createAwsClients(homeRegion, credentials), memberAccount: accountId };
  }
}

/**
 * ACTIVE only: suspended, closed and leaving accounts are not acted in. Organizations retired
 * `Status` for `State` on 2026-09-09; an endpoint that still sends only `Status` (moto) is read too.
 */
function isActive(account: Account): boolean {
  return (account.State ?? account.Status) === 'ACTIVE';
}
