import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../../cli/errors';
import { seedDemoDrift } from '../../scripts/lib/seed-drift';
import { runCli } from '../support/cli';
import { LocalResponder, resetAccount } from '../support/local-responder';

/**
 * The command line given only `--stage`: it finds the table, topic, key and roles from the stack's
 * outputs (DescribeStacks), as against AWS. `npm run local:provision` registers the local stack's
 * outputs in moto under the deployed stack's name, so the same path runs here.
 */
describe('compliance-responder --stage, against the stack provisioned in moto', () => {
  let responder: LocalResponder;
  // No .local/env.json and no INCIDENT_TABLE: only the stack's outputs can name the table.
  const cwd = mkdtempSync(join(tmpdir(), 'cli-stack-'));
  const bare = { INCIDENT_TABLE: '', HOME_REGION: '' };

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
  });

  it("names the stage's stack, table, topic, key and roles from its outputs", async () => {
    // Act
    const run = await runCli(['--stage', 'local', 'stack', '--json'], bare, { cwd });
    // Assess
    expect(run.stderr).toBe('');
    expect(run.code).toBe(ExitCode.Ok);
    expect(JSON.parse(run.stdout)).toEqual({
      source: 'stack',
      stackName: 'compliance-responder-local',
      stage: 'local',
      homeRegion: 'us-east-1',
      tableName: responder.stack.tableName,
      alertTopicArn: responder.stack.topicArn,
      keyArn: responder.stack.keyArn,
      onCallRoleArn: expect.stringMatching(
        /^arn:aws:iam::\d{12}:role\/compliance-responder-local-OnCallRole$/,
      ),
      approverRoleArn: expect.stringMatching(
        /^arn:aws:iam::\d{12}:role\/compliance-responder-local-ApproverRole$/,
      ),
    });
  });

  it("reads the stack's table with no table named anywhere", async () => {
    // Act
    const run = await runCli(['--stage', 'local', 'guard', 'status', '--json'], bare, { cwd });
    // Assess
    expect(run.stderr).toBe('');
    expect(run.code).toBe(ExitCode.Ok);
    expect(JSON.parse(run.stdout)).toMatchObject({ tripped: false });
  });

  it.each([
    ['the default stage (dev)', [], 'compliance-responder-dev'],
    ['a stage never deployed', ['--stage', 'qa'], 'compliance-responder-qa'],
  ])('says which stack is missing where, and what to pass, for %s', async (_case, stage, stackName) => {
    // Act
    const run = await runCli([...stage, 'incidents', 'list'], bare, { cwd });
    // Assess
    expect(run.code).toBe(ExitCode.Error);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim()).toBe(
      `error: no stack ${stackName} in us-east-1: pass the --stage you deployed (serverless deploy --stage <stage>) and --region of its home region, or --table <name> for a table outside a stack`,
    );
  });
});

describe('compliance-responder --stage local scan, against the drift the demo seeds', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'cli-stack-scan-'));

  it("reports the seeded drift and never the command line's own stand-ins as self-protection findings", async () => {
    // Prepare
    await resetAccount();
    await LocalResponder.provision();
    const seeded = await seedDemoDrift();
    // Act
    const run = await runCli(['--stage', 'local', 'scan'], { INCIDENT_TABLE: '', HOME_REGION: '' }, { cwd });
    // Assess
    expect(run.code).toBe(ExitCode.DriftFound);
    const rows = run.stdout.split('\n').filter((line) => line.startsWith('drift'));
    expect(rows).toContainEqual(expect.stringContaining(seeded.volumeId));
    expect(rows).toContainEqual(expect.stringContaining(seeded.groupId));
    expect(rows.filter((row) => /\bself-protection\b/.test(row))).toEqual([]);
  });
});
