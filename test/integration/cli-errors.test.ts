import { ExitCode } from '../../cli/errors';
import { version } from '../../package.json';
import { runCli } from '../support/cli';

/** Errors that say what to do, from the command line as on-call runs it (its own process). */
describe('compliance-responder, when something around it is wrong', () => {
  const table = { INCIDENT_TABLE: 'compliance-responder-test-incidents' };

  it('--version prints the version', async () => {
    // Act
    const run = await runCli(['--version']);
    // Assess
    expect(run).toEqual({ code: ExitCode.Ok, stdout: `${version}\n`, stderr: '' });
  });

  it.each([
    [
      ['--region', 'us-est-1', 'guard', 'status'],
      {},
      "unknown region 'us-est-1' (--region): did you mean us-east-1?",
    ],
    [
      ['guard', 'status'],
      { AWS_REGION: 'eu-wset-1' },
      "unknown region 'eu-wset-1' (AWS_REGION): did you mean eu-west-1?",
    ],
    [
      ['scan', '--region', 'ap-southeast-22'],
      {},
      "unknown region 'ap-southeast-22' (--region): did you mean ap-southeast-2?",
    ],
  ])('refuses an unknown region with the nearest valid one: %j %j', async (args, env, message) => {
    // Act
    const run = await runCli(args, { ...table, ...env });
    // Assess
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stderr).toContain(message);
  });

  it.each([
    [
      ['--region', 'us-est-1', 'report', '--since', 'nope', '--until', 'nope', '--format', 'pdfx'],
      [
        "unknown region 'us-est-1' (--region): did you mean us-east-1?",
        "invalid --since 'nope'",
        "invalid --until 'nope'",
        "invalid --format 'pdfx': one of html, md",
      ],
    ],
    [
      [
        'ssh',
        'grant',
        '--security-group',
        'sg-1',
        '--cidr',
        '203.0.113.7/33',
        '--ttl',
        'forever',
        '--reason',
        'INC-1',
      ],
      ["invalid --ttl 'forever'", "invalid --cidr '203.0.113.7/33'"],
    ],
  ])('names every bad option of %j at once, before any AWS call', async (args, problems) => {
    // Act: no table named, so the context would look the stack up at an endpoint nothing listens on
    const run = await runCli(args, { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:1' });
    // Assess: one line each, exit 2, and the endpoint never tried (that would be exit 1, "cannot reach")
    expect(run.code).toBe(ExitCode.Usage);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toEqual(
      problems.map((problem) => expect.stringContaining(`error: ${problem}`)),
    );
  });

  it('names an unreachable endpoint and what to check', async () => {
    // Act: nothing listens on port 1
    const run = await runCli(['guard', 'status'], { ...table, AWS_ENDPOINT_URL: 'http://127.0.0.1:1' });
    // Assess
    expect(run.code).toBe(ExitCode.Error);
    expect(run.stderr.trim()).toBe(
      'error: cannot reach the AWS endpoint http://127.0.0.1:1 (ECONNREFUSED): check AWS_ENDPOINT_URL (is the emulator running? npm run moto:start), or unset it to use AWS',
    );
  });

  it('names a profile that does not exist', async () => {
    // Act
    const run = await runCli(['guard', 'status'], {
      ...table,
      AWS_PROFILE: 'no-such-profile',
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_SESSION_TOKEN: '',
    });
    // Assess
    expect(run.code).toBe(ExitCode.Error);
    expect(run.stderr).toContain("AWS profile 'no-such-profile' gave no credentials");
  });
});
