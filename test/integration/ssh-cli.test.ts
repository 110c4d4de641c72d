import { scheduledEvent } from '../../scripts/lib/events';
import type { Grant } from '../../shared/ssh/grant-ledger';
import { type CliRun, runCli } from '../support/cli';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { recordCalls, writesAmong } from '../support/recorder';
import {
  ACCOUNT,
  aGrant,
  authorize,
  authorizeCall,
  createGroup,
  GRANT_TAG,
  ingressRules,
  keyStatuses,
  ledgerOf,
  ssh,
  userWithKey,
} from '../support/ssh';

const cli = runCli;

describe('compliance-responder ssh, run as a user would against moto', () => {
  let responder: LocalResponder;
  let table: Record<string, string>;

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    table = { INCIDENT_TABLE: responder.stack.tableName };
  });

  it("grants an IAM user's SSH keys (recorded, audit-ready), lists the grant, and revokes it", async () => {
    // Prepare
    const keyId = await userWithKey('dev-alice', 'Inactive');
    // Act
    const granted = await cli(
      ['ssh', 'grant', '--user', 'dev-alice', '--ttl', '30m', '--reason', 'INC-42 billing worker', '--json'],
      table,
    );
    // Assess: the key is Active and the ledger says who granted what, why and until when
    expect(granted.code).toBe(0);
    const { grant } = JSON.parse(granted.stdout) as { grant: Grant };
    expect(await keyStatuses('dev-alice')).toEqual(['Active']);
    const recorded = await ledgerOf(responder.stack.tableName).get(grant.grantId);
    expect(recorded).toMatchObject({
      kind: 'iam-ssh-key',
      target: { userName: 'dev-alice' },
      grantedTo: 'dev-alice',
      grantedBy: expect.stringMatching(/^arn:aws:/),
      reason: 'INC-42 billing worker',
    });
    expect(Date.parse(String(recorded?.expiresAt)) - Date.parse(String(recorded?.createdAt))).toBe(
      30 * 60_000,
    );
    expect(granted.stderr).toContain(
      `undo: iam UpdateSSHPublicKey {"UserName":"dev-alice","SSHPublicKeyId":"${keyId}","Status":"Inactive"}`,
    );
    // Assess: the responder leaves the granted key alone
    const handle = responder.handlerOf(() => require('../../functions/ssh-grant-expired'));
    await handle(scheduledEvent({ accountId: ACCOUNT, region: 'us-east-1' }));
    expect(await keyStatuses('dev-alice')).toEqual(['Active']);
    // Act: list, then revoke
    const listed = await cli(['ssh', 'grants'], table);
    const revoked = await cli(['ssh', 'revoke', grant.grantId, '--reason', 'INC-42 done'], table);
    // Assess
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(
      new RegExp(`${grant.grantId}\\s+${ACCOUNT}\\s+iam-ssh-key\\s+iam-user dev-alice\\s+dev-alice`),
    );
    expect(revoked).toMatchObject({ code: 0 });
    expect(revoked.stdout).toContain(`closed: SSH key ${keyId} of dev-alice set Inactive`);
    expect(await keyStatuses('dev-alice')).toEqual(['Inactive']);
    expect(await ledgerOf(responder.stack.tableName).get(grant.grantId)).toMatchObject({
      revokedAt: expect.any(String),
      revokedBy: expect.stringMatching(/^arn:aws:/),
      revokeReason: 'INC-42 done',
    });
    expect((await cli(['ssh', 'grants'], table)).stdout).toContain('no live SSH grants');
  });

  it('grants one address to a security group with a tagged rule the responder keeps, and revokes it', async () => {
    // Prepare
    const group = await createGroup('us-east-1', 'bastion');
    // Act
    const granted = await cli(
      [
        'ssh',
        'grant',
        '--security-group',
        group,
        '--cidr',
        '203.0.113.7/32',
        '--ttl',
        '1h',
        '--for',
        'dev-alice',
        '--reason',
        'INC-42',
        '--json',
      ],
      table,
    );
    // Assess: the rule carries the grant id; the ledger knows the rule
    expect(granted.code).toBe(0);
    const { grant, ruleId } = JSON.parse(granted.stdout) as { grant: Grant; ruleId: string };
    const rules = await ingressRules('us-east-1', group);
    expect(rules).toEqual([
      expect.objectContaining({
        SecurityGroupRuleId: ruleId,
        CidrIpv4: '203.0.113.7/32',
        FromPort: 22,
        ToPort: 22,
        Tags: [{ Key: GRANT_TAG, Value: grant.grantId }],
      }),
    ]);
    expect(await ledgerOf(responder.stack.tableName).get(grant.grantId)).toMatchObject({
      grantedTo: 'dev-alice',
      target: { region: 'us-east-1', groupId: group, cidr: '203.0.113.7/32', port: 22, ruleId },
    });
    // Assess: the responder sees the authorization and keeps the granted rule
    const handle = responder.handlerOf(() => require('../../functions/ssh-grant-expired'));
    const seen = await handle(authorizeCall('us-east-1', group));
    expect(seen.outcomes).toEqual([expect.objectContaining({ compliance: 'COMPLIANT' })]);
    // Act
    const revoked = await cli(['ssh', 'revoke', grant.grantId, '--reason', 'INC-42 done'], table);
    // Assess
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`closed: rule ${ruleId} of ${group} (203.0.113.7/32 port 22) revoked`);
    expect(await ingressRules('us-east-1', group)).toEqual([]);
  });

  it('locks down: --dry-run lists every open path and writes nothing; then every path without a live grant closes', async () => {
    // Prepare: a world-open rule, an ungranted /32, a granted /32, an Active key without a grant, a granted key
    const group = await createGroup('us-east-1', 'everything');
    const [worldRule] = await authorize('us-east-1', group, [ssh('0.0.0.0/0')]);
    const [strayRule] = await authorize('us-east-1', group, [ssh('198.51.100.4/32')]);
    const ledger = ledgerOf(responder.stack.tableName);
    const grant = aGrant(
      { region: 'us-east-1', groupId: group, cidr: '203.0.113.7/32', port: 22 },
      30 * 60_000,
    );
    await ledger.record(grant);
    const [grantedRule] = await authorize('us-east-1', group, [ssh('203.0.113.7/32')], {
      [GRANT_TAG]: grant.grantId,
    });
    await userWithKey('dev-erin', 'Active');
    await userWithKey('dev-frank', 'Active');
    await ledger.record(aGrant({ userName: 'dev-frank' }, 30 * 60_000));
    // Act
    let dryRun: CliRun = { code: -1, stdout: '', stderr: '' };
    const calls = await recordCalls(async () => {
      dryRun = await cli(['ssh', 'lockdown', '--dry-run'], table);
    });
    // Assess: listed, nothing changed
    expect(dryRun.code).toBe(0);
    expect(writesAmong(calls)).toEqual([]);
    expect(dryRun.stdout).toMatch(/would-close\s+ssh-open-to-world\s+sg-/);
    expect(dryRun.stdout).toMatch(/would-close\s+ssh-grant-expired\s+sg-/);
    expect(dryRun.stdout).toMatch(/would-close\s+ssh-grant-expired\s+dev-erin/);
    expect(dryRun.stdout).toContain('dry run: would close 3 SSH path(s)');
    expect(await ingressRules('us-east-1', group)).toHaveLength(3);
    // Act
    const locked = await cli(['ssh', 'lockdown', '--yes', '--reason', 'INC-9 key leak', '--json'], table);
    // Assess: closed, verified, the granted paths kept
    expect(locked.code).toBe(0);
    const report = JSON.parse(locked.stdout) as { entries: { outcome: string; resourceId: string }[] };
    expect(report.entries.map((entry) => [entry.outcome, entry.resourceId])).toEqual([
      ['closed', group],
      ['closed', group],
      ['closed', 'dev-erin'],
    ]);
    expect((await ingressRules('us-east-1', group)).map((rule) => rule.SecurityGroupRuleId)).toEqual([
      grantedRule,
    ]);
    expect([worldRule, strayRule]).not.toContain(grantedRule);
    expect(await keyStatuses('dev-erin')).toEqual(['Inactive']);
    expect(await keyStatuses('dev-frank')).toEqual(['Active']);
  });

  it.each([
    [
      'a missing user',
      ['ssh', 'grant', '--user', 'nobody', '--ttl', '30m', '--reason', 'INC-42'],
      1,
      "error: no IAM user named 'nobody' in account 123456789012: check the name (aws iam list-users)",
    ],
    [
      'a TTL over the cap',
      ['ssh', 'grant', '--user', 'dev-alice', '--ttl', '13h', '--reason', 'INC-42'],
      1,
      'error: TTL 13h is over the cap of 12h the stack was deployed with (SSH_GRANT_MAX_TTL_MINUTES=720): ask for 12h or less, and grant again when it ends',
    ],
    [
      'the whole internet',
      [
        'ssh',
        'grant',
        '--security-group',
        'sg-0123456789abcdef0',
        '--cidr',
        '0.0.0.0/0',
        '--reason',
        'INC-42',
      ],
      1,
      'error: refused --cidr 0.0.0.0/0: that is the whole internet',
    ],
    [
      'a CIDR broader than /24',
      [
        'ssh',
        'grant',
        '--security-group',
        'sg-0123456789abcdef0',
        '--cidr',
        '10.0.0.0/16',
        '--reason',
        'INC-42',
      ],
      1,
      'error: refused --cidr 10.0.0.0/16: broader than /24 for IPv4',
    ],
    [
      'an unknown grant id',
      ['ssh', 'revoke', 'sshg-20260101T000000-00000000', '--reason', 'INC-42 done'],
      1,
      "error: unknown grant id 'sshg-20260101T000000-00000000'",
    ],
    [
      'a revoke without a reason',
      ['ssh', 'revoke', 'sshg-20260101T000000-00000000'],
      2,
      "error: required option '--reason <text>' not specified",
    ],
    [
      'a missing table',
      ['--table', 'no-such-table', 'ssh', 'grants'],
      1,
      "error: table 'no-such-table' not found in the home region us-east-1: set HOME_REGION (or pass --region) to the home stack's region, or --table",
    ],
    [
      'a malformed TTL',
      ['ssh', 'grant', '--user', 'dev-alice', '--ttl', 'soon', '--reason', 'INC-42'],
      2,
      "error: invalid --ttl 'soon'",
    ],
  ])(
    'refuses %s with one clear line and the right exit code, changing nothing',
    async (_case, args, code, line) => {
      // Prepare
      await userWithKey('dev-alice', 'Inactive');
      // Act
      let run: CliRun = { code: -1, stdout: '', stderr: '' };
      const calls = await recordCalls(async () => {
        run = await cli(args, table);
      });
      // Assess
      expect(run.code).toBe(code);
      expect(run.stderr.trim().split('\n')[0]).toContain(line);
      expect(writesAmong(calls)).toEqual([]);
      expect(await keyStatuses('dev-alice')).toEqual(['Inactive']);
    },
  );
});
