import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildFunctions } from './build';
import {
  cloudTrailEvent,
  disableEbsEncryptionByDefaultCall,
  humanCaller,
  roleCaller,
  scheduledEvent,
} from './lib/events';
import { drainInbox, listIncidents, provisionLocalStack, subscribeInbox } from './lib/local-stack';
import { type MotoServer, startMoto } from './lib/moto';
import { startRecording, stopRecording } from './lib/recorder';
import { seedDemoDrift } from './lib/seed-drift';
import { emailsByDefaultBody } from './lib/sns-email';

/**
 * npm run demo — the responder against a local AWS account (moto) with seeded drift:
 * provision the stack from serverless.yml, seed drift, deliver real-format events to the bundled
 * handlers in separate processes (as Lambda would), and print what on-call sees.
 * `npm run demo -- --keep` leaves moto and its data running (recorded in .local/moto.json, as
 * `npm run moto:start` does, so `npm run moto:stop` stops it) and prints how to use the CLI on it.
 */
const ACCOUNT = '123456789012';
const run = promisify(execFile);
const say = (text = '') => process.stdout.write(`${text}\n`);

async function invoke(envFile: string, name: string, event: unknown, dir: string): Promise<unknown> {
  const file = join(dir, `event-${Date.now()}-${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(event));
  const { stdout } = await run(
    process.execPath,
    [require.resolve('tsx/cli'), join(__dirname, 'local-invoke.ts'), name, file],
    {
      env: { ...process.env, LOCAL_ENV_FILE: envFile },
    },
  );
  return JSON.parse(stdout);
}

const ROOT = join(__dirname, '..');
const MOTO_RECORD = join(ROOT, '.local', 'moto.json');

/** `--keep` or nothing: anything else is refused before moto starts. */
function parseArguments(args: readonly string[]): { keep: boolean } {
  const unknown = args.filter((arg) => arg !== '--keep');
  if (unknown.length > 0) {
    throw new Error(`unknown argument ${unknown.join(' ')}: npm run demo [-- --keep]`);
  }
  const keep = args.includes('--keep');
  if (keep && existsSync(MOTO_RECORD)) {
    throw new Error(
      'a moto_server is already recorded in .local/moto.json: stop it first (npm run moto:stop), then run the demo again',
    );
  }
  return { keep };
}

async function main(): Promise<void> {
  const { keep } = parseArguments(process.argv.slice(2));
  const started = Date.now();
  say('compliance-responder demo: a local AWS account on moto, seeded with drift\n');
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const dir = mkdtempSync(join(tmpdir(), 'compliance-responder-demo-'));
  // The recorder keeps each Publish: moto sends no e-mail, so step 5 shows what SNS would. With
  // --keep, moto outlives this process, like npm run moto:start's.
  const moto = await startMoto({ recorderFile: join(dir, 'moto-recording.jsonl'), detached: keep });
  process.env.AWS_ENDPOINT_URL = moto.url;
  await startRecording();
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
  });
  try {
    const [stack] = await Promise.all([provisionLocalStack({ everyFunction: true }), buildFunctions()]);
    const inbox = await subscribeInbox(stack);
    const envFile = join(dir, 'env.json');
    writeFileSync(envFile, JSON.stringify(stack.env, null, 2));
    say(
      `1. moto on ${moto.url}; stack provisioned from serverless.yml: table ${stack.tableName}, topic ${stack.topicArn.split(':').pop()}`,
    );

    const { volumeId, groupId } = await seedDemoDrift();
    say('2. drift seeded: EBS encryption by default turned off in us-east-1 and us-west-2;');
    say(`   an unencrypted 100 GiB gp3 volume ${volumeId} created in us-east-1a;`);
    say(`   SSH (tcp/22) opened to 0.0.0.0/0 on security group ${groupId}\n`);

    const disable = disableEbsEncryptionByDefaultCall('us-east-1', humanCaller(ACCOUNT));
    const call = cloudTrailEvent(disable);
    const fn = 'ebs-encryption-by-default';
    say('3. events delivered to the bundles in dist/functions/, each in its own process:');
    const results = await Promise.all([invoke(envFile, fn, call, dir), invoke(envFile, fn, call, dir)]);
    say(
      `   - CloudTrail DisableEbsEncryptionByDefault by dev-alice, delivered twice at once → ${summarize(results)}`,
    );
    const swept = await invoke(envFile, fn, scheduledEvent({ accountId: ACCOUNT, region: 'us-west-2' }), dir);
    say(`   - the hourly sweep of us-west-2 → ${summarize([swept])}`);
    const responderRole = stack.env.RESPONDER_ROLE_ARNS?.split(',')[0] ?? '';
    const own = cloudTrailEvent({ ...disable, caller: roleCaller(responderRole) });
    const ignored = await invoke(envFile, fn, own, dir);
    say(`   - the same call made by the responder's own role → ${summarize([ignored])} (loop guard)`);
    const createVolume = cloudTrailEvent({
      eventName: 'CreateVolume',
      eventSource: 'ec2.amazonaws.com',
      region: 'us-east-1',
      caller: humanCaller(ACCOUNT, 'dev-bob'),
      responseElements: { volumeId, encrypted: false, size: '100', volumeType: 'gp3', status: 'creating' },
    });
    const replaced = await invoke(envFile, 'ebs-volume-encrypted', createVolume, dir);
    say(
      `   - CloudTrail CreateVolume ${volumeId} by dev-bob, to ebs-volume-encrypted → ${summarize([replaced])}`,
    );
    const openSsh = cloudTrailEvent({
      eventName: 'AuthorizeSecurityGroupIngress',
      eventSource: 'ec2.amazonaws.com',
      region: 'us-east-1',
      caller: humanCaller(ACCOUNT, 'dev-carol'),
      requestParameters: {
        groupId,
        ipPermissions: { items: [{ ipProtocol: 'tcp', fromPort: 22, toPort: 22 }] },
      },
    });
    const revoked = await invoke(envFile, 'ssh-open-to-world', openSsh, dir);
    say(
      `   - CloudTrail AuthorizeSecurityGroupIngress ${groupId} by dev-carol, to ssh-open-to-world → ${summarize([revoked])}`,
    );
    // The deployment history the report takes each rule's mode and the regions covered from.
    const beat = (await invoke(
      envFile,
      'heartbeat',
      scheduledEvent({ accountId: ACCOUNT, region: 'us-east-1' }),
      dir,
    )) as { deployment?: string };
    say(
      `   - the 5-minute schedule, to heartbeat → deployment history ${beat.deployment ?? 'not recorded'} (each rule's mode, the regions covered: what report shows)\n`,
    );

    const incidents = await listIncidents(stack);
    say(`4. incidents (${incidents.length}), as stored in ${stack.tableName}:`);
    for (const incident of incidents) {
      say(
        `   ${incident.incidentId}  [${incident.severity}] ${incident.ruleId}  ${incident.status}  ${incident.region}`,
      );
      say(`      what: ${incident.reason}`);
      say(
        `      who:  ${incident.actor?.arn ?? 'found by the sweep'}   hipaa: §${incident.hipaa.join(', §')}`,
      );
      for (const step of incident.steps) {
        const made = step.output?.volumeId ?? step.output?.snapshotId;
        const output = made ? ` ${made}` : '';
        say(
          `      step: ${step.action} → ${step.result}${output}${step.undo ? `   undo: ${step.undo.action}` : ''}`,
        );
      }
    }

    const alerts = await drainInbox(stack.region, inbox, 1);
    const emails = await emailsByDefaultBody();
    say(
      `\n5. alerts received by the on-call inbox (${alerts.length}), each with the e-mail SNS delivers for it:`,
    );
    for (const alert of alerts) {
      say(`\n   Subject: ${alert.subject}`);
      say(
        `   Attributes: ${Object.entries(alert.attributes)
          .map(([name, value]) => `${name}=${value}`)
          .join(' ')}`,
      );
      say((emails.get(alert.message) ?? '(its Publish was not recorded)').replace(/^/gm, '   | '));
    }
    say(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (keep) {
      await stopRecording();
      keepRunning(moto);
    }
  } finally {
    if (!keep) await moto.stop();
  }
}

/**
 * Records the kept moto where npm run moto:stop finds it, and says how to point the command line at
 * it: only the endpoint and --stage local, since the stack's outputs (registered in moto by the
 * provisioning) name its table, topic, key and roles.
 */
function keepRunning(moto: MotoServer): void {
  mkdirSync(join(ROOT, '.local'), { recursive: true });
  writeFileSync(MOTO_RECORD, JSON.stringify({ url: moto.url, pid: moto.pid }, null, 2));
  say(`\nmoto keeps running on ${moto.url} with the demo's account (--keep). Use the command line on it:`);
  say(
    `   export AWS_ENDPOINT_URL=${moto.url} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1`,
  );
  say('   npx compliance-responder --stage local stack           # the stack it found, from its outputs');
  say('   npx compliance-responder --stage local scan            # what is still drifted now');
  say('   npx compliance-responder --stage local incidents list  # the incidents above');
  say(
    "   npx compliance-responder --stage local report --since 1h  # the auditor's report: modes, coverage, incidents",
  );
  say('Stop it with: npm run moto:stop');
}

function summarize(results: unknown[]): string {
  type Outcome = { status?: string; incidentId?: string; compliance?: string };
  return results
    .map((result) => {
      const outcomes = (result as { outcomes?: Outcome[] }).outcomes ?? [];
      if (outcomes.length === 0) return 'ignored';
      return outcomes
        .map((outcome) =>
          // No incident: by the time this delivery read it, the resource was already compliant.
          outcome.incidentId
            ? `${outcome.status} (${outcome.incidentId})`
            : 'already compliant, nothing to do',
        )
        .join(', ');
    })
    .join(' | ');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
