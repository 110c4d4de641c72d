import { scheduledEvent } from '../../scripts/lib/events';
import { createAwsClients } from '../../shared/aws/clients';
import { type Exemption, isInForce } from '../../shared/exemptions/ledger';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { DynamoDbGrantLedger, type Grant } from '../../shared/ssh/grant-ledger';
import { runCli } from '../support/cli';
import { LocalResponder, resetAccount } from '../support/local-responder';
import {
  ACCOUNT,
  authorize,
  authorizeCall,
  createGroup,
  ingressRules,
  keyStatuses,
  ssh,
  userWithKey,
} from '../support/ssh';

/** The README's layout: the home stack (table, functions) in eu-west-1, forwarders elsewhere. */
const HOME = 'eu-west-1';
/** A forwarder region (no table): what --region names in every command here. */
const ELSEWHERE = 'us-west-2';
const SSH_GRANT_EXPIRED = () => require('../../functions/ssh-grant-expired');
const SSH_OPEN_TO_WORLD = () => require('../../functions/ssh-open-to-world');

describe('the command line with the home stack outside us-east-1, against moto', () => {
  let responder: LocalResponder;
  let env: Record<string, string>;
  /** The home schedule's sweep; it covers us-east-1 too, where IAM is judged (as all-enabled does). */
  let sweep: (event: unknown) => Promise<HandlerResult>;

  const cli = (args: readonly string[]) => runCli(['--region', ELSEWHERE, ...args], env);

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision({}, HOME);
    env = { INCIDENT_TABLE: responder.stack.tableName, HOME_REGION: HOME };
    sweep = responder.handlerOf(SSH_GRANT_EXPIRED, { SWEEP_REGIONS: `${HOME},us-east-1` });
  });

  it('records an IAM grant in the home table, where the real function finds it and leaves the key Active', async () => {
    // Prepare: one granted user, one not (the control: the sweep does close ungranted keys)
    await userWithKey('dev-alice', 'Inactive');
    await userWithKey('dev-mallory', 'Active');
    // Act
    const granted = await cli([
      'ssh',
      'grant',
      '--user',
      'dev-alice',
      '--ttl',
      '30m',
      '--reason',
      'INC-42 billing worker',
      '--json',
    ]);
    const { grant } = JSON.parse(granted.stdout || '{}') as { grant: Grant };
    const result = await sweep(scheduledEvent({ accountId: ACCOUNT, region: HOME }));
    // Assess: in the home table, honoured by the function, listed by the CLI
    expect(granted).toMatchObject({ code: 0 });
    const home = new DynamoDbGrantLedger(createAwsClients(HOME).dynamo(), responder.stack.tableName, 30);
    expect(await home.get(grant.grantId)).toMatchObject({ target: { userName: 'dev-alice' } });
    expect(result.outcomes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ resourceId: 'dev-alice', compliance: 'COMPLIANT' }),
        expect.objectContaining({ resourceId: 'dev-mallory', status: 'remediated' }),
      ]),
    );
    expect(await keyStatuses('dev-alice')).toEqual(['Active']);
    expect(await keyStatuses('dev-mallory')).toEqual(['Inactive']);
    const listed = await cli(['ssh', 'grants']);
    expect(listed.stdout).toMatch(
      new RegExp(`${grant.grantId}\\s+${ACCOUNT}\\s+iam-ssh-key\\s+iam-user dev-alice`),
    );
    // Act: revoke with --region still naming the forwarder region
    const revoked = await cli(['ssh', 'revoke', grant.grantId, '--reason', 'INC-42 done']);
    // Assess
    expect(revoked).toMatchObject({ code: 0 });
    expect(await keyStatuses('dev-alice')).toEqual(['Inactive']);
    expect(await home.get(grant.grantId)).toMatchObject({ revokedAt: expect.any(String) });
  });

  it('lists, honours and removes exemptions of an IAM user and of a group in another region', async () => {
    // Prepare: an ungranted Active key, and a world-open group in the forwarder region
    await userWithKey('svc-sftp', 'Active');
    const group = await createGroup(ELSEWHERE, 'vendor-sftp');
    await authorize(ELSEWHERE, group, [ssh('0.0.0.0/0')]);
    const userArn = `arn:aws:iam::${ACCOUNT}:user/svc-sftp`;
    const groupArn = `arn:aws:ec2:${ELSEWHERE}:${ACCOUNT}:security-group/${group}`;
    const exempt = async (arn: string, rule: string) => {
      const run = await cli([
        'exemptions',
        'add',
        arn,
        '--rule',
        rule,
        '--until',
        '7d',
        '--reason',
        'CHG-9 vendor',
        '--json',
      ]);
      expect(run).toMatchObject({ code: 0 });
      return JSON.parse(run.stdout) as Exemption;
    };
    // Act
    const onUser = await exempt(userArn, 'ssh-grant-expired');
    const onGroup = await exempt(groupArn, 'ssh-open-to-world');
    const listed = await cli(['exemptions', 'list', '--json']);
    const swept = await sweep(scheduledEvent({ accountId: ACCOUNT, region: HOME }));
    const delivered = await responder.handlerOf(SSH_OPEN_TO_WORLD)(authorizeCall(ELSEWHERE, group));
    // Assess: both listed; the real functions record them exempted and change nothing
    expect(listed).toMatchObject({ code: 0 });
    expect((JSON.parse(listed.stdout) as Exemption[]).map((entry) => entry.exemptionId).sort()).toEqual(
      [onUser.exemptionId, onGroup.exemptionId].sort(),
    );
    expect(swept.outcomes).toContainEqual(
      expect.objectContaining({ resourceId: 'svc-sftp', status: 'exempted' }),
    );
    expect(delivered.outcomes).toEqual([expect.objectContaining({ resourceId: group, status: 'exempted' })]);
    expect(await keyStatuses('svc-sftp')).toEqual(['Active']);
    expect(await ingressRules(ELSEWHERE, group)).toHaveLength(1);
    const exempted = (await responder.incidents()).filter((incident) => incident.status === 'exempted');
    expect(exempted.map((incident) => incident.resourceArn).sort()).toEqual([groupArn, userArn].sort());
    // Act: remove both, then the functions run again
    const removed = [
      await cli(['exemptions', 'remove', onUser.exemptionId, '--reason', 'vendor gone']),
      await cli(['exemptions', 'remove', onGroup.exemptionId]),
    ];
    await sweep(scheduledEvent({ accountId: ACCOUNT, region: HOME }));
    await responder.handlerOf(SSH_OPEN_TO_WORLD)(authorizeCall(ELSEWHERE, group));
    // Assess: removed in the ledger, and remediated as usual
    expect(removed.map((run) => run.code)).toEqual([0, 0]);
    const after = JSON.parse((await cli(['exemptions', 'list', '--all', '--json'])).stdout) as Exemption[];
    expect(after.filter((entry) => isInForce(entry, new Date()))).toEqual([]);
    expect(after.every((entry) => entry.removedAt !== undefined)).toBe(true);
    expect(await keyStatuses('svc-sftp')).toEqual(['Inactive']);
    expect(await ingressRules(ELSEWHERE, group)).toEqual([]);
  });

  it('names the home region and what to set when the table is not there', async () => {
    // Act: HOME_REGION unset, so --region is taken as the home region (existing usage)
    const run = await runCli(['--region', ELSEWHERE, 'exemptions', 'list'], {
      INCIDENT_TABLE: responder.stack.tableName,
      HOME_REGION: '',
    });
    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(
      `error: table '${responder.stack.tableName}' not found in the home region ${ELSEWHERE}: set HOME_REGION (or pass --region) to the home stack's region, or --table`,
    );
  });
});
