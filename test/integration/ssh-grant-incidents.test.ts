import { createAwsClients } from '../../shared/aws/clients';
import type { Incident } from '../../shared/model';
import { DynamoDbIncidentStore } from '../../shared/pipeline/incident-store';
import type { Grant } from '../../shared/ssh/grant-ledger';
import { runCli } from '../support/cli';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { ACCOUNT, authorize, authorizeCall, createGroup, ingressRules, ledgerOf, ssh } from '../support/ssh';

/**
 * Issue 18: `ssh grant` and `ssh revoke` change AWS, so each is an incident (who, why, when, each call
 * with its undo) and one alert to on-call, and neither ever takes a rule's drift lock: a grant's
 * incident must never swallow the responder's own findings on the same group.
 */
describe('ssh grant and ssh revoke are incidents with an alert, against moto', () => {
  let responder: LocalResponder;
  let env: Record<string, string>;

  const grantIncidents = async (): Promise<Incident[]> =>
    (await responder.incidents()).filter((incident) => incident.grantChange !== undefined);
  const store = () =>
    new DynamoDbIncidentStore(createAwsClients('us-east-1').dynamo(), responder.stack.tableName, 30);

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    env = {
      INCIDENT_TABLE: responder.stack.tableName,
      AWS_REGION: 'us-east-1',
      // Nobody reads this topic: on-call is told on the topic the stack was deployed with.
      ALERT_TOPIC_ARN: `arn:aws:sns:us-east-1:${ACCOUNT}:nobody-reads-this`,
    };
  });

  async function grantTo(group: string): Promise<{ grant: Grant; ruleId: string; incidentId: string }> {
    const run = await runCli(
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
        'INC-42 restart the billing worker',
        '--json',
      ],
      env,
    );
    expect(run.code).toBe(0);
    return JSON.parse(run.stdout) as { grant: Grant; ruleId: string; incidentId: string };
  }

  it("records a grant as an incident and one alert needing no action, and holds no lock: a world-open drift and the grant's end on the same group each get their own incident", async () => {
    // Prepare
    const group = await createGroup('us-east-1', 'bastion');
    // Act
    const granted = await grantTo(group);
    // Assess: the grant's incident says who, why, when, what (the call and its undo), HIPAA, runbook
    const [incident] = await grantIncidents();
    expect(incident).toMatchObject({
      incidentId: granted.incidentId,
      ruleId: 'ssh-grant-expired',
      resourceId: group,
      hipaa: expect.arrayContaining(['164.312(a)(1)']),
      trigger: { source: 'command-line', eventName: 'ssh grant' },
      actor: { arn: expect.stringMatching(/^arn:aws:/) },
      status: 'resolved',
      runbook: 'docs/runbooks/ssh-grant-expired.md',
      grantChange: {
        action: 'grant',
        grantId: granted.grant.grantId,
        reason: 'INC-42 restart the billing worker',
      },
      steps: [
        {
          action: 'AuthorizeSecurityGroupIngress',
          result: 'succeeded',
          undo: { service: 'ec2', action: 'RevokeSecurityGroupIngress' },
          output: { securityGroupRuleId: granted.ruleId },
        },
      ],
      alert: { status: 'sent' },
    });
    // Assess: one alert, on the deployed topic, that needs nobody for an expected grant
    const alerts = await responder.alerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.attributes).toMatchObject({ status: 'resolved', actionNeeded: 'false' });
    expect(String(alerts[0]?.body.action)).toMatch(/^none if you expected this grant/);
    // Assess: no drift lock of either SSH rule
    expect(await store().heldDrifts('ssh-grant-expired')).toEqual([]);
    expect(await store().heldDrifts('ssh-open-to-world')).toEqual([]);

    // Act: a real world-open SSH drift on the same group
    await authorize('us-east-1', group, [ssh('0.0.0.0/0', 'left open by a deploy')]);
    const openToWorld = responder.handlerOf(() => require('../../functions/ssh-open-to-world'));
    await openToWorld(authorizeCall('us-east-1', group));
    // Act: the grant ends in the ledger (as its expiry does), and the rule's function sees the group
    await ledgerOf(responder.stack.tableName).revoke(
      granted.grant.grantId,
      `arn:aws:iam::${ACCOUNT}:user/oncall-bob`,
      new Date(),
      'ended for the test',
    );
    const grantExpired = responder.handlerOf(() => require('../../functions/ssh-grant-expired'));
    await grantExpired(authorizeCall('us-east-1', group));
    // Assess: each finding is its own incident, remediated; the grant's incident is as it was
    const others = (await responder.incidents()).filter((found) => found.incidentId !== granted.incidentId);
    expect(others.map((found) => [found.ruleId, found.resourceId, found.status]).sort()).toEqual([
      ['ssh-grant-expired', group, 'remediated'],
      ['ssh-open-to-world', group, 'remediated'],
    ]);
    expect(await ingressRules('us-east-1', group)).toEqual([]);
    expect((await grantIncidents()).map((found) => [found.incidentId, found.status])).toEqual([
      [granted.incidentId, 'resolved'],
    ]);
  });

  it('records a revoke as its own incident (the revoke call, whose undo re-opens the path) and one alert', async () => {
    // Prepare
    const group = await createGroup('us-east-1', 'bastion');
    const granted = await grantTo(group);
    await responder.alerts();
    // Act
    const run = await runCli(['ssh', 'revoke', granted.grant.grantId, '--reason', 'INC-42 done early'], env);
    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('recorded as incident');
    expect(await ingressRules('us-east-1', group)).toEqual([]);
    const revoke = (await grantIncidents()).find((found) => found.grantChange?.action === 'revoke');
    expect(revoke).toMatchObject({
      trigger: { source: 'command-line', eventName: 'ssh revoke' },
      status: 'resolved',
      grantChange: { grantId: granted.grant.grantId, reason: 'INC-42 done early' },
      steps: [
        {
          action: 'RevokeSecurityGroupIngress',
          result: 'succeeded',
          undo: { service: 'ec2', action: 'AuthorizeSecurityGroupIngress' },
        },
      ],
      alert: { status: 'sent' },
    });
    const alerts = await responder.alerts();
    expect(alerts.map((alert) => [alert.attributes.status, alert.attributes.actionNeeded])).toEqual([
      ['resolved', 'false'],
    ]);
    // Assess: incidents undo sends people to the ledger's own commands
    const undo = await runCli(
      ['incidents', 'undo', String(revoke?.incidentId), '--reason', 'x-test', '--yes'],
      env,
    );
    expect(undo.code).not.toBe(0);
    expect(undo.stderr).toContain('grant again with ssh grant');
  });
});
