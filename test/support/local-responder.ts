import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  GetFunctionConfigurationCommand,
  LambdaClient,
  PublishVersionCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { grantReaderOf } from '../../cli/deployed-settings';
import {
  drainInbox,
  type LocalStack,
  listIncidents,
  provisionLocalStack,
  type ReceivedAlert,
  subscribeInbox,
} from '../../scripts/lib/local-stack';
import { createAwsClients } from '../../shared/aws/clients';
import { DynamoDbExemptionLedger, newExemptionId } from '../../shared/exemptions/ledger';
import type { Incident } from '../../shared/model';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';

const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);

/**
 * The stack provisioned in this test file's moto account from serverless.yml, an SQS inbox
 * subscribed to its topic, and ways to deliver events: in this process, or as Lambda would,
 * in a separate Node process loading dist/functions/<name>.js.
 */
export class LocalResponder {
  private constructor(
    readonly stack: LocalStack,
    private readonly inboxUrl: string,
  ) {}

  /** `region`: where the home stack (table, topic, functions) is; HOME_REGION follows it. */
  static async provision(overrides: Record<string, string> = {}, region?: string): Promise<LocalResponder> {
    const stack = await provisionLocalStack({ region });
    Object.assign(stack.env, overrides);
    const inbox = await subscribeInbox(stack);
    return new LocalResponder(stack, inbox);
  }

  get responderRoleArn(): string {
    return this.stack.env.RESPONDER_ROLE_ARNS?.split(',')[0] ?? '';
  }

  /** Loads the handler in this process with the stack's environment (plus overrides). */
  handlerOf(
    load: () => { handler: (event: unknown) => Promise<HandlerResult> },
    overrides: Record<string, string> = {},
  ) {
    const saved = { ...process.env };
    Object.assign(process.env, this.stack.env, overrides, { AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL });
    try {
      let module: { handler: (event: unknown) => Promise<HandlerResult> } | undefined;
      jest.isolateModules(() => {
        module = load();
      });
      if (!module) throw new Error('handler module did not load');
      const { handler } = module;
      return (event: unknown) => handler(event);
    } finally {
      process.env = saved;
    }
  }

  /** Runs the bundle in its own Node process, through npm run local:invoke's script. */
  async invokeBundle(
    name: string,
    event: unknown,
    extraEnv: Record<string, string> = {},
  ): Promise<{ ok: boolean; result: Record<string, unknown> }> {
    const eventFile = join(mkdtempSync(join(tmpdir(), 'responder-event-')), 'event.json');
    writeFileSync(eventFile, JSON.stringify(event));
    const args = [require.resolve('tsx/cli'), join(ROOT, 'scripts', 'local-invoke.ts'), name, eventFile];
    // local-invoke applies the env file over the process's environment: settings asked for here
    // must be in the file too, or the stack's would silently win.
    const envFile = join(mkdtempSync(join(tmpdir(), 'responder-env-')), 'env.json');
    writeFileSync(envFile, JSON.stringify({ ...this.stack.env, ...extraEnv }));
    const env = { ...process.env, ...extraEnv, LOCAL_ENV_FILE: envFile };
    try {
      const { stdout } = await run(process.execPath, args, { env, cwd: ROOT });
      return { ok: true, result: JSON.parse(stdout) };
    } catch (error) {
      // A process that died (an interruption test) prints nothing.
      const stdout = (error as { stdout?: string }).stdout || '{}';
      return { ok: false, result: JSON.parse(stdout) };
    }
  }

  /**
   * A deployment with these settings: the stack's grant reader gets them and publishes a version,
   * where the command line reads the settings the stack was deployed with (its caps, its guard).
   */
  async redeploy(settings: Record<string, string>): Promise<void> {
    const lambda = new LambdaClient({ region: this.stack.region });
    const FunctionName = grantReaderOf(this.stack.tableName);
    const current = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName }));
    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName,
        Environment: { Variables: { ...current.Environment?.Variables, ...settings } },
      }),
    );
    await lambda.send(new PublishVersionCommand({ FunctionName }));
    Object.assign(this.stack.env, settings);
  }

  incidents(): Promise<Incident[]> {
    return listIncidents(this.stack);
  }

  /** An exemption in the stack's ledger, as `compliance-responder exemptions add` writes it; returns its end. */
  async exempt(ruleId: string, resourceArn: string, reason: string, days = 7): Promise<string> {
    const now = new Date();
    const until = new Date(now.getTime() + days * 86_400_000).toISOString();
    const ledger = new DynamoDbExemptionLedger(
      createAwsClients(this.stack.region).dynamo(),
      this.stack.tableName,
      30,
    );
    await ledger.add({
      exemptionId: newExemptionId(now),
      ruleId,
      resourceArn,
      reason,
      until,
      setBy: 'arn:aws:iam::123456789012:user/on-call',
      setAt: now.toISOString(),
    });
    return until;
  }

  /** Every alert the inbox holds now (and removes them). */
  alerts(): Promise<ReceivedAlert[]> {
    return drainInbox(this.stack.region, this.inboxUrl);
  }
}

/** Resets this worker's moto server: a clean account for the next test. */
export async function resetAccount(): Promise<void> {
  const response = await fetch(`${process.env.AWS_ENDPOINT_URL}/moto-api/reset`, { method: 'POST' });
  if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
}
