import { RemediationDeclined } from '../../../shared/errors';
import type { Incident } from '../../../shared/model';
import { Journal } from '../../../shared/pipeline/journal';
import { anIncident } from '../../support/incident';
import { lampRule, observation, pipelineFor } from '../../support/lamp';
import { MemoryIncidentStore } from '../../support/memory-store';

/**
 * The write-ahead record (shared/pipeline/journal.ts): a remediation of n AWS changes writes its
 * incident at most n + 2 times, and each change's intent is stored before the change runs.
 */

/** A store that logs each write with the incident as it stood after it, next to the AWS calls. */
class LoggingStore extends MemoryIncidentStore {
  constructor(
    private readonly log: string[],
    private readonly failCommit?: (count: number) => boolean,
  ) {
    super();
  }
  private commits = 0;
  private after(incident: Incident | undefined): string {
    const steps = (incident?.steps ?? []).map((step) => `${step.action}:${step.result}`).join(',');
    return `${incident?.status} [${steps}]`;
  }
  override async open(...args: Parameters<MemoryIncidentStore['open']>) {
    const result = await super.open(...args);
    this.log.push(`write open ${this.after(await this.get(args[0].incidentId))}`);
    return result;
  }
  override async commit(...args: Parameters<MemoryIncidentStore['commit']>) {
    this.commits += 1;
    if (this.failCommit?.(this.commits)) throw new Error('ProvisionedThroughputExceededException');
    const stored = await super.commit(...args);
    this.log.push(`write commit ${this.after(stored)}`);
    return stored;
  }
  override async alertSent(...args: Parameters<MemoryIncidentStore['alertSent']>) {
    await super.alertSent(...args);
    this.log.push(`write alertSent release=${args[2] !== undefined}`);
  }
}

/** A lamp turned on in three changes, each logged as an AWS call. */
function threeChangeRule(log: string[]) {
  const world = { lamp: { on: false } };
  const change = (name: string, effect?: () => void) => async () => {
    log.push(`aws ${name}`);
    effect?.();
  };
  return lampRule(world, async (_resource, _finding, ctx) => {
    const undo = { service: 'lamp', action: 'TurnOff', input: {} };
    await ctx.step('Unplug', change('Unplug'), { undo });
    await ctx.step('ReplaceBulb', change('ReplaceBulb'), { undo });
    await ctx.step(
      'TurnOn',
      change('TurnOn', () => {
        world.lamp.on = true;
      }),
      { undo },
    );
  });
}

const respond = (store: MemoryIncidentStore, log: string[]) =>
  pipelineFor(threeChangeRule(log), {}, store).pipeline.handle({
    kind: 'resources',
    observations: [observation],
  });

describe('the write-ahead record of a remediation', () => {
  it('writes n + 2 times for n changes, each change after a write holding its intent', async () => {
    // Prepare
    const log: string[] = [];
    const store = new LoggingStore(log);
    // Act
    await respond(store, log);
    // Assess: the opening holds the first intent; result k and intent k + 1 share a write; the end
    // records results, status and the alert pending; the alert sent and the lock release share one
    expect(log).toEqual([
      'write open remediating [Unplug:running]',
      'aws Unplug',
      'write commit remediating [Unplug:succeeded,ReplaceBulb:running]',
      'aws ReplaceBulb',
      'write commit remediating [Unplug:succeeded,ReplaceBulb:succeeded,TurnOn:running]',
      'aws TurnOn',
      'write commit remediated [Unplug:succeeded,ReplaceBulb:succeeded,TurnOn:succeeded,Verify:succeeded]',
      'write alertSent release=true',
    ]);
    expect(log.filter((line) => line.startsWith('write'))).toHaveLength(3 + 2);
  });

  it('never makes a change whose intent could not be written, and says so in the record', async () => {
    // Prepare: the write carrying the second change's intent fails
    const log: string[] = [];
    const store = new LoggingStore(log, (count) => count === 1);
    // Act
    await respond(store, log);
    // Assess: the second change never ran; the incident failed with the first change's result kept
    expect(log.filter((line) => line.startsWith('aws'))).toEqual(['aws Unplug']);
    const [incident] = [...store.incidents.values()];
    expect(incident).toMatchObject({
      status: 'failed',
      statusReason: expect.stringContaining('the intent of ReplaceBulb could not be recorded'),
      steps: [expect.objectContaining({ action: 'Unplug', result: 'succeeded' })],
    });
  });
});

describe("the blast-radius guard's slot", () => {
  const allow = () => jest.fn(async () => ({ allowed: true as const }));

  it('is not taken by a remediation the rule declines before changing anything (reporting drift cannot trip the guard)', async () => {
    // Prepare: a rule that reads, then declines (an HTTP listener with no HTTPS one, a resource
    // that left its scope): someone who makes such drift again and again must not switch off the
    // responder for everything else
    const acquire = allow();
    const rule = lampRule({ lamp: { on: false } }, async (_resource, _finding, ctx) => {
      await ctx.step('ReadListeners', async () => undefined, { readOnly: true });
      throw new RemediationDeclined('no HTTPS listener to redirect to');
    });
    const { pipeline, only, alerts } = pipelineFor(rule, {}, undefined, { guard: { acquire } });
    // Act
    await pipeline.handle({ kind: 'resources', observations: [observation] });
    // Assess: recorded and paged, no slot taken
    expect(acquire).not.toHaveBeenCalled();
    expect(only()[0]).toMatchObject({ status: 'open', statusReason: 'no HTTPS listener to redirect to' });
    expect(alerts.sent).toHaveLength(1);
  });

  it('is taken once, after the reads and just before the first change', async () => {
    // Prepare
    const log: string[] = [];
    const acquire = jest.fn(async () => {
      log.push('guard');
      return { allowed: true as const };
    });
    const world = { lamp: { on: false } };
    const rule = lampRule(world, async (_resource, _finding, ctx) => {
      await ctx.step('ReadBulb', async () => log.push('read'), { readOnly: true });
      await ctx.step('Unplug', async () => log.push('change 1'));
      await ctx.step('TurnOn', async () => {
        log.push('change 2');
        world.lamp.on = true;
      });
    });
    // Act
    await pipelineFor(rule, {}, undefined, { guard: { acquire } }).pipeline.handle({
      kind: 'resources',
      observations: [observation],
    });
    // Assess
    expect(log).toEqual(['read', 'guard', 'change 1', 'change 2']);
  });

  it('refused, leaves the incident open, changes nothing and pages', async () => {
    // Prepare
    const reason = 'blast-radius guard tripped: more than 10 remediations within 60 minutes';
    const acquire = jest.fn(async () => ({ allowed: false as const, justTripped: true, reason }));
    const turnOn = jest.fn(async () => undefined);
    const rule = lampRule({ lamp: { on: false } }, async (_resource, _finding, ctx) => {
      await ctx.step('TurnOn', turnOn);
    });
    const { pipeline, only, alerts } = pipelineFor(rule, {}, undefined, { guard: { acquire } });
    // Act
    await pipeline.handle({ kind: 'resources', observations: [observation] });
    // Assess: the guard's own alert, then the incident's
    expect(turnOn).not.toHaveBeenCalled();
    expect(only()[0]).toMatchObject({ status: 'open', statusReason: reason, steps: [] });
    expect(alerts.sent.map((alert) => alert.attributes.status)).toEqual(['guard-tripped', 'open']);
  });
});

describe('a move back before anything was written', () => {
  it('leaves no trace in the history: the incident never was remediating', async () => {
    // Prepare: an open incident about to be remediated, then declined before any change
    const store = new MemoryIncidentStore();
    const incident = anIncident({ incidentId: 'inc-1', status: 'open', statusReason: 'notify mode' });
    await store.open(incident, 'event-0');
    const journal = Journal.of(store, incident, () => new Date('2026-11-23T10:00:00Z'));
    // Act
    journal.move('remediating');
    journal.move('open', 'no HTTPS listener to redirect to');
    await journal.flush();
    // Assess: the reason changed, the history did not
    expect(store.incidents.get('inc-1')).toMatchObject({
      status: 'open',
      statusReason: 'no HTTPS listener to redirect to',
      transitions: [{ to: 'open' }],
    });
  });
});
