import {
  DisableEbsEncryptionByDefaultCommand,
  EC2Client,
  GetEbsEncryptionByDefaultCommand,
} from '@aws-sdk/client-ec2';
import {
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { CliContext } from '../../../cli/context';
import { undoIncident } from '../../../cli/undo';
import { createAwsClients } from '../../../shared/aws/clients';
import type { UndoRecord } from '../../../shared/model';
import type { AlertMessage } from '../../../shared/pipeline/alerts';
import { DynamoDbGrantLedger } from '../../../shared/ssh/grant-ledger';
import { anIncident, testSettings } from '../../support/incident';

const ON_CALL = 'arn:aws:sts::111122223333:assumed-role/compliance-responder-prod-on-call/bob';

describe('an undo that stops before it reverses anything', () => {
  const ec2 = mockClient(EC2Client);
  const dynamo = mockClient(DynamoDBDocumentClient);
  afterAll(() => {
    ec2.restore();
    dynamo.restore();
  });

  function context(published: AlertMessage[]): CliContext {
    const aws = createAwsClients('us-east-1');
    const settings = testSettings();
    return {
      region: 'us-east-1',
      tableName: 'compliance-responder-prod-incidents',
      settings,
      io: { out: () => {}, err: () => {} },
      aws: () => aws,
      ledger: () => new DynamoDbGrantLedger(aws.dynamo(), 'compliance-responder-prod-incidents', 2192),
      deployedSettings: async () => settings,
      onCall: async () => ({
        publish: async (alert) => {
          published.push(alert);
          return 'm-1';
        },
      }),
      caller: async () => ({ arn: ON_CALL, accountId: '111122223333' }),
      now: () => new Date('2026-11-23T12:00:00.000Z'),
      runId: 'cli-test',
    };
  }

  // The exemption write failing (throttled, denied) is hard to arrange in moto: covered with the mock.
  it('closes the undo entry as failed, alerts on-call that nothing was reversed, and says so', async () => {
    // Prepare: the incident, a clean exemption ledger, and an exemption write that fails
    const incident = anIncident();
    dynamo.on(GetCommand).callsFake((input: { Key: { pk: string } }) => ({
      Item: input.Key.pk === `INCIDENT#${incident.incidentId}` ? { ...incident, ...input.Key } : undefined,
    }));
    dynamo.on(UpdateCommand).resolves({});
    dynamo
      .on(TransactWriteCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    ec2.on(GetEbsEncryptionByDefaultCommand).resolves({ EbsEncryptionByDefault: true });
    const published: AlertMessage[] = [];
    // Act
    const attempt = undoIncident(context(published), incident.incidentId, {
      reason: 'INC-77 vendor cut-over',
      confirm: async () => true,
      progress: () => {},
    });
    // Assess: nothing was reversed, and the person and on-call are told
    await expect(attempt).rejects.toThrow(/Rate exceeded .*; on-call was alerted \(message m-1\)$/);
    expect(ec2).not.toHaveReceivedCommand(DisableEbsEncryptionByDefaultCommand);
    expect(published.map((alert) => [alert.attributes.status, alert.subject])).toEqual([
      [
        'undo-failed',
        '[HIGH] EBS encryption by default is off: undo failed, nothing reversed — 111122223333/us-east-1',
      ],
    ]);
    const saved = dynamo
      .commandCalls(UpdateCommand)
      .map((call) => call.args[0].input.ExpressionAttributeValues?.[':undo'] as UndoRecord | undefined)
      .filter(Boolean)
      .at(-1);
    expect(saved).toMatchObject({
      result: 'failed',
      finishedAt: '2026-11-23T12:00:00.000Z',
      calls: [{ result: 'not-run' }],
      alert: { status: 'sent', messageId: 'm-1' },
    });
  });
});
