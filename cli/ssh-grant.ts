import { AuthorizeSecurityGroupIngressCommand } from '@aws-sdk/client-ec2';
import type { Settings } from '../shared/config';
import { errorMessage } from '../shared/errors';
import {
  BROADEST_GRANT_PREFIX,
  cidrTooBroad,
  grantBeyondLimits,
  grantLimitsOf,
} from '../shared/ledger-limits';
import { memberApproverRoleName } from '../shared/organisation/member-roles';
import { type Cidr, parseCidr, sameCidr } from '../shared/ssh/cidr';
import { type Grant, GrantKind, newGrantId } from '../shared/ssh/grant-ledger';
import { judgeRuleGrant } from '../shared/ssh/grant-match';
import { KeyStatus, readUserKeys, setKeyStatus } from '../shared/ssh/iam-keys';
import { readSecurityGroup } from '../shared/ssh/security-groups';
import type { CliContext } from './context';
import { formatMinutes } from './duration';
import { CliError, UsageError } from './errors';
import { grantPlace } from './grant-account';
import { recordGrantChange } from './grant-incident';
import { inLedger } from './ledger-access';
import type { CliStep } from './steps';

const REASON_LIMIT = 256;

export function checkReason(reason: string): string {
  const trimmed = reason.trim();
  if (trimmed.length < 3) throw new UsageError('--reason must say why (a ticket or a sentence)');
  if (trimmed.length > REASON_LIMIT)
    throw new UsageError(`--reason is longer than ${REASON_LIMIT} characters`);
  return trimmed;
}

/** `deployed`: the settings the stack was deployed with (ctx.deployedSettings()), never the caller's. */
export function checkTtl(minutes: number, deployed: Settings): void {
  const cap = deployed.ssh.grantMaxTtlMinutes;
  if (minutes > cap) {
    throw new CliError(
      `TTL ${formatMinutes(minutes)} is over the cap of ${formatMinutes(cap)} the stack was deployed with (SSH_GRANT_MAX_TTL_MINUTES=${cap}): ask for ${formatMinutes(cap)} or less, and grant again when it ends`,
    );
  }
}

/** The last check before a grant is recorded: the limits its reader re-checks (shared/ledger-limits.ts). */
function checkWithinLimits(grant: Grant, deployed: Settings, now: Date): void {
  const why = grantBeyondLimits(grant, grantLimitsOf(deployed), now);
  if (why) throw new CliError(`refused grant: the responder would ignore it, as ${why}`);
}

/** Parses and judges --cidr: malformed is a usage mistake; too broad is refused. */
export function checkGrantCidr(text: string): Cidr {
  const cidr = parseCidr(text);
  if (!cidr)
    throw new UsageError(
      `invalid --cidr '${text}': write an address block like 203.0.113.7/32 or 2001:db8::7/128`,
    );
  const tooBroad = cidrTooBroad(cidr);
  if (tooBroad) {
    const broadest = BROADEST_GRANT_PREFIX[cidr.family];
    throw new CliError(
      `refused --cidr ${text}: ${tooBroad}; grant the person's own address (/${cidr.family === 4 ? 32 : 128}) or a block of /${broadest} at most${cidr.prefixLength === 0 ? ', and see ssh-open-to-world' : ''}`,
    );
  }
  if (cidr.hostBitsSet) {
    throw new UsageError(`invalid --cidr '${text}': host bits are set; did you mean ${cidr.text}?`);
  }
  return cidr;
}

function endsAt(ctx: CliContext, ttlMinutes: number): { createdAt: string; expiresAt: string; now: Date } {
  const now = ctx.now();
  return {
    now,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + ttlMinutes * 60_000).toISOString(),
  };
}

export interface UserGrantRequest {
  userName: string;
  ttlMinutes: number;
  reason: string;
  /** Only these keys are activated; default: every key of the user. */
  keyIds?: readonly string[];
  /** The account of the user (`--account`); default: the caller's own. */
  account?: string;
}

/** What every recorded grant or revoke returns: its incident and on-call's alert. */
export interface Recorded {
  /** The incident recording the change (docs/lifecycle.md, "Changes people make"). */
  incidentId: string;
  /** The alert that told on-call. */
  alertMessageId: string;
}

export interface UserGrantResult extends Recorded {
  grant: Grant;
  activated: string[];
  alreadyActive: string[];
  steps: CliStep[];
}

/**
 * Records an IAM SSH key grant in the ledger (the home stack's table), then sets
 * the user's Inactive keys Active. The ledger is written first, so the responder never sees an
 * Active key without its grant. While the grant lives the responder leaves the keys alone; when it
 * ends, it sets them Inactive again.
 */
export async function grantUser(ctx: CliContext, request: UserGrantRequest): Promise<UserGrantResult> {
  const deployed = await ctx.deployedSettings();
  checkTtl(request.ttlMinutes, deployed);
  const caller = await ctx.caller();
  const place = await grantPlace(ctx, request.account, memberApproverRoleName);
  const { ctx: inAccount, member } = await place.enter(ctx.now());
  const iam = inAccount.aws().iam();
  const user = await readUserKeys(iam, request.userName);
  if (!user) {
    throw new CliError(
      `no IAM user named '${request.userName}' in account ${place.accountId}: check the name (aws iam list-users)`,
    );
  }
  const known = new Set(user.keys.map((key) => key.keyId));
  const unknownKeys = (request.keyIds ?? []).filter((keyId) => !known.has(keyId));
  if (unknownKeys.length > 0) {
    throw new CliError(
      `user ${user.userName} has no SSH key ${unknownKeys.join(', ')}: their keys are ${[...known].join(', ') || 'none'}`,
    );
  }
  const chosen = request.keyIds ? user.keys.filter((key) => request.keyIds?.includes(key.keyId)) : user.keys;
  const times = endsAt(ctx, request.ttlMinutes);
  const grant: Grant = {
    grantId: newGrantId(times.now),
    account: place.accountId,
    kind: GrantKind.IamSshKey,
    target: { userName: user.userName },
    grantedTo: user.userName,
    grantedBy: caller.arn,
    reason: request.reason,
    createdAt: times.createdAt,
    expiresAt: times.expiresAt,
  };
  checkWithinLimits(grant, deployed, times.now);
  // Before anything changes: a grant on-call would not hear of does not start.
  const onCall = await ctx.onCall();
  await inLedger(ctx, (ledger) => ledger.record(grant));
  const toActivate = chosen.filter((candidate) => candidate.status === KeyStatus.Inactive);
  const activated: string[] = [];
  const recorded = await recordGrantChange(
    ctx,
    onCall,
    {
      action: 'grant',
      grant,
      caller,
      reason: request.reason,
      deployed,
      userArn: user.arn,
      plan: `UpdateSSHPublicKey Active for ${toActivate.length} SSH key(s) of ${user.userName}`,
      ...(member && { member }),
    },
    async (step) => {
      for (const key of toActivate) {
        await setKeyStatus(iam, user.userName, key.keyId, KeyStatus.Active, step);
        activated.push(key.keyId);
      }
    },
  );
  const alreadyActive = chosen.filter((key) => key.status === KeyStatus.Active).map((key) => key.keyId);
  return {
    grant,
    activated,
    alreadyActive,
    steps: recorded.steps,
    incidentId: recorded.incident.incidentId,
    alertMessageId: recorded.alertMessageId,
  };
}

export interface RuleGrantRequest {
  groupId: string;
  cidr: Cidr;
  port: number;
  ttlMinutes: number;
  reason: string;
  /** The person the grant is for; default: the caller (their user or session name). */
  grantedTo?: string;
  /** The account of the group (`--account`); default: the caller's own. */
  account?: string;
}

export interface RuleGrantResult extends Recorded {
  grant: Grant;
  ruleId?: string;
  steps: CliStep[];
}

/** EC2 accepts only these characters in a rule description. */
const descriptionText = (text: string) =>
  text.replace(/[^a-zA-Z0-9. _\-:/()#,@[\]+=&;{}!$*]/g, '_').slice(0, 255);

const callerName = (arn: string) => arn.split('/').pop() ?? arn;

export async function grantSecurityGroupRule(
  ctx: CliContext,
  request: RuleGrantRequest,
): Promise<RuleGrantResult> {
  const { region } = ctx;
  const settings = await ctx.deployedSettings();
  checkTtl(request.ttlMinutes, settings);
  if (!settings.ssh.ports.includes(request.port)) {
    throw new UsageError(
      `--port ${request.port} is not an SSH port the responder watches (SSH_PORTS=${settings.ssh.ports.join(',')}): pick one of those`,
    );
  }
  const caller = await ctx.caller();
  const place = await grantPlace(ctx, request.account, memberApproverRoleName);
  const { ctx: inAccount, member } = await place.enter(ctx.now());
  const ec2 = inAccount.aws().ec2(region);
  const group = await readSecurityGroup(ec2, request.groupId);
  if (!group) {
    throw new CliError(
      `no security group ${request.groupId} in ${region} of account ${place.accountId}: check the id, --region and --account`,
    );
  }
  const existing = group.ingress.find(
    (rule) =>
      (rule.source.kind === 'ipv4' || rule.source.kind === 'ipv6') &&
      sameCidr(rule.source.cidr, request.cidr.text) &&
      rule.protocol === 'tcp' &&
      rule.fromPort === request.port &&
      rule.toPort === request.port,
  );
  if (existing) {
    const grants = await inLedger(ctx, (ledger) => ledger.endingAfter(ctx.now()));
    const judged = judgeRuleGrant(
      existing,
      region,
      place.where,
      settings.ssh.grantTag,
      new Map(grants.map((grant) => [grant.grantId, grant])),
      grantLimitsOf(settings),
      ctx.now(),
    );
    throw new CliError(
      judged.status === 'live'
        ? `${request.groupId} already lets ${request.cidr.text} in on port ${request.port} under grant ${judged.grantId} until ${judged.expiresAt}`
        : `${request.groupId} already has rule ${existing.ruleId} for ${request.cidr.text} port ${request.port} without a live grant (the responder revokes it): revoke it first with aws ec2 revoke-security-group-ingress --group-id ${request.groupId} --security-group-rule-ids ${existing.ruleId}`,
    );
  }
  const times = endsAt(ctx, request.ttlMinutes);
  const grantedTo = request.grantedTo ?? callerName(caller.arn);
  const grant: Grant = {
    grantId: newGrantId(times.now),
    account: place.accountId,
    kind: GrantKind.SecurityGroupRule,
    target: { region, groupId: request.groupId, cidr: request.cidr.text, port: request.port },
    grantedTo,
    grantedBy: caller.arn,
    reason: request.reason,
    createdAt: times.createdAt,
    expiresAt: times.expiresAt,
  };
  checkWithinLimits(grant, settings, times.now);
  // Before anything changes: a grant on-call would not hear of does not start.
  const onCall = await ctx.onCall();
  await inLedger(ctx, (ledger) => ledger.record(grant));
  // People reading the group in the console see whose rule it is and until when (the ledger decides).
  const Description = descriptionText(`SSH grant ${grant.grantId} for ${grantedTo} until ${grant.expiresAt}`);
  const permission = {
    IpProtocol: 'tcp',
    FromPort: request.port,
    ToPort: request.port,
    ...(request.cidr.family === 4
      ? { IpRanges: [{ CidrIp: request.cidr.text, Description }] }
      : { Ipv6Ranges: [{ CidrIpv6: request.cidr.text, Description }] }),
  };
  const recorded = await recordGrantChange(
    ctx,
    onCall,
    {
      action: 'grant',
      grant,
      caller,
      reason: request.reason,
      deployed: settings,
      plan: `AuthorizeSecurityGroupIngress tcp ${request.port} from ${request.cidr.text} on ${request.groupId}`,
      ...(member && { member }),
    },
    async (step) => {
      try {
        const authorized = await step(
          'AuthorizeSecurityGroupIngress',
          () =>
            ec2.send(
              new AuthorizeSecurityGroupIngressCommand({
                GroupId: request.groupId,
                IpPermissions: [permission],
                TagSpecifications: [
                  {
                    ResourceType: 'security-group-rule',
                    Tags: [{ Key: settings.ssh.grantTag, Value: grant.grantId }],
                  },
                ],
              }),
            ),
          {
            undo: {
              service: 'ec2',
              action: 'RevokeSecurityGroupIngress',
              input: { Region: region, GroupId: request.groupId, IpPermissions: [permission] },
            },
            output: (result) => ({
              securityGroupRuleId: result.SecurityGroupRules?.[0]?.SecurityGroupRuleId ?? null,
            }),
          },
        );
        return authorized.SecurityGroupRules?.[0]?.SecurityGroupRuleId;
      } catch (error) {
        // The grant never took effect: end it in the ledger so it lists as what it was.
        const why = `the rule could not be created: ${errorMessage(error)}`.slice(0, 512);
        await inLedger(ctx, (ledger) => ledger.revoke(grant.grantId, caller.arn, ctx.now(), why));
        throw error;
      }
    },
  );
  const ruleId = recorded.result;
  const { steps } = recorded;
  const incident = { incidentId: recorded.incident.incidentId, alertMessageId: recorded.alertMessageId };
  if (ruleId) await inLedger(ctx, (ledger) => ledger.attachRule(grant.grantId, ruleId as string));
  return {
    grant: ruleId ? { ...grant, target: { ...grant.target, ruleId } } : grant,
    ruleId,
    steps,
    ...incident,
  };
}
