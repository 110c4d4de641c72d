import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createAwsClients } from '../../../shared/aws/clients';
import type { Incident, IncidentStatus } from '../../../shared/model';
import type { BlastRadiusGuard } from '../../../shared/pipeline/guards';
import { DynamoDbIncidentStore } from '../../../shared/pipeline/incident-store';
import { moveIncident, recordMove } from '../../../shared/pipeline/lifecycle';
import { ResponsePipeline } from '../../../shared/pipeline/run-pipeline';
import { defineRule } from '../../../shared/rules/rule';
import { anIncident, testSettings } from '../../support/incident';
import { CollectingAlerts, MemoryExemptionLedger, MemoryIncidentStore } from '../../support/memory-store';

/**
 * Two writers racing on one incident's status (a resumer and a delivery, a check and `incidents
 * undo`): each writes only from the status it read, so the loser never moves the incident backwards
 * or out of a final status; it reads again and decides.
 */

const ddb = mockClient(DynamoDBDocumentClient);
const store = () =>
  new DynamoDbIncidentStore(
    DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
    'incidents',
    30,
    () => new Date('2026-11-23T10:20:00Z'),
  );
const lost = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
const stored = (status: IncidentStatus, statusReason?: string): { Item: Record<string, unknown> } => ({
  Item: {
    pk: 'INCIDENT#inc-1',
    sk: 'INCIDENT',
    ...anIncident({ incidentId: 'inc-1', status, statusReason }),
  },
});

beforeEach(() => ddb.reset());

describe('a status write', () => {
  it('is conditional on the status this writer read', async () => {
    // Prepare
    ddb.on(UpdateCommand).resolves({});
    // Act
    const move = await moveIncident(store(), { incidentId: 'inc-1', status: 'remediating' }, 'remediated');
    // Assess
    expect(move).toEqual({ moved: true });
    const [update] = ddb.commandCalls(UpdateCommand);
    expect(update?.args[0].input).toMatchObject({
      Key: { pk: 'INCIDENT#inc-1', sk: 'INCIDENT' },
      // The status this writer read, and room in the history for this change
      ConditionExpression:
        'attribute_exists(pk) AND #status = :from AND (attribute_not_exists(transitions) OR size(transitions) < :room)',
      ExpressionAttributeValues: { ':from': 'remediating', ':status': 'remediated' },
    });
  });

  it("that lost the race reads again and leaves the winner's final status: one write, no retry", async () => {
    // Prepare: a stuck-claim resumer failed the incident after this writer read it `remediating`
    ddb.on(UpdateCommand).rejects(lost());
    ddb.on(GetCommand).resolves(stored('failed', 'stuck'));
    // Act
    const move = await moveIncident(store(), { incidentId: 'inc-1', status: 'remediating' }, 'remediated');
    // Assess
    expect(move).toMatchObject({ moved: false, current: { status: 'failed', statusReason: 'stuck' } });
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
  });

  it('that lost the race to a move of its own kind does not make it again (no second remediation)', async () => {
    // Prepare: another delivery moved the incident `open` → `remediating` first
    ddb.on(UpdateCommand).rejects(lost());
    ddb.on(GetCommand).resolves(stored('remediating'));
    // Act
    const move = await moveIncident(store(), { incidentId: 'inc-1', status: 'open' }, 'remediating');
    // Assess
    expect(move).toMatchObject({ moved: false, current: { status: 'remediating' } });
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
  });
});

describe('recording a change that already happened (incidents undo)', () => {
  it('moves from the status read again when the lifecycle allows it from there', async () => {
    // Prepare: a check resolved the remediated incident while its undo ran
    ddb.on(UpdateCommand).rejectsOnce(lost()).resolves({});
    ddb.on(GetCommand).resolves(stored('resolved', 'found compliant again by a later check'));
    // Act
    const move = await recordMove(
      store(),
      { incidentId: 'inc-1', status: 'remediated' },
      'undone',
      'undone by bob',
    );
    // Assess
    expect(move).toEqual({ moved: true });
    const froms = ddb.commandCalls(UpdateCommand).map((call) => call.args[0].input.ExpressionAttributeValues);
    expect(froms).toEqual([
      expect.objectContaining({ ':from': 'remediated', ':status': 'undone' }),
      expect.objectContaining({ ':from': 'resolved', ':status': 'undone' }),
    ]);
  });

  it('writes nothing more when the status read again may not move there', async () => {
    // Prepare: a remediation started again (a resumer) before the undo finished
    ddb.on(UpdateCommand).rejects(lost());
    ddb.on(GetCommand).resolves(stored('remediating'));
    // Act
    const move = await recordMove(
      store(),
      { incidentId: 'inc-1', status: 'failed' },
      'undone',
      'undone by bob',
    );
    // Assess
    expect(move).toMatchObject({ moved: false, current: { status: 'remediating' } });
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
  });
});

describe('the pipeline, losing the race', () => {
  /** The memory store, with another writer that resolves the incident just before this one's move to `to`. */
  class RacedStore extends MemoryIncidentStore {
    constructor(private readonly to: IncidentStatus) {
      super();
    }
    override async setStatus(...args: Parameters<MemoryIncidentStore['setStatus']>) {
      const target = args.find((arg) => arg === this.to);
      const [incidentId] = args;
      const incident = this.incidents.get(incidentId);
      if (target && incident && incident.status !== 'resolved') {
        Object.assign(incident, {
          status: 'resolved',
          statusReason: 'found compliant again by a later check',
        });
      }
      return super.setStatus(...args);
    }
  }

  it('never remediates an incident another writer resolved after it was read', async () => {
    // Prepare
    const remediate = jest.fn(async () => undefined);
    const rule = defineRule<{ on: boolean }>({
      id: 'ebs-encryption-by-default',
      title: 'Lamp is off',
      severity: 'HIGH',
      hipaa: ['164.312(b)'],
      runbook: 'docs/runbooks/ebs-encryption-by-default.md',
      readme: { enforce: 'turns the lamp on' },
      defaultMode: 'enforce',
      resourceType: 'AWS::::Account',
      triggers: { cloudTrail: { eventNames: ['TurnOff'] }, schedule: 'rate(1 hour)' },
      permissions: [],
      load: async () => ({
        resourceType: 'AWS::::Account',
        resourceId: '111122223333',
        arn: 'arn:lamp',
        region: 'us-east-1',
        accountId: '111122223333',
        tags: {},
        state: { on: false },
      }),
      async *list() {},
      detect: () => ({ compliant: false, reason: 'lamp off', evidence: {}, plan: 'turn it on' }),
      remediate,
    });
    const raced = new RacedStore('remediating');
    const pipeline = new ResponsePipeline(rule, {
      aws: createAwsClients('us-east-1'),
      settings: testSettings(),
      store: raced,
      alerts: new CollectingAlerts(),
      guard: { acquire: async () => ({ allowed: true }) } as unknown as BlastRadiusGuard,
      exemptions: new MemoryExemptionLedger(),
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      metrics: { count: () => undefined },
      verify: { attempts: 1, delayMs: 1 },
    });
    // Act
    await pipeline.handle({
      kind: 'resources',
      observations: [
        {
          source: 'cloudtrail',
          eventId: 'event-1',
          eventName: 'TurnOff',
          accountId: '111122223333',
          region: 'us-east-1',
          resourceType: 'AWS::::Account',
          resourceId: '111122223333',
          observedAt: '2026-11-23T10:00:00Z',
          summary: {},
        },
      ],
    });
    // Assess: the winner's status stands, and nothing was changed in AWS
    const [incident] = [...raced.incidents.values()] as Incident[];
    expect(incident).toMatchObject({ status: 'resolved' });
    expect(remediate).not.toHaveBeenCalled();
  });
});
