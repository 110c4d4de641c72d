import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { ValidationError } from '../../shared/errors';
import { ruleHandler } from '../../shared/pipeline/rule-handler';
import { rules } from '../../shared/rules';
import { parseTriggerEvent } from '../../shared/triggers';
import { MAX_ID_LENGTH, MAX_SUMMARY_KEYS, MAX_SUMMARY_VALUE_LENGTH } from '../../shared/triggers/parse';
import { SDK_CLIENTS, servicesOf } from '../support/aws-services';
import { FULL, SEED, writeFigures } from './figures';

/**
 * Bad input, through every adapter (parseTriggerEvent dispatches to each) and the full handler of
 * every rule with a mocked SDK: mutations of every payload in test/fixtures/events and
 * ../shared/aws-events (when present), and generated events. Only ValidationError may escape a
 * rejected input, and nothing reaches AWS before it; what an accepted input would store is bounded.
 */
const CORPUS = join(__dirname, '../../../shared/aws-events');
const FIXTURES = join(__dirname, '../fixtures/events');
const RUNS = FULL ? 2_000 : 150;

const jsonFiles = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.json'))
    .map((file) => join(dir, file));
if (!existsSync(CORPUS))
  console.warn(`AWS event corpus not found at ${CORPUS}: only test/fixtures/events are mutated`);
const seeds: unknown[] = [...jsonFiles(FIXTURES), ...(existsSync(CORPUS) ? jsonFiles(CORPUS) : [])].map(
  (file) => JSON.parse(readFileSync(file, 'utf8')),
);

/** Mocked AWS: every call fails as an outage would, so a call made is counted and goes no further. */
class AwsUnavailable extends Error {
  override name = 'ServiceUnavailable';
}
// Every service the rules declare must be mocked: an unmocked call would reach moto uncounted.
const unmocked = servicesOf(rules).filter((service) => !SDK_CLIENTS[service]);
if (unmocked.length > 0)
  throw new Error(
    `no SDK client to mock for ${unmocked.join(', ')}: add it to SDK_CLIENTS (test/support/aws-services.ts)`,
  );
const mocks = Object.values(SDK_CLIENTS).flatMap((clients) =>
  // biome-ignore lint/suspicious/noExplicitAny: each client has its own input and output types
  clients.map((client) => mockClient(client as any)),
);
const sdkCalls = () => mocks.reduce((total, mock) => total + mock.calls().length, 0);

type Path = (string | number)[];
const paths = (value: unknown, prefix: Path = []): Path[] => {
  if (typeof value !== 'object' || value === null) return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([key, child]) => paths(child, [...prefix, key]))];
};
/** A copy of `root` with the value at `path` replaced (undefined: removed); JSON in strings is mutated inside. */
function mutate(root: unknown, path: Path, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (replacement === undefined) delete node[last];
  else node[last] = replacement;
  return copy;
}
const expandJsonStrings = (event: unknown): unknown => {
  if (typeof event !== 'object' || event === null || !('invokingEvent' in event)) return event;
  const invoking = (event as { invokingEvent: unknown }).invokingEvent;
  try {
    return { ...event, invokingEvent: typeof invoking === 'string' ? JSON.parse(invoking) : invoking };
  } catch {
    return event;
  }
};
const packJsonStrings = (event: unknown, packed: boolean): unknown =>
  packed && typeof event === 'object' && event !== null && 'invokingEvent' in event
    ? { ...event, invokingEvent: JSON.stringify((event as { invokingEvent: unknown }).invokingEvent) }
    : event;

const hostile = fc.oneof(
  fc.anything(),
  fc.string({ maxLength: 2_000 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'x'.repeat(5_000),
    '../../etc/passwd',
    '0.0.0.0/0',
    '{"a":',
    '1e309',
    '__proto__',
  ),
  fc.constant(undefined),
  fc.integer(),
  fc.constantFrom(null, true, [], {}, -1, Number.MAX_SAFE_INTEGER),
);
const mutated = fc.constantFrom(...seeds).chain((seed) => {
  const packed = typeof (seed as { invokingEvent?: unknown }).invokingEvent === 'string';
  const open = expandJsonStrings(seed);
  return fc
    .tuple(fc.constantFrom(...paths(open)), hostile)
    .map(([path, value]) => packJsonStrings(mutate(open, path, value), packed));
});
const DETAIL_TYPES = [
  'AWS API Call via CloudTrail',
  'Config Rules Compliance Change',
  'Configuration Item Change Notification',
  'EBS Snapshot Notification',
  'EBS Volume Notification',
  'Scheduled Event',
];
const generated = fc.oneof(
  fc.anything(),
  fc.record({
    version: fc.constant('0'),
    id: fc.oneof(fc.uuid(), fc.string()),
    'detail-type': fc.oneof(fc.constantFrom(...DETAIL_TYPES), fc.string()),
    source: fc.oneof(fc.constantFrom('aws.ec2', 'aws.config', 'aws.events', 'aws.iam'), fc.string()),
    account: fc.oneof(fc.constant('123456789012'), fc.string()),
    time: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.string(),
    ),
    region: fc.oneof(fc.constantFrom('us-east-1', 'global'), fc.string()),
    resources: fc.array(fc.string()),
    detail: fc.oneof(fc.object(), fc.anything()),
  }),
  fc.record({
    invokingEvent: fc.oneof(fc.json(), fc.string()),
    ruleParameters: fc.oneof(fc.json(), fc.string()),
    resultToken: fc.string(),
    configRuleName: fc.string(),
    accountId: fc.string(),
    eventLeftScope: fc.anything(),
  }),
);

const figures = {
  tried: 0,
  rejected: 0,
  accepted: 0,
  otherErrors: 0,
  writesAfterRejection: 0,
  boundViolations: 0,
};
afterAll(() =>
  writeFigures('bad-input', { seed: SEED, runsPerProperty: RUNS, seedPayloads: seeds.length, ...figures }),
);

describe('bad input to every adapter and every rule handler', () => {
  const saved = { ...process.env };
  let handlers: ((event: unknown) => Promise<unknown>)[] = [];
  let writeSpy: jest.SpyInstance;

  beforeAll(() => {
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      INCIDENT_TABLE: 'incidents',
      ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:alerts',
      RESPONDER_ROLE_ARNS: 'arn:aws:iam::111122223333:role/responder',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    // The handlers' logs and metrics are not under test here.
    writeSpy = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    handlers = rules.map((rule) => {
      const handler = ruleHandler(rule);
      return (event: unknown) =>
        handler(event as never, { functionName: rule.id, awsRequestId: 'r' } as never);
    });
  });
  beforeEach(() => {
    for (const mock of mocks) mock.reset().onAnyCommand().rejects(new AwsUnavailable('mocked outage'));
  });
  afterAll(() => {
    writeSpy.mockRestore();
    process.env = saved;
  });

  /** One input through the adapters and every handler; returns what broke the claims. */
  async function check(event: unknown): Promise<string[]> {
    figures.tried += 1;
    const problems: string[] = [];
    let parsed: ReturnType<typeof parseTriggerEvent> | undefined;
    try {
      parsed = parseTriggerEvent(event);
    } catch (error) {
      if (!(error instanceof ValidationError)) return [`adapter threw ${String(error)}`];
    }
    if (parsed) {
      figures.accepted += 1;
      const observations = parsed.kind === 'resources' ? parsed.observations : [];
      for (const observation of observations) {
        const long = [
          observation.resourceId,
          observation.eventId,
          observation.eventName,
          observation.resourceType,
        ].filter((field) => field.length > MAX_ID_LENGTH);
        const summary = Object.entries(observation.summary);
        if (long.length > 0 || summary.length > MAX_SUMMARY_KEYS)
          problems.push(`observation over its bound: ${long.length} ids, ${summary.length} summary keys`);
        for (const [key, value] of summary)
          if (typeof value === 'string' && value.length > MAX_SUMMARY_VALUE_LENGTH)
            problems.push(`summary.${key} too long`);
      }
    } else figures.rejected += 1;
    for (const handle of handlers) {
      for (const mock of mocks) mock.resetHistory();
      try {
        await handle(event);
      } catch (error) {
        const name = (error as Error)?.name;
        // The mocked SDK answers ServiceUnavailable; a sweep of several listings wraps it (SweepError).
        const cause = (error as Error)?.cause;
        const unavailable = [name, cause instanceof Error ? cause.name : undefined].includes(
          'ServiceUnavailable',
        );
        if (name === 'ValidationError') {
          if (sdkCalls() > 0) {
            figures.writesAfterRejection += 1;
            problems.push('AWS called before the input was rejected');
          }
        } else if (!(parsed && unavailable)) problems.push(`handler threw ${String(error)}`);
      }
      if (!parsed && sdkCalls() > 0) problems.push('a rejected input reached AWS');
    }
    if (problems.some((problem) => problem.includes('threw'))) figures.otherErrors += 1;
    if (problems.some((problem) => problem.includes('bound') || problem.includes('too long')))
      figures.boundViolations += 1;
    return problems;
  }

  it('rejects mutated AWS payloads with ValidationError only, before any AWS call', async () => {
    // Act + Assess
    await fc.assert(
      fc.asyncProperty(mutated, async (event) => {
        expect(await check(event)).toEqual([]);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  }, 300_000);

  it('rejects generated events with ValidationError only, before any AWS call', async () => {
    // Act + Assess
    await fc.assert(
      fc.asyncProperty(generated, async (event) => {
        expect(await check(event)).toEqual([]);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  }, 300_000);
});
