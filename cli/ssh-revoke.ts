import { memberOnCallRoleName } from '../shared/organisation/member-roles';
import {
  GRANT_ID_PATTERN,
  type Grant,
  GrantAlreadyRevokedError,
  GrantKind,
  isLive,
} from '../shared/ssh/grant-ledger';
import { grantCoversRule, grantInAccount } from '../shared/ssh/grant-match';
import { KeyStatus, readUserKeys, setKeyStatus } from '../shared/ssh/iam-keys';
import { readSecurityGroup, revokeIngressRule } from '../shared/ssh/security-groups';
import type { CliContext } from './context';
import { CliError, UsageError } from './errors';
import { revokePlace } from './grant-account';
import { grantTarget, recordGrantChange } from './grant-incident';
import { inLedger, tableRegion } from './ledger-access';
import type { Recorded } from './ssh-grant';
import type { CliStep } from './steps';

export interface RevokeResult extends Recorded {
  grant: Grant;
  /** What was closed, in words. */
  closed: string[];
  /** Why something was left as it is. */
  notes: string[];
  steps: CliStep[];
}

async function findGrant(ctx: CliContext, grantId: string): Promise<Grant> {
  const grant = await inLedger(ctx, (ledger) => ledger.get(grantId));
  if (grant) return grant;
  throw new CliError(
    `unknown grant id '${grantId}' in the ledger of the home region ${tableRegion(ctx)}: list live grants with compliance-responder ssh grants (and check HOME_REGION or --table)`,
  );
}

export function checkGrantId(grantId: string): string {
  if (!GRANT_ID_PATTERN.test(grantId)) {
    throw new UsageError(`'${grantId}' is not a grant id (they look like sshg-20261123T101500-0a1b2c3d)`);
  }
  return grantId;
}

/**
 * Ends a grant now: the ledger first, with who and why (so even if closing fails half-way, the
 * responder's next lockdown closes the rest), then its path: the user's Active keys set Inactive
 * (unless another live grant covers the user), or the granted rule revoked. The ledger item says who
 * granted what, why, until when, and who ended it, when, why; the revoke is also an incident with its
 * steps and one alert to on-call (cli/grant-incident.ts). To undo a revoke, grant again.
 */
export async function revokeGrant(ctx: CliContext, grantId: string, reason: string): Promise<RevokeResult> {
  checkGrantId(grantId);
  const caller = await ctx.caller();
  const grant = await findGrant(ctx, grantId);
  const deployed = await ctx.deployedSettings();
  // A member's grant is closed there as on-call's member role, under a session naming the incident.
  const place = await revokePlace(ctx, grant, memberOnCallRoleName);
  // Before anything changes: a revoke on-call would not hear of does not start.
  const onCall = await ctx.onCall();
  const { ctx: inAccount, member } = await place.enter(ctx.now());
  let revoked: Grant;
  try {
    revoked = await inLedger(ctx, (ledger) => ledger.revoke(grantId, caller.arn, ctx.now(), reason));
  } catch (error) {
    if (error instanceof GrantAlreadyRevokedError) throw new CliError(error.message);
    throw error;
  }
  const closed: string[] = [];
  const notes: string[] = [];
  const recorded = await recordGrantChange(
    ctx,
    onCall,
    {
      action: 'revoke',
      grant: revoked,
      caller,
      reason,
      deployed,
      plan: `close what grant ${grantId} opened: ${grantTarget(grant)}`,
      ...(member && { member }),
    },
    async (step) => {
      if (grant.kind === GrantKind.IamSshKey) {
        const { userName } = grant.target;
        const others = (await inLedger(ctx, (ledger) => ledger.endingAfter(ctx.now()))).filter(
          (other) =>
            other.grantId !== grantId &&
            other.kind === GrantKind.IamSshKey &&
            other.target.userName === userName &&
            grantInAccount(other, place.where) &&
            isLive(other, ctx.now()),
        );
        const iam = inAccount.aws().iam();
        const user = await readUserKeys(iam, userName);
        if (others[0]) {
          notes.push(
            `kept ${userName}'s keys: grant ${others[0].grantId} still covers them until ${others[0].expiresAt}`,
          );
        } else if (!user) {
          notes.push(`IAM user ${userName} no longer exists`);
        } else {
          for (const key of user.keys.filter((candidate) => candidate.status === KeyStatus.Active)) {
            await setKeyStatus(iam, userName, key.keyId, KeyStatus.Inactive, step);
            closed.push(`SSH key ${key.keyId} of ${userName} set Inactive`);
          }
          if (closed.length === 0) notes.push(`${userName} had no Active SSH key`);
        }
        return;
      }
      const { target } = grant;
      const ec2 = inAccount.aws().ec2(target.region);
      const group = await readSecurityGroup(ec2, target.groupId);
      // The ledger says which path the grant opened (its rule id, or its address and port); the
      // rule's grant tag is anyone's to write, so it never picks what is revoked.
      const rule = group?.ingress.find((candidate) =>
        grantCoversRule(grant, candidate, target.region, place.where),
      );
      if (rule) {
        await revokeIngressRule(ec2, target.region, rule, step);
        closed.push(`rule ${rule.ruleId} of ${target.groupId} (${target.cidr} port ${target.port}) revoked`);
      } else {
        notes.push(`the granted rule of ${target.groupId} is already gone`);
      }
    },
  );
  return {
    grant: revoked,
    closed,
    notes,
    steps: recorded.steps,
    incidentId: recorded.incident.incidentId,
    alertMessageId: recorded.alertMessageId,
  };
}
