import { errorLines } from '../../../bench/custodian';
import {
  CUSTODIAN_ACTIONS,
  DETACHED,
  type EnforceSection,
  type EnforceSweepResult,
  motoGapOf,
} from '../../../bench/enforce';
import { computeHeadline, enforceCpuRatio, type HeadlineInputs } from '../../../bench/headline';
import { findLosses, renderReport } from '../../../bench/report';
import { aResult, LIMITS } from './result-fixture';

/** The fixture's enforce section at 1,000, with each side's CPU and what each left drifting. */
function enforced(
  ours: { cpuMs: number; stillDrifting: number },
  theirs: { runCpuMs: number; stillDrifting: number; loggedErrors?: string[]; motoGap?: string },
): EnforceSection {
  const [base] = aResult().sweepEnforce as [EnforceSection];
  return {
    ...base,
    ours: base.ours.map((sweep) => ({ ...sweep, ...ours })),
    custodian: base.custodian.map((run) => ({ ...run, ...theirs })),
  };
}

const withSection = (section: EnforceSection): HeadlineInputs => aResult({ sweepEnforce: [section] });

describe('the enforce-mode comparison with Cloud Custodian', () => {
  it('compares our enforce sweep with c7n’s action run when both left nothing drifting', () => {
    // Prepare: 1,200 ms of our sweep's CPU against 800 ms of c7n's remove-permissions run
    const inputs = withSection(
      enforced({ cpuMs: 1_200, stillDrifting: 0 }, { runCpuMs: 800, stillDrifting: 0 }),
    );
    // Act
    const headline = computeHeadline(inputs, LIMITS);
    // Assess
    expect(headline.sweepEnforceCpuRatioVsC7n['ssh-open-to-world']?.['1000']).toEqual({
      value: 1.5,
      basis: 'enforce sweep 1,200 ms CPU / c7n remove-permissions 800 ms CPU (each left 0 of 10 drifting)',
    });
    // The notify comparison is untouched by the enforce section.
    expect(headline.sweepCpuRatioVsC7n['ssh-open-to-world']?.['1000']).toEqual({
      value: 1.5,
      basis: 'sweep 900 ms CPU / c7n 600 ms CPU',
    });
  });

  it('gives no ratio where a side left drift, naming the counts and what c7n logged', () => {
    // Prepare: c7n's action logged a failure and exited 0, leaving every drift
    const gap = motoGapOf(["Exception processing instance:i-1 volset: [...]… 'DeleteOnTermination'"]);
    const inputs = withSection(
      enforced({ cpuMs: 1_200, stillDrifting: 0 }, { runCpuMs: 800, stillDrifting: 10, motoGap: gap }),
    );
    // Act
    const figure = computeHeadline(inputs, LIMITS).sweepEnforceCpuRatioVsC7n['ssh-open-to-world']?.['1000'];
    // Assess
    expect(gap).toContain('DescribeVolumes returns attachments without DeleteOnTermination');
    expect(figure).toEqual({
      value: null,
      reason: `not like for like: our sweep left 0 of 10 drifting, c7n's remove-permissions left 10 of 10 (c7n logged: ${gap})`,
    });
  });

  it('says where c7n has no equivalent action, where it did not run, and which scales were not swept', () => {
    // Prepare
    const section = enforced({ cpuMs: 1_200, stillDrifting: 0 }, { runCpuMs: 800, stillDrifting: 0 });
    const inputs = withSection(section);
    // Act
    const headline = computeHeadline(inputs, LIMITS);
    const unnamed = enforceCpuRatio(inputs, section, 'cloudtrail-logging-on');
    // Assess
    expect(unnamed).toEqual({
      value: null,
      reason: 'c7n has no equivalent action: none is named for cloudtrail-logging-on',
    });
    expect(headline.sweepEnforceCpuRatioVsC7n['ebs-volume-encrypted']?.['1000']).toEqual({
      value: null,
      reason: 'our enforce sweep of this family did not run',
    });
    expect(headline.sweepEnforceCpuRatioVsC7n['ssh-open-to-world']?.['10000']).toEqual({
      value: null,
      reason:
        'not measured in this run: it swept 1,000 of each kind in enforce mode (full scale), not 10,000',
    });
    expect(headline.targets.map((target) => target.name)).not.toContain('sweepEnforceCpuRatioVsC7n');
  });

  it('names a c7n action for every swept family, from c7n’s own action names, and none for a detached volume', () => {
    expect(
      Object.fromEntries(
        Object.entries(CUSTODIAN_ACTIONS).map(([fn, equivalent]) => [fn, equivalent.action]),
      ),
    ).toEqual({
      'ebs-volume-encrypted': 'encrypt-instance-volumes',
      'phi-dedicated-tenancy': 'stop',
      'ssh-open-to-world': 'remove-permissions',
      'ssh-grant-expired': 'delete-ssh-keys',
      [DETACHED]: null,
    });
  });

  it('shows our detached-volume path alone, with c7n’s missing action as the reason in the row and the headline', () => {
    // Prepare
    const section = enforced({ cpuMs: 1_200, stillDrifting: 0 }, { runCpuMs: 800, stillDrifting: 0 });
    const [ours] = section.ours as [EnforceSweepResult];
    const measured = withSection({
      ...section,
      detached: {
        account: { ...section.account, groups: 0, users: 0, driftVolumes: 'detached', only: 'volumes' },
        ours: { ...ours, fn: DETACHED, covers: 'detached volumes', cpuMs: 700, calls: 90 },
      },
    });
    // Act
    const headline = computeHeadline(measured, LIMITS);
    const markdown = renderReport({ ...measured, losses: [], headline });
    // Assess
    const none = CUSTODIAN_ACTIONS[DETACHED];
    const reason = `c7n has no equivalent action: ${none?.action === null ? none.none : ''}`;
    expect(headline.sweepEnforceCpuRatioVsC7n[DETACHED]?.['1000']).toEqual({ value: null, reason });
    expect(markdown).toContain(
      `| ${DETACHED} | ours | snapshot, encrypted copy, original quarantined and kept (the default) | 3,000 | 700 | 90 |`,
    );
    expect(markdown).toContain(
      `| ${DETACHED} | c7n | none | | | | | | | c7n has no equivalent action (why: below the table) | | |`,
    );
    expect(markdown).toContain(
      `- ${DETACHED}: c7n has no equivalent action: ${none?.action === null ? none.none : ''}`,
    );
  });

  it('renders both sides beside the notify rows, with what is left drifting and the headline figure', () => {
    // Prepare
    const measured = withSection(
      enforced({ cpuMs: 1_200, stillDrifting: 0 }, { runCpuMs: 800, stillDrifting: 0 }),
    );
    // Act
    const markdown = renderReport({ ...measured, losses: [], headline: computeHeadline(measured, LIMITS) });
    // Assess
    const notifyRow = markdown.indexOf('| sg-ssh-open-to-world | ssh-open-to-world |');
    const oursRow = markdown.indexOf(
      '| ssh-open-to-world | ours | revoke the rule | 3,000 | 1,200 | 120 | 160 | 10 | 0 of 10 |',
    );
    const theirRow = markdown.indexOf(
      '| ssh-open-to-world | c7n sg-ssh-open-to-world-revoke | remove-permissions | 1,100 | 800 | 12 | 98 | 10 | 0 of 10 | ran | 1.50× |',
    );
    expect(notifyRow).toBeGreaterThan(0);
    expect(oursRow).toBeGreaterThan(notifyRow);
    expect(theirRow).toBeGreaterThan(oursRow);
    expect(markdown.indexOf('## Storm')).toBeGreaterThan(theirRow);
    expect(markdown).toContain('- ssh-grant-expired: c7n `delete-ssh-keys`:');
    expect(markdown).toContain(
      '| sweepEnforceCpuRatioVsC7n | ssh-open-to-world at 1,000 | 1.50; enforce sweep 1,200 ms CPU / c7n remove-permissions 800 ms CPU (each left 0 of 10 drifting) |',
    );
  });

  it('counts as losses drift our enforce sweep left, and a c7n action that used less CPU or fewer calls', () => {
    // Act
    const cheaper = findLosses(
      withSection(enforced({ cpuMs: 1_200, stillDrifting: 0 }, { runCpuMs: 800, stillDrifting: 0 })),
    );
    const leftDrift = findLosses(
      withSection(enforced({ cpuMs: 1_200, stillDrifting: 3 }, { runCpuMs: 800, stillDrifting: 0 })),
    );
    // Assess
    expect(cheaper).toContain(
      "Cloud Custodian's remove-permissions used less client CPU than our enforce sweep of 1,000 security-group rules (ssh-open-to-world): 800 ms against 1,200 ms (ours also records each step and alerts).",
    );
    expect(cheaper).toContain(
      "Cloud Custodian's remove-permissions made fewer API calls than our enforce sweep of 1,000 security-group rules (ssh-open-to-world): 12 against 120.",
    );
    expect(leftDrift).toContain(
      'Our enforce sweep of 1,000 security-group rules (ssh-open-to-world) left 3 of 10 drifting: remediated 10.',
    );
  });
});

describe("reading Cloud Custodian's log", () => {
  it('keeps each ERROR line with the lines that continue it, and nothing else', () => {
    // Prepare: an action's failure as c7n logs it, the exception on the next line
    const stderr = [
      '2026-12-05 11:30:01,000: custodian.policy:INFO policy:ebs-encrypt-in-use resource:aws.ebs count:2',
      `2026-12-05 11:30:02,000: custodian.actions:ERROR Exception processing instance:i-1 volset: [${'x'.repeat(200)}] `,
      " 'DeleteOnTermination'",
      '2026-12-05 11:30:03,000: custodian.policy:INFO done',
    ].join('\n');
    // Act
    const lines = errorLines(stderr);
    // Assess
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^Exception processing instance:i-1 volset: \[x+… 'DeleteOnTermination'$/);
    expect(motoGapOf(lines)).toBeDefined();
    expect(motoGapOf(['something else'])).toBeUndefined();
  });
});
