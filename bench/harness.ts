import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type LocalStack, provisionLocalStack, subscribeInbox } from '../scripts/lib/local-stack';
import { type MotoServer, startMoto } from '../scripts/lib/moto';

export const ROOT = join(__dirname, '..');
export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const bundlePath = (name: string): string => join(ROOT, 'dist', 'functions', `${name}.js`);

/**
 * What every bench invocation adds to the stack's environment: the blast-radius guard would switch
 * the responder to notify-only after 10 remediations an hour, which a benchmark reaches at once
 * (10,000 is the largest value config.ts accepts).
 */
export const BENCH_ENV: Record<string, string> = {
  GUARD_THRESHOLD: '10000',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
  POWERTOOLS_METRICS_DISABLED: 'true',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/** moto with its request recorder, the environment pointing at it, and the stack provisioned in it. */
export class Bench {
  private constructor(
    readonly moto: MotoServer,
    public stack: LocalStack,
    public inboxUrl: string,
  ) {}

  static async start(): Promise<Bench> {
    const moto = await startMoto({
      recorderFile: join(mkdtempSync(join(tmpdir(), 'bench-rec-')), 'calls.jsonl'),
    });
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: moto.url,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: REGION,
      ...BENCH_ENV,
    });
    const { stack, inboxUrl } = await Bench.provision();
    return new Bench(moto, stack, inboxUrl);
  }

  private static async provision(): Promise<{ stack: LocalStack; inboxUrl: string }> {
    const stack = await provisionLocalStack({ region: REGION });
    return { stack, inboxUrl: await subscribeInbox(stack) };
  }

  /** A clean account with a fresh stack: each section starts from nothing. */
  async reset(): Promise<void> {
    await this.moto.reset();
    const { stack, inboxUrl } = await Bench.provision();
    this.stack = stack;
    this.inboxUrl = inboxUrl;
  }

  env(overrides: Record<string, string> = {}): Record<string, string> {
    return { ...this.stack.env, ...BENCH_ENV, ...overrides };
  }

  stop(): Promise<void> {
    return this.moto.stop();
  }
}

export interface Invocation {
  ms: number;
  /** The function process's user+system CPU over the invocation, in ms. */
  cpuMs: number;
  result?: {
    outcomes?: { status?: string; incidentId?: string }[];
    /** A batch of sweep units: those the function asks to be delivered again. */
    batchItemFailures?: { itemIdentifier: string }[];
  };
  error?: string;
}

/** A function's warm execution environment: a Node process that loaded the bundle once. */
export class FunctionProcess {
  private nextId = 0;
  private readonly pending = new Map<number, (message: Record<string, unknown>) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly loadMs: number,
  ) {
    child.on('message', (message: Record<string, unknown>) => {
      const resolve = this.pending.get(message.id as number);
      this.pending.delete(message.id as number);
      resolve?.(message);
    });
  }

  static async start(bundle: string, env: Record<string, string>): Promise<FunctionProcess> {
    const child = fork(join(__dirname, 'worker.cjs'), [bundle], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const loadMs = await new Promise<number>((resolve, reject) => {
      child.once('message', (message: { loadMs: number }) => resolve(message.loadMs));
      child.once('exit', (code) => reject(new Error(`${bundle} exited with ${code} while loading`)));
    });
    child.removeAllListeners('exit');
    return new FunctionProcess(child, loadMs);
  }

  private request(message: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ ...message, id });
    });
  }

  async invoke(event: unknown): Promise<Invocation> {
    return (await this.request({ event })) as unknown as Invocation;
  }

  /** Peak resident memory of the process so far, in MB. */
  async peakRssMb(): Promise<number> {
    const { maxRssKb } = (await this.request({ stats: true })) as { maxRssKb: number };
    return maxRssKb / 1024;
  }

  stop(): void {
    this.child.kill();
  }
}

/** What a drained sweep's units came to: every invocation, in the order they ran. */
export interface DrainedUnits {
  invocations: Invocation[];
  /** Units Lambda would deliver again (the function reported them in batchItemFailures). */
  failedUnits: number;
}

/**
 * A rule's sweep queue in the bench's moto. moto has no event source mapping: the bench plays it,
 * handing each unit to the rule's sweep function alone (batchSize 1, as deployed: a process of its
 * own, apart from the one the schedule plans in) and deleting it after, until
 * the queue is empty, so every continuation a unit sends (the rest of its page, when its share of
 * the invocation's time ran out: shared/pipeline/sweep-units.ts) runs too.
 */
export class BenchSweepQueue {
  /** Never more than this many units for one sweep: a chain that does not end fails the run. */
  static readonly MAX_UNITS = 2_000;

  private constructor(
    private readonly sqs: SQSClient,
    private readonly url: string,
    private readonly arn: string,
    /** The function environment that plans a scheduled sweep's units onto this queue. */
    readonly env: Record<string, string>,
  ) {}

  static async create(stackName: string, ruleId: string): Promise<BenchSweepQueue> {
    const sqs = new SQSClient({ region: REGION });
    const tail = `${ruleId}-sweep`;
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${stackName}-${tail}` }));
    const url = String(QueueUrl);
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    return new BenchSweepQueue(sqs, url, String(Attributes?.QueueArn), {
      SWEEP_QUEUE_PREFIX: url.slice(0, url.length - tail.length),
    });
  }

  /** Hands every unit on the queue, and every unit those send, to `worker`, one invocation each. */
  async drain(worker: FunctionProcess): Promise<DrainedUnits> {
    const invocations: Invocation[] = [];
    let failedUnits = 0;
    for (;;) {
      const { Messages = [] } = await this.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: this.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      if (Messages.length === 0) return { invocations, failedUnits };
      for (const message of Messages) {
        if (invocations.length >= BenchSweepQueue.MAX_UNITS)
          throw new Error(`more than ${BenchSweepQueue.MAX_UNITS} sweep units: the chain does not end`);
        const invocation = await worker.invoke({
          Records: [
            {
              messageId: message.MessageId,
              receiptHandle: message.ReceiptHandle,
              body: message.Body,
              attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0' },
              messageAttributes: {},
              md5OfBody: message.MD5OfBody,
              eventSource: 'aws:sqs',
              eventSourceARN: this.arn,
              awsRegion: REGION,
            },
          ],
        });
        invocations.push(invocation);
        if ((invocation.result?.batchItemFailures ?? []).length > 0) failedUnits += 1;
        await this.sqs.send(
          new DeleteMessageCommand({ QueueUrl: this.url, ReceiptHandle: message.ReceiptHandle }),
        );
      }
    }
  }
}
