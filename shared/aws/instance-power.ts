import {
  DescribeInstancesCommand,
  type EC2Client,
  StartInstancesCommand,
  StopInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceStopped,
} from '@aws-sdk/client-ec2';
import type { RemediationContext } from '../rules/rule';

/**
 * EC2 waits share one budget per remediation, well inside the 60 s Lambda timeout: 35 s of waits
 * leaves 25 s for the reads, the incident writes, the verify read-back (about 5 s) and the alert,
 * with room for SDK retries. A remediation that starts late in its invocation (a sweep unit's, with
 * others before it) waits only until 25 s before the invocation ends. An EBS-backed instance
 * usually stops in well under a minute; when it takes longer the remediation returns Waiting and
 * the next delivery or sweep resumes it (the incident's workflow remembers whether it was
 * running). Polling every 2-5 s notices the change quickly without flooding DescribeInstances.
 */
const WAIT_BUDGET_SECONDS = 35;
const AFTER_WAITS_MS = 25_000;
const WAIT_MIN_DELAY_SECONDS = 2;
const WAIT_MAX_DELAY_SECONDS = 5;

const START_FAILURE_HINT =
  "check its StateReason; a customer-managed EBS key whose policy does not let the responder's role create grants is the usual cause";

const errorWords = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Stopping and starting one instance within a remediation: each change a recorded step with its
 * undo, each wait bounded by what is left of the invocation's budget. The rules that must stop an
 * instance to fix it (phi-dedicated-tenancy, ebs-volume-encrypted's swap) share it.
 */
export class InstancePower {
  protected readonly ec2: EC2Client;
  private readonly deadline: number;

  constructor(
    protected readonly id: string,
    protected readonly region: string,
    protected readonly ctx: RemediationContext,
  ) {
    this.ec2 = ctx.aws.ec2(region);
    const left = ctx.remainingMs?.() ?? Number.POSITIVE_INFINITY;
    this.deadline = Date.now() + Math.min(WAIT_BUDGET_SECONDS * 1000, left - AFTER_WAITS_MS);
  }

  /** Seconds of the wait budget left; other waits of the same remediation take theirs from it. */
  secondsLeft(): number {
    return Math.floor((this.deadline - Date.now()) / 1000);
  }

  /**
   * Waits, unrecorded, for another EC2 change of the same remediation (a volume's detach or
   * attach) within what is left of the budget. False when it did not settle in time.
   */
  async settles(
    wait: (waiter: {
      client: EC2Client;
      maxWaitTime: number;
      minDelay: number;
      maxDelay: number;
    }) => Promise<{
      state: string;
    }>,
  ): Promise<boolean> {
    const maxWaitTime = this.secondsLeft();
    if (maxWaitTime <= WAIT_MIN_DELAY_SECONDS) return false;
    try {
      const waiter = {
        client: this.ec2,
        maxWaitTime,
        minDelay: WAIT_MIN_DELAY_SECONDS,
        maxDelay: WAIT_MAX_DELAY_SECONDS,
      };
      return (await wait(waiter)).state === 'SUCCESS';
    } catch {
      return false;
    }
  }

  stop() {
    return this.ctx.step(
      'StopInstances',
      () => this.ec2.send(new StopInstancesCommand({ InstanceIds: [this.id] })),
      {
        undo: {
          service: 'ec2',
          action: 'StartInstances',
          input: { InstanceIds: [this.id], Region: this.region },
        },
        output: (result) => ({ currentState: result.StoppingInstances?.[0]?.CurrentState?.Name ?? null }),
      },
    );
  }

  start() {
    return this.ctx.step(
      'StartInstances',
      () => this.ec2.send(new StartInstancesCommand({ InstanceIds: [this.id] })),
      {
        undo: {
          service: 'ec2',
          action: 'StopInstances',
          input: { InstanceIds: [this.id], Region: this.region },
        },
        output: (result) => ({ currentState: result.StartingInstances?.[0]?.CurrentState?.Name ?? null }),
      },
    );
  }

  /**
   * Waits (recorded as a step) for the instance to reach `target` within what is left of the budget.
   * False when the budget ran out first: the caller returns Waiting and a later invocation resumes.
   */
  async waitFor(target: 'running' | 'stopped'): Promise<boolean> {
    const maxWaitTime = this.secondsLeft();
    if (maxWaitTime <= WAIT_MIN_DELAY_SECONDS) return false;
    const waiter = target === 'stopped' ? waitUntilInstanceStopped : waitUntilInstanceRunning;
    const action = target === 'stopped' ? 'WaitUntilInstanceStopped' : 'WaitUntilInstanceRunning';
    return this.ctx.step(
      action,
      async () => {
        try {
          await waiter(
            {
              client: this.ec2,
              maxWaitTime,
              minDelay: WAIT_MIN_DELAY_SECONDS,
              maxDelay: WAIT_MAX_DELAY_SECONDS,
            },
            { InstanceIds: [this.id] },
          );
          return true;
        } catch (error) {
          if (error instanceof Error && error.name === 'TimeoutError') return false;
          // The waiter's own message embeds whole DescribeInstances answers, tags included: never record it.
          const away =
            target === 'stopped' ? 'pending or terminated' : 'stopping, shutting down or terminated';
          throw new Error(`${this.id} will not reach ${target}: it is ${away}`);
        }
      },
      { output: (reached) => ({ reached, maxWaitSeconds: maxWaitTime }) },
    );
  }

  /** The instance's state now (one read), for what a wait could not settle. */
  async currentState(): Promise<{ name: string; reason: string | null }> {
    const result = await this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [this.id] }));
    const instance = result.Reservations?.[0]?.Instances?.[0];
    return { name: instance?.State?.Name ?? 'unknown', reason: instance?.StateReason?.Code ?? null };
  }

  /**
   * A start can fail after StartInstances answered: the instance goes pending → stopped, typically
   * because a customer-managed EBS key does not let the responder create EC2's grant. Tenancy alone
   * would then read as fixed, so a start counts only once the instance is not back to stopped.
   */
  async confirmStarted(): Promise<void> {
    try {
      if (await this.waitFor('running')) return;
    } catch (error) {
      throw new Error(`${errorWords(error)} after StartInstances: ${START_FAILURE_HINT}`);
    }
    const now = await this.currentState();
    if (now.name === 'stopped' || now.name === 'stopping') {
      throw new Error(
        `${this.id} went back to ${now.name} after StartInstances (${now.reason ?? 'no state reason'}): ${START_FAILURE_HINT}`,
      );
    }
  }
}
