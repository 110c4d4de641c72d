import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { recordCalls } from '../scripts/lib/recorder';
import { REGION, ROOT } from './harness';
import { type Summary, summarize } from './stats';
import { countBy } from './sweep';

const run = promisify(execFile);

/** Cloud Custodian policies equivalent to each swept rule (filters only: what our notify mode detects). */
export const CUSTODIAN_POLICIES: Record<string, { policy: string; yaml: string }> = {
  'ebs-volume-encrypted': {
    policy: 'ebs-unencrypted',
    yaml: '  - name: ebs-unencrypted\n    resource: aws.ebs\n    filters:\n      - Encrypted: false\n',
  },
  'phi-dedicated-tenancy': {
    policy: 'ec2-phi-shared-tenancy',
    yaml:
      '  - name: ec2-phi-shared-tenancy\n    resource: aws.ec2\n    filters:\n      - "tag:phi": "true"\n' +
      '      - "Placement.Tenancy": default\n      - "State.Name": running\n',
  },
  'ssh-open-to-world': {
    policy: 'sg-ssh-open-to-world',
    yaml:
      '  - name: sg-ssh-open-to-world\n    resource: aws.security-group\n    filters:\n' +
      '      - type: ingress\n        Ports: [22]\n        Cidr:\n          value: "0.0.0.0/0"\n',
  },
  'ssh-grant-expired': {
    policy: 'iam-active-ssh-keys',
    yaml:
      '  - name: iam-active-ssh-keys\n    resource: aws.iam-user\n    filters:\n' +
      '      - type: ssh-key\n        key: Status\n        value: Active\n',
  },
};

export interface CustodianRun {
  fn: string;
  policy: string;
  scale: number;
  runMs: number;
  /** User+system CPU of the policy run, after the import, in ms: compared with our sweep's invocation. */
  runCpuMs: number;
  /** User+system CPU of the whole process (interpreter, import, run), in ms: compared with our scan's process. */
  processCpuMs: number;
  calls: number;
  callsByAction: Record<string, number>;
  peakRssMb: number;
  matched: number;
  error?: string;
  /** ERROR lines of custodian's log (at most 3): an action that fails logs and still exits 0. */
  loggedErrors?: string[];
}

/**
 * c7n logs `<time>: <logger>:ERROR <message>`; a message may go on over lines of its own (an
 * action's "Exception processing …" puts the exception there): the head and the continuation, bounded.
 */
export function errorLines(stderr: string): string[] {
  const lines = stderr.split('\n');
  const found: string[] = [];
  lines.forEach((line, index) => {
    if (!/:ERROR /.test(line) || found.length >= 3) return;
    const rest: string[] = [];
    for (const next of lines.slice(index + 1)) {
      if (/^\d{4}-\d\d-\d\d /.test(next) || next.trim() === '') break;
      rest.push(next.trim());
    }
    const head = line.replace(/^.*?:ERROR /, '').trim();
    const shortHead = head.length > 80 ? `${head.slice(0, 80)}…` : head;
    found.push([shortHead, ...rest].join(' ').slice(0, 300));
  });
  return found;
}

/** Times its own import and run and reports its peak memory: the same figures we take of our functions. */
const WRAPPER = `
import json, resource, sys, time
def cpu_ms():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000
t0 = time.perf_counter()
from c7n.cli import main
t1 = time.perf_counter()
c1 = cpu_ms()
sys.argv = ['custodian', 'run', '--cache-period', '0', '-s', sys.argv[1], '--region', sys.argv[2], sys.argv[3]]
code = 0
try:
    main()
except SystemExit as exit:
    code = exit.code or 0
t2 = time.perf_counter()
c2 = cpu_ms()
print(json.dumps({'importMs': (t1 - t0) * 1000, 'runMs': (t2 - t1) * 1000, 'code': code,
                  'runCpuMs': c2 - c1, 'processCpuMs': c2,
                  'maxRssKb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
`;

const IMPORT = `
import time
t0 = time.perf_counter()
from c7n.cli import main
from c7n.resources import load_resources
load_resources(('aws.ebs', 'aws.ec2', 'aws.security-group', 'aws.iam-user'))
print((time.perf_counter() - t0) * 1000)
`;

/** The Python of .venv-c7n (installed by scripts/python-tool.sh custodian on first use), or why not. */
export function custodianPython(): { python?: string; version?: string; unavailable?: string } {
  try {
    const custodian = execFileSync(join(ROOT, 'scripts', 'python-tool.sh'), ['custodian'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    const python = join(custodian, '..', 'python');
    if (!existsSync(python)) return { unavailable: `no python beside ${custodian}` };
    const version = execFileSync(python, ['-c', 'from c7n.version import version; print(version)'], {
      encoding: 'utf8',
    }).trim();
    return { python, version };
  } catch (error) {
    return {
      unavailable: `Cloud Custodian could not be installed: ${(error as Error).message.split('\n')[0]}`,
    };
  }
}

/** Import of c7n and the four resource types the policies use, in fresh processes. */
export function measureCustodianImport(python: string, runs: number): Summary {
  const samples: number[] = [];
  for (let index = 0; index < runs; index++) {
    samples.push(Number(execFileSync(python, ['-c', IMPORT], { encoding: 'utf8' }).trim()));
  }
  return summarize(samples);
}

/** One policy in its own custodian process over the seeded account, through the same moto recorder as ours. */
export async function runCustodianPolicy(
  python: string,
  policy: { fn: string; policy: string; yaml: string },
  scale: number,
  dir: string,
): Promise<CustodianRun> {
  const file = join(dir, `${policy.policy}.yml`);
  writeFileSync(file, `policies:\n${policy.yaml}`);
  const output = join(dir, `out-${scale}`);
  let report:
    | { runMs: number; runCpuMs: number; processCpuMs: number; code: number; maxRssKb: number }
    | undefined;
  let error: string | undefined;
  let loggedErrors: string[] = [];
  const calls = await recordCalls(async () => {
    try {
      const { stdout, stderr } = await run(python, ['-c', WRAPPER, output, REGION, file], {
        env: { ...process.env, AWS_DEFAULT_REGION: REGION },
        maxBuffer: 64 * 1024 * 1024,
      });
      report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
      loggedErrors = errorLines(stderr);
    } catch (failure) {
      loggedErrors = errorLines((failure as { stderr?: string }).stderr ?? '');
      error = (failure as { stderr?: string }).stderr?.trim().split('\n').slice(-1)[0] ?? String(failure);
    }
  });
  const resources = join(output, policy.policy, 'resources.json');
  const matched = existsSync(resources)
    ? (JSON.parse(readFileSync(resources, 'utf8')) as unknown[]).length
    : 0;
  if (report && report.code !== 0) error = `custodian exited with ${report.code}`;
  return {
    fn: policy.fn,
    policy: policy.policy,
    scale,
    runMs: report?.runMs ?? Number.NaN,
    runCpuMs: report?.runCpuMs ?? Number.NaN,
    processCpuMs: report?.processCpuMs ?? Number.NaN,
    calls: calls.length,
    callsByAction: countBy(calls.map((call) => call.action)),
    peakRssMb: (report?.maxRssKb ?? Number.NaN) / 1024,
    matched,
    error,
    ...(loggedErrors.length > 0 ? { loggedErrors } : {}),
  };
}

/** Each filter policy in its own custodian process over the seeded account. */
export async function measureCustodian(python: string, scale: number): Promise<CustodianRun[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-c7n-'));
  const results: CustodianRun[] = [];
  for (const [fn, { policy, yaml }] of Object.entries(CUSTODIAN_POLICIES)) {
    results.push(await runCustodianPolicy(python, { fn, policy, yaml }, scale, dir));
  }
  return results;
}
