import {
  GetFunctionConfigurationCommand,
  LambdaClient,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { main } from '../../cli/index';
import { scheduledEvent } from '../../scripts/lib/events';
import { createAwsClients } from '../../shared/aws/clients';
import { DEPLOYMENT_HISTORY_KEY, DynamoDbDeploymentHistory } from '../../shared/health/deployment-history';
import type { HeartbeatReport } from '../../shared/health/heartbeat';
import { sweepFunctionName } from '../../shared/pipeline/sweep-names';
import { rules } from '../../shared/rules';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { deployFunction } from '../support/self-protection';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const MODE_COLUMN = 'mode in force (sampled by the heartbeat every 5 minutes)';
const lambda = new LambdaClient({ region: REGION });

/**
 * Every function of the stack deployed (a published version each), as the heartbeat reads modes from
 * them: each rule's, its sweep function's and the heartbeat's.
 */
async function deployFunctions(stackName: string, environment: Record<string, string>): Promise<void> {
  const names = [...rules.flatMap((rule) => [rule.id, sweepFunctionName(rule.id)]), 'heartbeat'];
  for (const name of names) await deployFunction(`${stackName}-${name}`, environment, REGION);
}

/** Runs the command line in this process (as `npx compliance-responder` would), capturing its output. */
async function cli(args: string[], tableName: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    ['node', 'compliance-responder', ...args],
    { out: (line) => out.push(line), err: (line) => err.push(line) },
    { ...process.env, INCIDENT_TABLE: tableName },
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** The rows of the Markdown table under `## <heading>`, keyed by its header cells. */
function markdownTable(markdown: string, heading: string): Record<string, string>[] {
  const section = (markdown.split(`## ${heading}\n`)[1] ?? '').split('\n## ')[0] ?? '';
  const lines = section.split('\n').filter((line) => line.startsWith('|'));
  const cells = (line: string) =>
    line
      .slice(2, -2)
      .split(' | ')
      .map((cell) => cell.trim());
  const header = cells(lines[0] ?? '| |');
  return lines.slice(2).map((line) => Object.fromEntries(cells(line).map((cell, i) => [header[i], cell])));
}

describe('report: each rule’s mode during the period, from what the heartbeat bundle recorded in moto', () => {
  let responder: LocalResponder;

  beforeAll(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    await deployFunctions(String(responder.stack.env.STACK_NAME), responder.stack.env);
  });

  it('shows both modes of a rule redeployed between two heartbeats, with their times, and one changed outside a deployment', async () => {
    // Prepare: the heartbeat runs as deployed, then after ssh-open-to-world was redeployed in notify,
    // then after someone set ebs-encryption-by-default's function to notify outside any deployment
    const stackName = String(responder.stack.env.STACK_NAME);
    const event = scheduledEvent({ accountId: ACCOUNT, region: REGION });
    const first = await responder.invokeBundle('heartbeat', event);
    await deployFunction(`${stackName}-ssh-open-to-world`, {
      ...responder.stack.env,
      MODE_SSH_OPEN_TO_WORLD: 'notify',
    });
    const second = await responder.invokeBundle('heartbeat', event);
    const FunctionName = `${stackName}-ebs-encryption-by-default`;
    const current = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName }));
    const Variables = { ...current.Environment?.Variables, MODE_EBS_ENCRYPTION_BY_DEFAULT: 'notify' };
    await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName, Environment: { Variables } }));
    const third = await responder.invokeBundle('heartbeat', event);
    expect([first.result.deployment, second.result.deployment, third.result.deployment]).toEqual([
      'recorded',
      'recorded',
      'recorded',
    ]);
    // (No triggers or trail are seeded here: only the configuration problems matter.)
    const problems = (third.result as unknown as HeartbeatReport).problems;
    expect(problems.filter((problem) => problem.check === 'configuration')).toEqual([
      expect.objectContaining({ subject: FunctionName }),
    ]);
    const read = await new DynamoDbDeploymentHistory(
      createAwsClients(REGION).dynamo(),
      responder.stack.tableName,
    ).read();
    if (read.state !== 'recorded') throw new Error(`no history recorded: ${JSON.stringify(read)}`);
    const [enforced, notified, changed] = read.transitions.map((transition) => transition.at);
    expect(read.transitions.map((transition) => transition.modesChangedOutsideDeployment)).toEqual([
      undefined,
      undefined,
      ['ebs-encryption-by-default'],
    ]);
    // A period that starts before the first record, and ends before the command runs
    const since = new Date(Date.parse(enforced ?? '') - 60_000).toISOString();
    const until = new Date().toISOString();
    // Act
    const result = await cli(['report', '--since', since, '--until', until], responder.stack.tableName);
    // Assess
    expect(result).toMatchObject({ code: 0, err: '' });
    const rows = markdownTable(result.out, 'Rule modes during the period');
    const row = (ruleId: string) => rows.find((candidate) => candidate.rule === ruleId);
    expect(row('ssh-open-to-world')).toEqual({
      rule: 'ssh-open-to-world',
      [MODE_COLUMN]: `not recorded from ${since} to ${enforced}; enforce from ${enforced} to ${notified}; notify from ${notified} to ${until}`,
      'modes its incidents recorded': 'no incident in the period',
    });
    expect(row('ebs-encryption-by-default')?.[MODE_COLUMN]).toBe(
      `not recorded from ${since} to ${enforced}; enforce from ${enforced} to ${changed}; notify (changed outside a deployment) from ${changed} to ${until}`,
    );
    // A rule no change touched keeps one mode from the first record to the end
    expect(row('ebs-volume-encrypted')?.[MODE_COLUMN]).toBe(
      `not recorded from ${since} to ${enforced}; ${responder.stack.env.MODE_EBS_VOLUME_ENCRYPTED ?? 'enforce'} from ${enforced} to ${until}`,
    );
    expect(result.out).toContain(`Modes before ${enforced} were not recorded.`);
    expect(result.out).toContain('a change undone within 5 minutes may not be seen');
    expect(result.out).toContain(
      `Accounts: ${ACCOUNT}. Regions: ${REGION} (from the deployment history the heartbeat recorded`,
    );
    const deployment = {
      account: ACCOUNT,
      'home region': REGION,
      'regions swept': REGION,
      stage: String(responder.stack.env.STAGE),
    };
    expect(markdownTable(result.out, 'Deployment during the period (3)')).toEqual([
      { from: enforced, to: notified, ...deployment },
      { from: notified, to: changed, ...deployment },
      { from: changed, to: until, ...deployment },
    ]);
  });

  it('calls an item of another shape under that key unreadable: no mode claimed, and the heartbeat leaves it as found', async () => {
    // Prepare: someone (moto enforces no IAM) writes the key with a shape the heartbeat never writes
    const dynamo = createAwsClients(REGION).dynamo();
    const forged = {
      ...DEPLOYMENT_HISTORY_KEY,
      schemaVersion: 1,
      revision: 9,
      transitions: [{ at: '2026-01-01T00:00:00.000Z', modes: 'enforce everywhere' }],
    };
    await dynamo.send(new PutCommand({ TableName: responder.stack.tableName, Item: forged }));
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const until = new Date().toISOString();
    // Act
    const result = await cli(['report', '--since', since, '--until', until], responder.stack.tableName);
    const beat = await responder.invokeBundle(
      'heartbeat',
      scheduledEvent({ accountId: ACCOUNT, region: REGION }),
    );
    // Assess
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toContain('The deployment history item is unreadable (transitions.0.');
    const rows = markdownTable(result.out, 'Rule modes during the period');
    expect(rows.find((row) => row.rule === 'ssh-open-to-world')?.[MODE_COLUMN]).toBe(
      `not recorded from ${since} to ${until}`,
    );
    expect(result.out).toContain('only the accounts and regions of the period’s incidents');
    expect(beat.result.deployment).toBe('failed');
    expect(beat.result.problems).toContainEqual(
      expect.objectContaining({ check: 'deployment-history', subject: DEPLOYMENT_HISTORY_KEY.pk }),
    );
    const { Item } = await dynamo.send(
      new GetCommand({ TableName: responder.stack.tableName, Key: DEPLOYMENT_HISTORY_KEY }),
    );
    expect(Item).toEqual(forged);
  });
});
