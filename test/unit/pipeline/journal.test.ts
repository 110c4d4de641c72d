import type { Incident } from '../../../shared/model';
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
