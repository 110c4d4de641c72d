import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { type AwsClients, createAwsClients, endpointIsLoopback } from '../shared/aws/clients';
import { loadSettings, type Settings } from '../shared/config';
import { ConfigurationError } from '../shared/errors';
import { type AlertPublisher, SnsAlertPublisher } from '../shared/pipeline/alerts';
import { rules } from '../shared/rules';
import { DynamoDbGrantLedger, type GrantLedger } from '../shared/ssh/grant-ledger';
import { readDeployedSettings } from './deployed-settings';
import { CliError, explainError, UsageError } from './errors';
import { checkRegion } from './regions';
import { DEFAULT_STAGE, type DeployedStack, findStack, parseStage, parseTableName } from './stack';
import type { TableLayout } from './table';

/** Options every command accepts. */
export interface GlobalOptions {
  table?: string;
  region?: string;
  stage?: string;
}

/** What named the incidents table: an option or variable (which wins), else the stage's stack outputs. */
export type TableSource = '--table' | 'INCIDENT_TABLE' | '.local/env.json' | 'stack';

/** Where output goes: stdout for results, stderr for notes and errors. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Asks the person at the terminal and returns the answer; absent when nobody can answer (no TTY). */
  ask?(question: string): Promise<string>;
  /** How tables fit stdout (its width, colour); absent: plain, as for a pipe. */
  layout?: TableLayout;
}

export interface Caller {
  arn: string;
  accountId: string;
}

/**
 * What a command needs: where the table is, validated settings, the AWS clients, the caller.
 * `region` is where resources are read and acted on; the table is always the home stack's
 * (`settings.homeRegion`: HOME_REGION, else .local/env.json's, else --region).
 */
export interface CliContext {
  readonly region: string;
  readonly tableName: string;
  /**
   * The deployed stack whose outputs named the table (`--stage`, default dev); absent when --table,
   * INCIDENT_TABLE or .local/env.json named it.
   */
  readonly stack?: DeployedStack;
  /** What named the table (absent in contexts built by hand, as in tests: named outright). */
  readonly tableSource?: TableSource;
  readonly settings: Settings;
  readonly io: Io;
  /**
   * The SDK clients: regional ones take their region (ec2(region)); dynamo() is the home stack's
   * table region, as in the functions.
   */
  aws(): AwsClients;
  /** The grant ledger, in the home stack's table (settings.homeRegion), where the functions read it. */
  ledger(): GrantLedger;
  /**
   * The settings the stack was deployed with (its functions' configuration): the source of every cap
   * the command line enforces, since `settings` comes partly from the caller's own environment.
   */
  deployedSettings(): Promise<Settings>;
  /**
   * On-call's alert topic as the stack was deployed (ALERT_TOPIC_ARN of the published version, like
   * the caps), never the caller's environment: a command that changes AWS resolves it before any
   * change, so one that cannot alert changes nothing.
   */
  onCall(): Promise<AlertPublisher>;
  caller(): Promise<Caller>;
  now(): Date;
  /** Names this run: a lockdown's incidents share it (their `lockdown.runId`). */
  readonly runId: string;
}

/**
 * Variables taken from `.local/env.json` (written by `npm run local:provision`) when AWS_ENDPOINT_URL
 * points at a local emulator: never its credentials or endpoint, and never against real AWS.
 */
const LOCAL_ENV_KEYS = [
  'INCIDENT_TABLE',
  'AWS_REGION',
  'INCIDENT_RETENTION_DAYS',
  'EXEMPT_TAG',
  'EXEMPT_UNTIL_TAG',
  'SSH_PORTS',
  'SSH_GRANT_TTL_MINUTES',
  'SSH_GRANT_MAX_TTL_MINUTES',
  'SSH_GRANT_TAG',
  'HOME_REGION',
  'GUARD_THRESHOLD',
  'GUARD_WINDOW_MINUTES',
  'RUNBOOK_BASE_URL',
] as const;

function localEnvironment(env: NodeJS.ProcessEnv, cwd: string): Record<string, string> {
  const file = join(cwd, '.local', 'env.json');
  if (!endpointIsLoopback(env.AWS_ENDPOINT_URL) || !existsSync(file)) return {};
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  return Object.fromEntries(
    LOCAL_ENV_KEYS.flatMap((key) => (typeof parsed[key] === 'string' ? [[key, parsed[key] as string]] : [])),
  );
}

/** Region as the AWS CLI finds it: option, AWS_REGION, AWS_DEFAULT_REGION, then the profile's config. */
async function resolveRegion(
  option: string | undefined,
  env: NodeJS.ProcessEnv,
  local: Record<string, string>,
) {
  if (option) return checkRegion(option, '--region');
  if (env.AWS_REGION) return checkRegion(env.AWS_REGION, 'AWS_REGION');
  if (env.AWS_DEFAULT_REGION) return checkRegion(env.AWS_DEFAULT_REGION, 'AWS_DEFAULT_REGION');
  if (local.AWS_REGION) return checkRegion(local.AWS_REGION, '.local/env.json');
  try {
    return checkRegion(await new STSClient({}).config.region(), `profile ${env.AWS_PROFILE ?? 'default'}`);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError('no AWS region: pass --region <region>, set AWS_REGION, or set one in your profile');
  }
}

/**
 * The settings schema requires a topic; the command line alerts only through onCall(), to the topic
 * the stack was deployed with, so a topic in the caller's environment is never used.
 */
const NO_TOPIC = (region: string) => `arn:aws:sns:${region}:000000000000:compliance-responder-cli-no-alerts`;

export async function createContext(
  options: GlobalOptions,
  io: Io,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): Promise<CliContext> {
  const stage = parseStage(options.stage ?? DEFAULT_STAGE);
  if (options.table) parseTableName(options.table);
  const local = localEnvironment(env, cwd);
  const region = await resolveRegion(options.region, env, local);
  let homeRegion = env.HOME_REGION || local.HOME_REGION || region;
  // A table named outright wins (tests, local runs, a table outside a stack); else the stack's outputs.
  const tableSource: TableSource = options.table
    ? '--table'
    : env.INCIDENT_TABLE
      ? 'INCIDENT_TABLE'
      : local.INCIDENT_TABLE
        ? '.local/env.json'
        : 'stack';
  const stack = tableSource === 'stack' ? await findStack(stage, homeRegion) : undefined;
  const tableName = options.table || env.INCIDENT_TABLE || local.INCIDENT_TABLE || stack?.tableName || '';
  if (stack) homeRegion = stack.homeRegion;
  let settings: Settings;
  try {
    // The same validated settings the functions use, so every setting means one thing; the caps the
    // command line enforces come from deployedSettings(), never from here.
    settings = loadSettings(rules, {
      ...local,
      ...env,
      INCIDENT_TABLE: tableName,
      AWS_REGION: region,
      // The home stack's region: its one table holds incidents, guard and ledgers; --region when not set.
      HOME_REGION: homeRegion,
      ALERT_TOPIC_ARN: NO_TOPIC(region),
      // The found stack's own names, so what reads them (scan's self-protection) judges that stack;
      // its topic comes from its outputs, which only a deployment changes (alerts still go through onCall()).
      ...(stack
        ? {
            STAGE: stack.stage,
            STACK_NAME: stack.stackName,
            ...(stack.alertTopicArn ? { ALERT_TOPIC_ARN: stack.alertTopicArn } : {}),
          }
        : {}),
    });
  } catch (error) {
    if (error instanceof ConfigurationError) throw new CliError(error.message);
    throw error;
  }
  // One set of clients, homed where the table is: a table read can never go to a forwarder's region.
  const clients = createAwsClients(settings.homeRegion);
  const aws = () => clients;
  let caller: Promise<Caller> | undefined;
  let deployed: Promise<Settings> | undefined;
  const deployedSettings = () => {
    deployed ??= readDeployedSettings(clients.lambda(settings.homeRegion), tableName, settings.homeRegion);
    return deployed;
  };
  return {
    region,
    tableName,
    ...(stack ? { stack } : {}),
    tableSource,
    settings,
    io,
    aws,
    ledger: () => new DynamoDbGrantLedger(clients.dynamo(), tableName, settings.incidentRetentionDays),
    deployedSettings,
    async onCall() {
      const { alertTopicArn } = await deployedSettings();
      return new SnsAlertPublisher(clients.sns(), alertTopicArn);
    },
    caller() {
      caller ??= clients
        .sts(region)
        .send(new GetCallerIdentityCommand({}))
        .then((identity) => ({ arn: String(identity.Arn), accountId: String(identity.Account) }))
        .catch((error: unknown) => {
          throw explainError(error);
        });
      return caller;
    },
    now: () => new Date(),
    // Unique per run: two lockdowns in one second must not share their incidents' delivery keys.
    runId: `cli-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(4).toString('hex')}`,
  };
}
