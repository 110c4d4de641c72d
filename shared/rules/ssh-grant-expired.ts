import type { AwsClients } from '../aws/clients';
import { OwnCall } from '../aws/own-calls';
import type { Settings } from '../config';
import { type GrantLimits, grantLimitsOf } from '../ledger-limits';
import { Mode, Severity, type Summary } from '../model';
import {
  clip,
  describeRule,
  type IngressRule,
  opensToNarrowSource,
  REASON_TEXT_LIMIT,
} from '../ssh/exposure';
import { DynamoDbGrantLedger, type Grant } from '../ssh/grant-ledger';
import {
  type GrantAccount,
  ignoredUserGrant,
  judgeRuleGrant,
  lastEndedUserGrant,
  liveUserGrant,
  type RuleGrant,
  taggedGrantId,
} from '../ssh/grant-match';
import {
  IAM_REGION,
  IAM_USER,
  type IamUserKeys,
  KeyStatus,
  listUserKeys,
  readUserKeys,
  rereadKeys,
  setKeyStatus,
} from '../ssh/iam-keys';
import {
  listSecurityGroups,
  readSecurityGroup,
  rereadIngress,
  revokeIngressRule,
  SECURITY_GROUP,
  SECURITY_GROUP_STATEMENTS,
  type SecurityGroupView,
  toLoadedGroup,
} from '../ssh/security-groups';
import { defineRule, isPassedOver, type Loaded, type PassedOver, Stack } from './rule';

/**
 * Deny-by-default SSH: every SSH path (an IAM user's Active SSH key; a security-group rule that
 * opens an SSH port to some addresses) is closed unless the grant ledger holds a live grant for it.
 * Paths open to the whole internet are ssh-open-to-world's; referenced security groups are not
 * SSH grants (see shared/ssh/exposure.ts).
 */

interface GrantSummary {
  readonly grantId: string;
  readonly endsAt: string;
  readonly revoked: boolean;
}

export interface UserPaths {
  readonly kind: 'iam-user';
  readonly user: IamUserKeys;
  readonly liveGrant?: GrantSummary;
  /** The user's grant that ended most recently (within the lookback), to name it in the incident. */
  readonly lastGrant?: GrantSummary;
  /** A live-looking grant beyond the stack's limits, which grants nothing: named in the incident. */
  readonly ignoredGrant?: { readonly grantId: string; readonly why: string };
}

export interface GroupPaths {
  readonly kind: 'security-group';
  readonly group: SecurityGroupView;
  /** Rules opening an SSH port to a narrower source than the internet, each with its grant's status. */
  readonly paths: readonly { readonly rule: IngressRule; readonly grant: RuleGrant }[];
}

export type SshPaths = UserPaths | GroupPaths;

/** Ended grants this recent are read with the live ones (one Query) so incidents can name them. */
const LOOKBACK_MS = 24 * 3600 * 1000;

const ledgerOf = (aws: AwsClients, settings: Settings) =>
  new DynamoDbGrantLedger(aws.dynamo(), settings.incidentTable, settings.incidentRetentionDays);

const summaryOf = (grant: Grant | undefined): GrantSummary | undefined =>
  grant && {
    grantId: grant.grantId,
    endsAt: grant.revokedAt ?? grant.expiresAt,
    revoked: grant.revokedAt !== undefined,
  };

/**
 * The account a path is judged in: a grant covers its own account's paths only (grant-match.ts), so
 * the security account's grant for its user `ops` never covers a member's `ops` (docs/organisation.md).
 * Member clients name their account; the ledger is the home stack's table either way.
 */
const accountOf = (aws: AwsClients, accountId: string): GrantAccount => ({
  accountId,
  home: aws.memberAccount === undefined,
});

/** Grants running now or ended within the lookback: one Query of the ledger's listing partition. */
const recentGrants = (aws: AwsClients, settings: Settings, now: Date): Promise<readonly Grant[]> =>
  ledgerOf(aws, settings).endingAfter(new Date(now.getTime() - LOOKBACK_MS));

function userPaths(
  user: IamUserKeys,
  grants: readonly Grant[],
  limits: GrantLimits,
  now: Date,
  where: GrantAccount,
): Loaded<SshPaths> {
  const ignored = ignoredUserGrant(user.userName, where, grants, limits, now);
  return {
    resourceType: IAM_USER,
    resourceId: user.userName,
    arn: user.arn,
    region: IAM_REGION,
    accountId: where.accountId,
    tags: user.tags,
    state: {
      kind: 'iam-user',
      user,
      liveGrant: summaryOf(liveUserGrant(user.userName, where, grants, limits, now)),
      lastGrant: summaryOf(lastEndedUserGrant(user.userName, where, grants, now)),
      ...(ignored ? { ignoredGrant: { grantId: ignored.grant.grantId, why: ignored.why } } : {}),
    },
  };
}

/**
 * Judges each narrow SSH rule of a group against the ledger. Tagged grants older than the lookback
 * are read one by one (GetItem), so an old grant is reported as expired, not as unknown.
 */
async function groupPaths(
  view: SecurityGroupView,
  scope: { accountId: string; region: string },
  aws: AwsClients,
  settings: Settings,
  recent: () => Promise<readonly Grant[]>,
  now: Date,
): Promise<Loaded<SshPaths>> {
  const narrow = view.ingress.filter((rule) => opensToNarrowSource(rule, settings.ssh.ports));
  const grantsById = new Map<string, Grant>();
  const tagged = new Set(
    narrow
      .map((rule) => taggedGrantId(rule, settings.ssh.grantTag))
      .filter((grantId): grantId is string => grantId !== undefined),
  );
  if (tagged.size > 0) {
    for (const grant of await recent()) grantsById.set(grant.grantId, grant);
    const ledger = ledgerOf(aws, settings);
    for (const grantId of tagged) {
      if (grantsById.has(grantId)) continue;
      const grant = await ledger.get(grantId);
      if (grant) grantsById.set(grantId, grant);
    }
  }
  return {
    ...toLoadedGroup(view, scope),
    state: {
      kind: 'security-group',
      group: view,
      paths: narrow.map((rule) => ({
        rule,
        grant: judgeRuleGrant(
          rule,
          scope.region,
          accountOf(aws, scope.accountId),
          settings.ssh.grantTag,
          grantsById,
          grantLimitsOf(settings),
          now,
        ),
      })),
    },
  };
}

/** Reads the ledger once, on first need, for a whole sweep. */
function once<T>(read: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => {
    result ??= read();
    return result;
  };
}

/** Every IAM user's SSH keys with their grants (the IAM half of the sweep, `scan` and `ssh lockdown`). */
async function* listUserPaths(
  accountId: string,
  aws: AwsClients,
  settings: Settings,
): AsyncIterable<Loaded<SshPaths>> {
  for await (const listed of listUserPathsAfter(accountId, aws, settings)) {
    if (!isPassedOver(listed)) yield listed;
  }
}

/**
 * listUserPaths resumed after the user an earlier sweep unit judged last: the users before it by
 * their ARN alone, so a unit reads the keys of its own page only (one ListSSHPublicKeys a user).
 */
async function* listUserPathsAfter(
  accountId: string,
  aws: AwsClients,
  settings: Settings,
  after?: string,
): AsyncIterable<Loaded<SshPaths> | PassedOver> {
  const now = new Date();
  const grants = once(() => recentGrants(aws, settings, now));
  const limits = grantLimitsOf(settings);
  for await (const user of listUserKeys(aws.iam(), after)) {
    yield 'passedOver' in user
      ? user
      : userPaths(user, await grants(), limits, now, accountOf(aws, accountId));
  }
}

/** Every security group of a region with its narrow SSH rules judged (also `ssh lockdown`). */
async function* listGroupPaths(
  scope: { accountId: string; region: string },
  aws: AwsClients,
  settings: Settings,
): AsyncIterable<Loaded<SshPaths>> {
  const now = new Date();
  const grants = once(() => recentGrants(aws, settings, now));
  for await (const view of listSecurityGroups(aws.ec2(scope.region), settings.ssh.ports)) {
    yield groupPaths(view, scope, aws, settings, grants, now);
  }
}

const ungranted = (state: GroupPaths) => state.paths.filter((path) => path.grant.status !== 'live');
const activeKeys = (state: UserPaths) => state.user.keys.filter((key) => key.status === KeyStatus.Active);

function grantWords(grant: RuleGrant): string {
  switch (grant.status) {
    case 'untagged':
      return 'no grant tag';
    case 'unknown':
      return 'a grant tag the ledger does not hold';
    case 'mismatch':
      return `grant ${grant.grantId} is for another path`;
    case 'ignored':
      return `grant ${grant.grantId} is ignored: ${grant.why}`;
    case 'expired':
      return `grant ${grant.grantId} expired at ${grant.endedAt}`;
    case 'revoked':
      return `grant ${grant.grantId} was revoked at ${grant.endedAt}`;
    case 'live':
      return `grant ${grant.grantId} until ${grant.expiresAt}`;
  }
}

function detectUser(state: UserPaths, accountId: string) {
  const active = activeKeys(state);
  if (active.length === 0 || state.liveGrant) return { compliant: true } as const;
  const { userName } = state.user;
  const last = state.lastGrant;
  const ignored = state.ignoredGrant;
  const ended = ignored
    ? `: grant ${ignored.grantId} is ignored: ${ignored.why}`
    : last
      ? `: grant ${last.grantId} ${last.revoked ? 'was revoked' : 'expired'} at ${last.endsAt}`
      : '';
  const evidence: Summary = {
    activeKeys: active.length,
    keyIds: clip(active.map((key) => key.keyId).join(',')),
    lastGrantId: last?.grantId ?? null,
    lastGrantEndedAt: last?.endsAt ?? null,
    ignoredGrantId: ignored?.grantId ?? null,
  };
  return {
    compliant: false,
    reason: clip(
      `IAM user ${userName} has ${active.length} Active SSH key(s) and no live SSH grant${ended}`,
      REASON_TEXT_LIMIT,
    ),
    evidence,
    plan: `Set ${active.length} SSH key(s) of ${userName} Inactive (never deleted); \`compliance-responder ssh grant --user ${userName} --account ${accountId}\` grants access again`,
  } as const;
}

function detectGroup(state: GroupPaths) {
  const open = ungranted(state);
  if (open.length === 0) return { compliant: true } as const;
  const { groupId } = state.group;
  const described = open.slice(0, 3).map((path) => `${describeRule(path.rule)}: ${grantWords(path.grant)}`);
  const more = open.length > 3 ? ` and ${open.length - 3} more` : '';
  const grantIds = open.flatMap((path) => ('grantId' in path.grant ? [path.grant.grantId] : []));
  const evidence: Summary = {
    ungrantedRules: open.length,
    ruleIds: clip(open.map((path) => path.rule.ruleId).join(',')),
    grantStatuses: clip(open.map((path) => path.grant.status).join(',')),
    grantIds: grantIds.length > 0 ? clip(grantIds.join(',')) : null,
  };
  return {
    compliant: false,
    reason: clip(
      `Security group ${groupId} opens SSH without a live grant: ${described.join('; ')}${more}`,
      REASON_TEXT_LIMIT,
    ),
    evidence,
    plan: `Revoke ${open.length} ingress rule(s) of ${groupId} by id; each step keeps the exact rule so it can be restored`,
  } as const;
}

export const sshGrantExpired = defineRule<SshPaths>({
  id: 'ssh-grant-expired',
  title: 'SSH access without a live grant',
  severity: Severity.High,
  // Access control, unique user identification (a grant names one person), and access
  // establishment and modification (every grant and its end recorded).
  hipaa: ['164.312(a)(1)', '164.312(a)(2)(i)', '164.308(a)(4)(ii)(C)'],
  runbook: 'docs/runbooks/ssh-grant-expired.md',
  readme: {
    enforce:
      "deny-by-default SSH: every 5 minutes and on each key upload or rule change, sets IAM users' Active SSH keys Inactive (never deleted) and revokes narrower-source SSH rules unless the grant ledger holds a live grant (`compliance-responder ssh grant`)",
  },
  undoActions: ['iam:UpdateSSHPublicKey', 'ec2:AuthorizeSecurityGroupIngress'],
  // SSH reopened without a grant: an hour; a longer need is a grant (ssh grant), which the ledger caps.
  undoExemptionMinutes: 60,
  defaultMode: Mode.Enforce,
  resourceType: IAM_USER,
  alsoJudges: [SECURITY_GROUP],
  triggers: {
    // The IAM calls come from iam.amazonaws.com (IAM's CloudTrail events reach EventBridge in
    // us-east-1 only; elsewhere that pattern never fires); the security-group calls from ec2.amazonaws.com.
    cloudTrail: {
      eventNames: [
        'UploadSSHPublicKey',
        'UpdateSSHPublicKey',
        'AuthorizeSecurityGroupIngress',
        'ModifySecurityGroupRules',
      ],
    },
    // The lockdown: grants end on time even when no event arrives.
    schedule: 'rate(5 minutes)',
    scheduleParameter: 'sshLockdownSchedule',
  },
  permissions: [
    ...SECURITY_GROUP_STATEMENTS,
    { sid: 'ListUsers', actions: ['iam:ListUsers'] },
    {
      sid: 'ReadAndDeactivateSshKeysNeverDelete',
      actions: ['iam:GetUser', 'iam:ListSSHPublicKeys', 'iam:UpdateSSHPublicKey'],
      resources: [`arn:${Stack.partition}:iam::${Stack.accountId}:user/*`],
    },
    {
      sid: 'ReadTheGrantLedger',
      actions: ['dynamodb:Query', 'dynamodb:GetItem'],
      resources: [Stack.arn('IncidentTable')],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['GRANTS', 'GRANT#*'] } },
      why: 'Read-only, in the incidents table.',
    },
  ],

  async load(ref, aws, settings) {
    const now = new Date();
    const recent = once(() => recentGrants(aws, settings, now));
    if (ref.resourceType === IAM_USER) {
      const user = await readUserKeys(aws.iam(), ref.resourceId);
      return (
        user && userPaths(user, await recent(), grantLimitsOf(settings), now, accountOf(aws, ref.accountId))
      );
    }
    if (ref.resourceType === SECURITY_GROUP) {
      const view = await readSecurityGroup(aws.ec2(ref.region), ref.resourceId);
      return view && groupPaths(view, ref, aws, settings, recent, now);
    }
    return undefined;
  },

  // The verify read: keys or rules again; the ledger only where a path is still open.
  async reload(before, aws, settings) {
    const { state } = before;
    const now = new Date();
    const recent = once(() => recentGrants(aws, settings, now));
    if (state.kind === 'iam-user') {
      const keys = await rereadKeys(aws.iam(), state.user.userName);
      if (!keys) return undefined;
      const grants = keys.some((key) => key.status === KeyStatus.Active) ? await recent() : [];
      return userPaths(
        { ...state.user, keys },
        grants,
        grantLimitsOf(settings),
        now,
        accountOf(aws, before.accountId),
      );
    }
    const view = await rereadIngress(aws.ec2(before.region), state.group);
    return groupPaths(view, before, aws, settings, recent, now);
  },

  list: listGroupPaths,

  // IAM is global: its users' keys are listed once per sweep.
  listGlobal: listUserPaths,
  listGlobalAfter: listUserPathsAfter,

  detect(resource) {
    const { state } = resource;
    return state.kind === 'iam-user' ? detectUser(state, resource.accountId) : detectGroup(state);
  },

  async remediate(resource, _finding, { aws, step }) {
    const { state } = resource;
    if (state.kind === 'iam-user') {
      for (const key of activeKeys(state)) {
        // IAM cannot forbid Status=Active: the shape refuses it before sending (shared/aws/own-calls.ts).
        const { userName } = state.user;
        await setKeyStatus(
          aws.iam(),
          userName,
          key.keyId,
          KeyStatus.Inactive,
          step,
          OwnCall.UpdateSSHPublicKey,
        );
      }
      return;
    }
    const ec2 = aws.ec2(resource.region);
    for (const { rule } of ungranted(state)) await revokeIngressRule(ec2, resource.region, rule, step);
  },
});
