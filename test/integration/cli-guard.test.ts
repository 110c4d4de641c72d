import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { BlastRadiusGuard, type GuardStatus } from '../../shared/pipeline/guards';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { type CliRun, runCli } from '../support/cli';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { recordCalls, writesAmong } from '../support/recorder';
import { authorize, authorizeCall, createGroup, ingressRules, ssh } from '../support/ssh';

/** One remediation per window is allowed; the second trips the guard. */
const GUARD = { GUARD_THRESHOLD: '1', GUARD_WINDOW_MINUTES: '60' };

const cli = runCli;

describe('compliance-responder guard, against moto with a guard the real pipeline tripped', () => {
  let responder: LocalResponder;
  let env: Record<string, string>;
  let openSsh: () => Promise<{ group: string; result: HandlerResult }>;

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision(GUARD);
    env = { INCIDENT_TABLE: responder.stack.tableName, ...GUARD };
    const handle = responder.handlerOf(() => require('../../functions/ssh-open-to-world'));
    openSsh = async () => {
      const group = await createGroup('us-east-1', `web-${Math.random().toString(36).slice(2, 8)}`);
      await authorize('us-east-1', group, [ssh('0.0.0.0/0')]);
      return { group, result: await handle(authorizeCall('us-east-1', group)) };
    };
  });

  it('shows the trip, resets it with a recorded reason, and the next remediation runs', async () => {
    // Prepare: the first remediation fills the window, the second trips the guard
    await openSsh();
    const held = await openSsh();
    expect(held.result.outcomes[0]).toMatchObject({ status: 'open' });
    // Act
    const status = await cli(['guard', 'status'], env);
    const json = await cli(['guard', 'status', '--json'], env);
    // Assess: non-zero while tripped (4), so a script or a health check can tell
    expect([status.code, json.code]).toEqual([4, 4]);
    expect(status.stdout).toMatch(/^blast-radius guard TRIPPED in \S+ \(us-east-1\) since \d{4}-/);
    expect(status.stdout).toMatch(
      /why: +blast-radius guard tripped: more than 1 remediations within 60 minutes/,
    );
    expect(status.stdout).toContain('1 of 1 remediation(s) counted in the sliding 60-minute window');
    expect(JSON.parse(json.stdout)).toMatchObject({
      tripped: true,
      counted: 1,
      threshold: 1,
      windowMinutes: 60,
    });
    // Act: the report made while tripped, then the reset, then the report again
    const whileTripped = await cli(['report', '--since', '1h'], env);
    const reset = await cli(['guard', 'reset', '--reason', 'INC-7: a planned clean-up, reviewed'], env);
    const reported = await cli(['report', '--since', '1h'], env);
    const after = await cli(['guard', 'status', '--json'], env);
    const next = await openSsh();
    // Assess: cleared, recorded with who, when and why, and remediation runs again
    expect(reset.code).toBe(0);
    expect(reset.stdout).toMatch(
      /^reset the blast-radius guard \(tripped at .+\); the next remediation is allowed/,
    );
    expect(after.code).toBe(0);
    const afterStatus = JSON.parse(after.stdout) as GuardStatus;
    expect(afterStatus).toMatchObject({
      tripped: false,
      counted: 0,
      lastReset: {
        resetBy: expect.stringMatching(/^arn:aws:/),
        reason: 'INC-7: a planned clean-up, reviewed',
      },
    });
    // Assess: the auditor's report lists the trip, and then its reset with who and why
    expect(whileTripped.code).toBe(0);
    expect(whileTripped.stdout).toContain('## Blast-radius guard trips in the period (1)');
    expect(whileTripped.stdout).toContain('not reset when the report was made');
    expect(reported.stdout).toContain('## Blast-radius guard trips in the period (1)');
    expect(reported.stdout).toContain('INC-7: a planned clean-up, reviewed');
    expect(reported.stdout).not.toContain('not reset when the report was made');
    expect(next.result.outcomes[0]).toMatchObject({ status: 'remediated' });
    expect(await ingressRules('us-east-1', next.group)).toEqual([]);
    const history = await DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })).send(
      new QueryCommand({
        TableName: responder.stack.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :reset)',
        ExpressionAttributeValues: { ':pk': 'GUARD', ':reset': 'RESET#' },
      }),
    );
    expect(history.Items).toEqual([
      expect.objectContaining({
        resetAt: expect.any(String),
        resetBy: expect.stringMatching(/^arn:aws:/),
        reason: 'INC-7: a planned clean-up, reviewed',
        trippedAt: expect.any(String),
        tripReason: expect.stringContaining('blast-radius guard tripped'),
      }),
    ]);
  });

  it('says an untripped guard is not tripped, and a reset of it changes nothing', async () => {
    // Prepare
    await openSsh();
    // Act
    const status = await cli(['guard', 'status'], env);
    let reset: CliRun = { code: -1, stdout: '', stderr: '' };
    const calls = await recordCalls(async () => {
      reset = await cli(['guard', 'reset', '--reason', 'INC-8 just in case'], env);
    });
    // Assess
    expect(status.stdout).toMatch(
      /^blast-radius guard not tripped in \S+ \(us-east-1\): the responder remediates/,
    );
    expect(status.stdout).toContain('1 of 1 remediation(s) counted');
    expect(status.code).toBe(0);
    expect(reset.code).toBe(0);
    expect(reset.stdout.trim()).toMatch(
      /^the blast-radius guard is not tripped in \S+ \(us-east-1\): nothing was changed$/,
    );
    expect(writesAmong(calls)).toEqual([]);
  });

  it.each([
    ['no reason', ['guard', 'reset'], "required option '--reason <text>'"],
    ['an empty reason', ['guard', 'reset', '--reason', '  '], '--reason must say why'],
    [
      'a reason that is too long',
      ['guard', 'reset', '--reason', 'x'.repeat(300)],
      'longer than 256 characters',
    ],
  ])('refuses a reset with %s as a usage mistake, changing nothing', async (_case, args, words) => {
    // Prepare
    await openSsh();
    await openSsh();
    // Act
    const run = await cli(args, env);
    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(words);
    expect(JSON.parse((await cli(['guard', 'status', '--json'], env)).stdout)).toMatchObject({
      tripped: true,
    });
  });

  it("shows and resets a member account's own guard with --account, leaving this account's alone", async () => {
    // Prepare: the guard of member account 210987654321 tripped by its functions (as an organisation deployment's do)
    const member = '210987654321';
    const guard = new BlastRadiusGuard(
      DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
      responder.stack.tableName,
      1,
      60,
    ).forAccount(member);
    const arn = (n: number) => `arn:aws:ec2:us-east-1:${member}:security-group/sg-${n}`;
    await guard.acquire({ ruleId: 'ssh-open-to-world', resourceArn: arn(1) });
    expect(await guard.acquire({ ruleId: 'ssh-open-to-world', resourceArn: arn(2) })).toMatchObject({
      allowed: false,
    });
    // Act
    const memberStatus = await cli(['guard', 'status', '--account', member], env);
    const ownStatus = await cli(['guard', 'status'], env);
    const bad = await cli(['guard', 'reset', '--account', '12345', '--reason', 'a typo'], env);
    const report = await cli(['report', '--since', '1h'], env);
    const reset = await cli(
      ['guard', 'reset', '--account', member, '--reason', 'INC-9: reviewed the burst'],
      env,
    );
    // Assess
    expect(memberStatus.code).toBe(4);
    expect(memberStatus.stdout).toContain(`for account ${member}`);
    expect(memberStatus.stdout).toContain(`blast-radius guard tripped in account ${member}`);
    expect(ownStatus.code).toBe(0);
    expect([bad.code, bad.stderr]).toEqual([
      2,
      expect.stringContaining('--account must be a 12-digit account id'),
    ]);
    expect(report.stdout).toContain('## Blast-radius guard trips in the period (1)');
    expect(report.stdout).toContain(`blast-radius guard tripped in account ${member}`);
    expect(reset.code).toBe(0);
    expect((await guard.status()).tripped).toBe(false);
  });
});
