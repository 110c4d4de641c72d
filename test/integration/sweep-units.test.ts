import { CreateVolumeCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { Message } from '@aws-sdk/client-sqs';
import { scheduledEvent } from '../../scripts/lib/events';
import { sweepFunctionName } from '../../shared/pipeline/sweep-names';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { ACCOUNT, authorize, createGroup, ssh } from '../support/ssh';
import { SweepQueue } from '../support/sweep-queue';

/**
 * A scheduled sweep as units on a real (moto) queue: the schedule only plans (the rule's function),
 * each unit judges one page and hands the rest on (its sweep function, `<rule id>-sweep`, run by
 * name through local:invoke: the rule's bundle), and re-delivery finds no drift twice. Each
 * invocation runs in its own process, with the SQS event Lambda's event source mapping would send. moto has no event
 * source mapping, maxReceiveCount redrive by Lambda, or queue policy enforcement: the test receives
 * the units itself and the contract tests prove the rest on the template.
 */

const FUNCTION = 'ssh-open-to-world';
/** The function the rule's queue mapping invokes (scripts/lib/deployment.ts): the rule's bundle. */
const SWEEP = sweepFunctionName(FUNCTION);
const REGION = 'us-east-1';

describe('a scheduled sweep in units, against moto', () => {
  let responder: LocalResponder;
  let queue: SweepQueue;
  let env: Record<string, string>;

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    queue = await SweepQueue.create(String(responder.stack.env.STACK_NAME), FUNCTION, REGION);
    env = { ...queue.env, SWEEP_UNIT_RESOURCES: '2' };
  });

  const receive = () => queue.receive();
  const sqsEvent = (messages: Message[], receiveCount?: string) => queue.event(messages, receiveCount);

  const unitsOf = (messages: Message[]) => messages.map((message) => JSON.parse(String(message.Body)));

  it('plans a unit, sweeps a page per unit, hands the rest on, and finds each drift once across re-delivery', async () => {
    // Prepare: five groups open to the world (and the VPC's default group, compliant)
    const groups: string[] = [];
    for (let index = 0; index < 5; index++) {
      const group = await createGroup(REGION, `open-${index}`);
      await authorize(REGION, group, [ssh('0.0.0.0/0')]);
      groups.push(group);
    }
    // Act: the schedule plans
    const planned = await responder.invokeBundle(
      FUNCTION,
      scheduledEvent({ accountId: ACCOUNT, region: REGION }),
      env,
    );
    const [first, ...more] = await receive();
    // Assess: one unit for the one region swept, nothing judged yet
    expect(planned).toMatchObject({ ok: true, result: { outcomes: [] } });
    expect(more).toEqual([]);
    if (!first) throw new Error('no unit planned');
    expect(unitsOf([first])).toEqual([
      expect.objectContaining({ ruleId: FUNCTION, region: REGION, attempt: 1 }),
    ]);
    expect(await responder.incidents()).toEqual([]);

    // Act: the first unit, then the same unit again (a re-delivery)
    const page = await responder.invokeBundle(SWEEP, sqsEvent([first]), env);
    const again = await responder.invokeBundle(SWEEP, sqsEvent([first], '2'), env);
    // Assess: two resources judged each time; each run handed the rest on from position 2
    expect(page.result).toMatchObject({ batchItemFailures: [] });
    expect((page.result.outcomes as unknown[]).length).toBe(2);
    expect((again.result.outcomes as unknown[]).length).toBe(2);
    const handedOn = await receive();
    expect(unitsOf(handedOn)).toEqual([
      expect.objectContaining({ region: REGION, cursor: '2', attempt: 2 }),
      expect.objectContaining({ region: REGION, cursor: '2', attempt: 2 }),
    ]);

    // Act: drain the chains (both copies, as a duplicate delivery would)
    let pending = handedOn;
    let invocations = 0;
    while (pending.length > 0 && invocations < 20) {
      for (const message of pending) {
        const result = await responder.invokeBundle(SWEEP, sqsEvent([message]), env);
        expect(result.result).toMatchObject({ batchItemFailures: [] });
        invocations += 1;
      }
      pending = await receive();
    }
    // Assess: every open group found once, one incident and one alert each, and the chain ended
    expect(pending).toEqual([]);
    const incidents = await responder.incidents();
    expect(incidents.map((incident) => incident.resourceId).sort()).toEqual([...groups].sort());
    expect(await responder.alerts()).toHaveLength(groups.length);
    // Each opened by the sweep function, which its history names (not the rule's function)
    for (const incident of incidents)
      expect(incident.transitions?.[0]?.by).toBe(`function ${responder.stack.env.STACK_NAME}-${SWEEP}`);
    // About ten function processes, each loading its bundle: as long as the other end-to-end tests.
  }, 180_000);

  it('refuses a unit naming another rule or an unknown region, alone in its batch, and changes nothing', async () => {
    // Prepare
    const group = await createGroup(REGION, 'open');
    await authorize(REGION, group, [ssh('0.0.0.0/0')]);
    const unit = {
      ruleId: FUNCTION,
      region: REGION,
      sweepId: 'forged',
      observedAt: '2026-12-04T10:00:00Z',
      attempt: 1,
    };
    const message = (id: string, body: Record<string, unknown>): Message => ({
      MessageId: id,
      ReceiptHandle: id,
      Body: JSON.stringify({ ...unit, ...body }),
      Attributes: { ApproximateReceiveCount: '1' },
    });
    // Act
    const { result } = await responder.invokeBundle(
      SWEEP,
      sqsEvent([
        message('other-rule', { ruleId: 'ebs-volume-encrypted' }),
        message('unknown-region', { region: 'ap-south-1' }),
      ]),
      env,
    );
    // Assess
    expect(result).toMatchObject({
      outcomes: [],
      batchItemFailures: [{ itemIdentifier: 'other-rule' }, { itemIdentifier: 'unknown-region' }],
    });
    expect(await responder.incidents()).toEqual([]);
    expect(await receive()).toEqual([]);
  });

  it('stops a unit running out of time mid-way and hands the rest on: every volume remediated once', async () => {
    // Prepare: eight detached unencrypted volumes, in enforce mode, with the guard out of the way
    const VOLUMES = 'ebs-volume-encrypted';
    const ec2 = new EC2Client({ region: REGION });
    const originals: string[] = [];
    for (let index = 0; index < 8; index++) {
      const volume = await ec2.send(
        new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 1, VolumeType: 'gp3' }),
      );
      originals.push(String(volume.VolumeId));
    }
    const volumes = await SweepQueue.create(String(responder.stack.env.STACK_NAME), VOLUMES, REGION);
    // Each read of the invocation's clock after the first takes 7 s off it: a unit that starts with
    // 53 s left starts nothing once 26.5 s or less is left, so it judges about four volumes of eight.
    const clocked = {
      ...volumes.env,
      MODE_EBS_VOLUME_ENCRYPTED: 'enforce',
      GUARD_THRESHOLD: '100',
      LOCAL_INVOKE_TICK_MS: '7000',
    };
    await responder.invokeBundle(VOLUMES, scheduledEvent({ accountId: ACCOUNT, region: REGION }), clocked);
    // Act: every unit and continuation, each in an invocation of its own
    const judged: string[][] = [];
    const sent: Record<string, unknown>[] = [];
    let pending = await volumes.receive();
    while (pending.length > 0 && judged.length < 20) {
      for (const message of pending) {
        sent.push(JSON.parse(String(message.Body)));
        const { result } = await responder.invokeBundle(
          sweepFunctionName(VOLUMES),
          volumes.event([message]),
          clocked,
        );
        expect(result).toMatchObject({ batchItemFailures: [] });
        judged.push((result.outcomes as { resourceId: string }[]).map((outcome) => outcome.resourceId));
        await volumes.delete(message);
      }
      pending = await volumes.receive();
    }
    // Assess: the first unit stopped mid-way and a continuation resumed after the last volume it judged
    expect(judged.length).toBeGreaterThan(1);
    expect(judged[0]?.length).toBeLessThan(originals.length);
    expect(sent[1]).toMatchObject({ attempt: 2, after: expect.stringContaining(String(judged[0]?.at(-1))) });
    // Every original judged once across the chain, remediated once: one incident, one alert, one encrypted copy each
    const judgedOriginals = judged.flat().filter((id) => originals.includes(id));
    expect(judgedOriginals.sort()).toEqual([...originals].sort());
    const incidents = await responder.incidents();
    expect(incidents.map((incident) => incident.resourceId).sort()).toEqual([...originals].sort());
    expect(incidents.map((incident) => incident.status)).toEqual(originals.map(() => 'remediated'));
    expect(await responder.alerts()).toHaveLength(originals.length);
    const after = await ec2.send(new DescribeVolumesCommand({}));
    expect((after.Volumes ?? []).filter((volume) => volume.Encrypted)).toHaveLength(originals.length);
  }, 240_000);
});
