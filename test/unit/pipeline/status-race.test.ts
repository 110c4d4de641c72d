import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { IncidentStatus } from '../../../shared/model';
import { DynamoDbIncidentStore } from '../../../shared/pipeline/incident-store';
import { moveIncident, recordMove } from '../../../shared/pipeline/lifecycle';
import type { Rule } from '../../../shared/rules/rule';
import { anIncident } from '../../support/incident';
import { type Lamp, lampRule, observation, pipelineFor } from '../../support/lamp';
import { MemoryIncidentStore } from '../../support/memory-store';

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
  const lamp = (remediate: Rule<Lamp>['remediate']) => lampRule({ lamp: { on: false } }, remediate);
  const handle = (rule: Rule, store: MemoryIncidentStore) =>
    pipelineFor(rule, {}, store).pipeline.handle({ kind: 'resources', observations: [observation] });

  it('never changes AWS when a concurrent delivery opened the incident between the check and the intent', async () => {
    // Prepare: another delivery of the same drift opens its incident just before this one's first write
    class RacedStore extends MemoryIncidentStore {
      override async open(...args: Parameters<MemoryIncidentStore['open']>) {
        const [incident] = args;
        await super.open({ ...incident, incidentId: 'inc-winner', status: 'remediating' }, 'event-0');
        return super.open(...args);
      }
    }
    const turnOn = jest.fn(async () => undefined);
    const rule = lamp(async (_resource, _finding, ctx) => {
      await ctx.step('TurnOn', turnOn);
    });
    const raced = new RacedStore();
    // Act
    const [outcome] = await handle(rule, raced);
    // Assess: only the winner's incident exists, and nothing was changed in AWS
    expect(turnOn).not.toHaveBeenCalled();
    expect([...raced.incidents.keys()]).toEqual(['inc-winner']);
    expect(outcome?.note).toBe('already handled by incident inc-winner');
  });

  it('never changes AWS for an incident another writer resolved after it was read', async () => {
    // Prepare: an incident its process abandoned (open, undecided), resolved by a check just before
    // the resumer's intent is written
    class RacedStore extends MemoryIncidentStore {
      override async commit(...args: Parameters<MemoryIncidentStore['commit']>) {
        const incident = this.incidents.get(args[0]);
        if (incident && args[1].moves?.some((move) => move.to === 'remediating'))
          Object.assign(incident, {
            status: 'resolved',
            statusReason: 'found compliant again by a later check',
          });
        return super.commit(...args);
      }
    }
    const turnOn = jest.fn(async () => undefined);
    const rule = lamp(async (_resource, _finding, ctx) => {
      await ctx.step('TurnOn', turnOn);
    });
    const raced = new RacedStore();
    const abandoned = anIncident({
      incidentId: 'inc-1',
      ruleId: rule.id,
      resourceArn: 'arn:lamp',
      status: 'open',
      mode: 'enforce',
      statusReason: undefined,
      alert: undefined,
      updatedAt: '2026-11-23T09:00:00Z',
    });
    await raced.open(abandoned, 'event-0');
    // Act
    await handle(rule, raced);
    // Assess: the winner's status stands, and nothing was changed in AWS
    expect(turnOn).not.toHaveBeenCalled();
    expect(raced.incidents.get('inc-1')).toMatchObject({ status: 'resolved' });
  });
});
