import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../../../cli/errors';
import { main } from '../../../cli/index';
import { writeAtomically } from '../../../cli/report';

/** Runs the command line in this process. No AWS call is reached: every case fails before one. */
async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    ['node', 'compliance-responder', ...args],
    { out: (line) => out.push(line), err: (line) => err.push(line) },
    // A closed port: if a case did reach AWS, it would fail with a connection error, not a usage error.
    {
      AWS_REGION: 'us-east-1',
      INCIDENT_TABLE: 'compliance-responder-test-incidents',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    },
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('report on the command line', () => {
  const directory = mkdtempSync(join(tmpdir(), 'report-cli-'));

  it.each([
    ['an unknown format', ['report', '--format', 'pdf'], "invalid --format 'pdf': one of html, md"],
    ['a malformed --since', ['report', '--since', 'last week'], "invalid --since 'last week'"],
    ['a directory as --out', ['report', '--out', directory], 'is a directory: name a file'],
    ['a malformed --until', ['report', '--until', 'yesterday'], "invalid --until 'yesterday'"],
    [
      'an --until in the future',
      ['report', '--until', '2999-01-01'],
      "invalid --until '2999-01-01': it is in the future",
    ],
    [
      'an --until before --since',
      ['report', '--since', '2026-10-01', '--until', '2026-07-01'],
      "invalid period: --until '2026-07-01' is not after --since '2026-10-01'",
    ],
    [
      'an --until equal to --since',
      ['report', '--since', '2026-10-01', '--until', '2026-10-01'],
      "invalid period: --until '2026-10-01' is not after --since '2026-10-01'",
    ],
  ])('refuses %s as a usage mistake (exit 2)', async (_name, args, message) => {
    // Act
    const result = await run(args);
    // Assess
    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
    expect(result.out).toBe('');
  });

  it('writes nothing when --until is refused, even with --out', async () => {
    // Prepare
    const target = mkdtempSync(join(tmpdir(), 'report-cli-out-'));
    // Act
    const result = await run(['report', '--until', 'someday', '--out', join(target, 'report.md')]);
    // Assess
    expect(result.code).toBe(2);
    expect(readdirSync(target)).toEqual([]);
  });
});

describe('writeAtomically', () => {
  it('replaces the file whole and leaves no temporary file behind', () => {
    // Prepare
    const directory = mkdtempSync(join(tmpdir(), 'report-write-'));
    const file = join(directory, 'report.md');
    writeFileSync(file, 'last month');
    // Act
    writeAtomically(file, 'this month');
    // Assess
    expect(readFileSync(file, 'utf8')).toBe('this month');
    expect(readdirSync(directory)).toEqual(['report.md']);
  });

  it('fails with a one-line error naming the file when its directory is missing, and writes nothing', () => {
    // Prepare
    const directory = mkdtempSync(join(tmpdir(), 'report-write-'));
    // Act / Assess
    expect(() => writeAtomically(join(directory, 'missing', 'report.md'), 'x')).toThrow(
      new CliError(
        `cannot write '${join(directory, 'missing', 'report.md')}' (ENOENT): check that its directory exists and is writable`,
      ),
    );
    expect(readdirSync(directory)).toEqual([]);
  });
});
