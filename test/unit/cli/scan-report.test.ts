import { Writable } from 'node:stream';
import { ExitCode, UsageError } from '../../../cli/errors';
import { checkRegions, selectRules } from '../../../cli/scan';
import { scanProgress, silentProgress } from '../../../cli/scan-progress';
import {
  type ScanFinding,
  type ScanReport,
  scanExitCode,
  scanLines,
  scanSummary,
} from '../../../cli/scan-report';
import { rules } from '../../../shared/rules';

const ACCOUNT = '123456789012';
const MEMBER = '222233334444';

const drift: ScanFinding = {
  accountId: ACCOUNT,
  ruleId: 'ebs-volume-encrypted',
  severity: 'HIGH',
  mode: 'enforce',
  state: 'drift',
  region: 'us-east-1',
  resourceType: 'AWS::EC2::Volume',
  resourceId: 'vol-0abc',
  reason: 'EBS volume vol-0abc is not encrypted',
  plan: 'Snapshot vol-0abc and create an encrypted copy',
};

const exempted: ScanFinding = {
  ...drift,
  ruleId: 'ssh-open-to-world',
  mode: 'notify',
  state: 'exempted',
  resourceId: 'sg-0def',
  reason: 'SSH open to the world',
  plan: 'Revoke the rule',
  exemptUntil: '2030-01-01T00:00:00.000Z',
};

const report = (overrides: Partial<ScanReport> = {}): ScanReport => ({
  accountId: ACCOUNT,
  accounts: [ACCOUNT],
  regions: ['us-east-1'],
  scanned: [
    { accountId: ACCOUNT, ruleId: 'ebs-volume-encrypted', scope: 'us-east-1', resources: 1 },
    { accountId: ACCOUNT, ruleId: 'ssh-open-to-world', scope: 'us-east-1', resources: 1 },
  ],
  findings: [],
  errors: [],
  ...overrides,
});

describe('scan report', () => {
  it('lists findings as aligned rows: state, rule, where, why, mode, then what enforce would do', () => {
    // Act
    const lines = scanLines(report({ findings: [drift, exempted] }));
    // Assess
    expect(lines).toEqual([
      'STATE     RULE                  REGION     RESOURCE  WHY                                   MODE     ENFORCE WOULD',
      'drift     ebs-volume-encrypted  us-east-1  vol-0abc  EBS volume vol-0abc is not encrypted  enforce  Snapshot vol-0abc and create an encrypted copy',
      'exempted  ssh-open-to-world     us-east-1  sg-0def   SSH open to the world                 notify   nothing: exempt until 2030-01-01T00:00:00.000Z',
    ]);
  });

  it('names each listing that failed, the global one as IAM, and prints no table without findings', () => {
    // Prepare
    const failed = report({
      errors: [
        {
          accountId: ACCOUNT,
          ruleId: 'ssh-grant-expired',
          scope: 'global',
          reason: 'access denied: iam:ListUsers',
        },
        {
          accountId: ACCOUNT,
          ruleId: 'ebs-volume-encrypted',
          scope: 'us-west-2',
          reason: 'ThrottlingException: Rate exceeded',
        },
      ],
    });
    // Act
    const lines = scanLines(failed);
    // Assess
    expect(lines).toEqual([
      'not scanned: ssh-grant-expired in IAM (global): access denied: iam:ListUsers',
      'not scanned: ebs-volume-encrypted in us-west-2: ThrottlingException: Rate exceeded',
    ]);
  });

  it('sums up what was scanned and found in one line', () => {
    // Act
    const clean = scanSummary(report());
    const found = scanSummary(
      report({
        regions: ['us-east-1', 'eu-west-1'],
        scanned: [{ accountId: ACCOUNT, ruleId: 'ssh-grant-expired', scope: 'global', resources: 3 }],
        findings: [drift, exempted],
        errors: [{ accountId: ACCOUNT, ruleId: 'ebs-volume-encrypted', scope: 'eu-west-1', reason: 'x' }],
      }),
    );
    // Assess
    expect(clean).toBe(
      'scan of account 123456789012, us-east-1, 2 rule(s): 0 finding(s) of drift, 0 exempted; nothing was changed',
    );
    expect(found).toBe(
      'scan of account 123456789012, us-east-1, eu-west-1 and IAM (global), 2 rule(s): 1 finding(s) of drift, 1 exempted; 1 listing(s) NOT scanned (see above); nothing was changed',
    );
  });

  it('says how many resources a narrowed scope left unjudged (never silently)', () => {
    // Act
    const summary = scanSummary(
      report({
        scanned: [
          { accountId: ACCOUNT, ruleId: 'elb-listener-tls', scope: 'us-east-1', resources: 5, outOfScope: 3 },
          {
            accountId: ACCOUNT,
            ruleId: 'phi-dedicated-tenancy',
            scope: 'us-east-1',
            resources: 2,
            outOfScope: 1,
          },
        ],
      }),
    );
    // Assess
    expect(summary).toBe(
      "scan of account 123456789012, us-east-1, 2 rule(s): 0 finding(s) of drift, 0 exempted; 4 resource(s) outside a rule's narrowed scope, not judged; nothing was changed",
    );
  });

  it.each([
    ['nothing found', report(), ExitCode.Ok],
    ['only exempted findings', report({ findings: [exempted] }), ExitCode.Ok],
    ['drift', report({ findings: [exempted, drift] }), ExitCode.DriftFound],
    [
      'a failed listing, even with drift',
      report({
        findings: [drift],
        errors: [{ accountId: ACCOUNT, ruleId: 'r', scope: 'us-east-1', reason: 'x' }],
      }),
      ExitCode.Error,
    ],
    [
      'a failed listing without findings (never "no drift")',
      report({ errors: [{ accountId: ACCOUNT, ruleId: 'r', scope: 'us-east-1', reason: 'x' }] }),
      ExitCode.Error,
    ],
  ])('exits with the code for %s', (_case, scanned, code) => {
    // Act + Assess
    expect(scanExitCode(scanned)).toBe(code);
  });
  it('gives drift found its own exit code', () => {
    // Assess
    expect(new Set(Object.values(ExitCode)).size).toBe(Object.values(ExitCode).length);
    expect(ExitCode.DriftFound).toBe(3);
  });
});

describe('scan report across accounts (--account)', () => {
  const across = (overrides: Partial<ScanReport> = {}) =>
    report({
      accounts: [ACCOUNT, MEMBER],
      findings: [drift, { ...drift, accountId: MEMBER, resourceId: 'vol-0mem' }],
      ...overrides,
    });

  it("names each finding's account in its own column", () => {
    // Act
    const lines = scanLines(across());
    // Assess
    expect(lines[0]).toMatch(/^STATE +ACCOUNT +RULE +REGION +RESOURCE/);
    expect(lines.slice(1).map((line) => line.split(/ +/).slice(0, 4))).toEqual([
      ['drift', ACCOUNT, 'ebs-volume-encrypted', 'us-east-1'],
      ['drift', MEMBER, 'ebs-volume-encrypted', 'us-east-1'],
    ]);
  });

  it('names one member scanned alone, though it is not your account', () => {
    // Act
    const lines = scanLines(report({ accounts: [MEMBER], findings: [{ ...drift, accountId: MEMBER }] }));
    // Assess
    expect(lines[1]?.split(/ +/).slice(0, 2)).toEqual(['drift', MEMBER]);
  });

  it("sums up every account's drift and failed listings, so none hides behind the total", () => {
    // Act
    const summary = scanSummary(
      across({
        errors: [{ accountId: MEMBER, ruleId: 'ssh-open-to-world', scope: 'us-east-1', reason: 'x' }],
      }),
    );
    const lines = scanLines(
      across({
        errors: [{ accountId: MEMBER, ruleId: 'ssh-open-to-world', scope: 'us-east-1', reason: 'x' }],
      }),
    );
    // Assess
    expect(summary).toBe(
      `scan of accounts ${ACCOUNT}, ${MEMBER}, us-east-1, 2 rule(s): 2 finding(s) of drift, 0 exempted (${ACCOUNT}: 1 drift; ${MEMBER}: 1 drift, 1 NOT scanned); 1 listing(s) NOT scanned (see above); nothing was changed`,
    );
    expect(lines.at(-1)).toBe(`not scanned: ssh-open-to-world in account ${MEMBER} us-east-1: x`);
  });
});

describe('scan options', () => {
  it('takes the chosen rules in registry order, and every rule when none is named', () => {
    // Act + Assess
    expect(selectRules(['ssh-open-to-world', 'ebs-volume-encrypted']).map((rule) => rule.id)).toEqual([
      'ebs-volume-encrypted',
      'ssh-open-to-world',
    ]);
    expect(selectRules([])).toEqual(rules);
  });

  it('refuses an unknown rule, naming the valid ids', () => {
    // Act
    const refused = () => selectRules(['ebs-volume-encrypted', 'nope']);
    // Assess
    expect(refused).toThrow(UsageError);
    expect(refused).toThrow(`unknown rule 'nope': use one of ${rules.map((rule) => rule.id).join(', ')}`);
  });

  it('accepts region codes once each and refuses anything else', () => {
    // Act + Assess
    expect(checkRegions(['us-east-1', 'eu-west-2', 'us-east-1', 'us-gov-west-1'])).toEqual([
      'us-east-1',
      'eu-west-2',
      'us-gov-west-1',
    ]);
    expect(() => checkRegions(['us-east-1', 'useast1'])).toThrow(
      "unknown region 'useast1' (--region): did you mean us-east-1?",
    );
  });
});

describe('scan progress', () => {
  /** A stream that keeps what is written; a terminal when asked to be. */
  function stream(isTTY: boolean) {
    const written: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        written.push(String(chunk));
        done();
      },
    });
    Object.assign(sink, {
      isTTY,
      columns: 120,
      cursorTo: () => true,
      clearLine: () => true,
      moveCursor: () => true,
    });
    return { sink: sink as unknown as NodeJS.WriteStream, written };
  }

  it('stays silent when stderr is not a terminal (pipes, CI, tests)', () => {
    // Prepare
    const { sink, written } = stream(false);
    // Act
    const progress = scanProgress(sink);
    progress.start(2);
    progress.resource();
    progress.stop();
    // Assess
    expect(progress).toBe(silentProgress);
    expect(written).toEqual([]);
  });

  it('draws a bar of listings and resources on a terminal', () => {
    // Prepare
    const { sink, written } = stream(true);
    // Act
    const progress = scanProgress(sink);
    progress.start(2);
    progress.listing('ebs-volume-encrypted us-east-1');
    progress.resource();
    progress.resource();
    progress.listed();
    progress.stop();
    // Assess
    expect(progress).not.toBe(silentProgress);
    expect(written.join('')).toContain('1/2 listings | 2 resources | ebs-volume-encrypted us-east-1');
  });
});
