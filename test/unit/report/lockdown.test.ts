import type { Incident, LockdownRecord, Step } from '../../../shared/model';
import { aggregate, type ReportInput } from '../../../shared/report/aggregate';
import { renderHtml } from '../../../shared/report/html';
import { renderMarkdown } from '../../../shared/report/markdown';
import { anIncident } from '../../support/incident';

const SINCE = new Date('2026-11-02T00:00:00.000Z');
const UNTIL = new Date('2026-11-20T12:00:00.000Z');
const ERIN = 'arn:aws:iam::111122223333:user/oncall-erin';
const STARTED = '2026-11-10T09:00:00.000Z';
const ORDER: LockdownRecord = {
  by: ERIN,
  reason: 'INC-9 suspected key leak',
  runId: 'run-1',
  startedAt: STARTED,
  pathsToClose: 3,
  pathsExempt: 1,
};

const at = (iso: string, plusMs: number) => new Date(Date.parse(iso) + plusMs).toISOString();

/** An incident a lockdown opened: no CloudTrail caller, trigger command-line, the order it holds. */
function aLockdownIncident(
  incidentId: string,
  plusMs: number,
  lockdown: LockdownRecord,
  overrides: Partial<Incident> = {},
): Incident {
  const detectedAt = at(STARTED, plusMs);
  const steps: Step[] = [
    { action: 'RevokeSecurityGroupIngress', at: at(detectedAt, 100), result: 'succeeded' },
    { action: 'Verify', at: at(detectedAt, 200), result: 'succeeded' },
  ];
  return anIncident({
    incidentId,
    ruleId: 'ssh-open-to-world',
    hipaa: ['164.312(e)(1)'],
    resourceType: 'AWS::EC2::SecurityGroup',
    resourceId: `sg-${incidentId}`,
    detectedAt,
    updatedAt: at(detectedAt, 300),
    trigger: { source: 'command-line', eventId: `${lockdown.runId}#us-east-1#sg`, eventName: 'ssh lockdown' },
    actor: undefined,
    status: 'remediated',
    steps,
    transitions: [
      { to: 'remediating', at: detectedAt, by: ERIN },
      { from: 'remediating', to: 'remediated', at: at(detectedAt, 250), by: ERIN },
    ],
    lockdown,
    ...overrides,
  });
}

function input(overrides: Partial<ReportInput>): ReportInput {
  return {
    incidents: [],
    grants: [],
    exemptions: [],
    since: SINCE,
    until: UNTIL,
    grantCitations: ['164.312(a)(1)'],
    source: 'table incidents in us-east-1',
    ...overrides,
  };
}

describe("ssh lockdown in the auditor's report", () => {
  const closed = aLockdownIncident('inc-a', 1_000, ORDER);
  const failed = aLockdownIncident('inc-b', 2_000, ORDER, {
    status: 'failed',
    statusReason: 'the revoke was refused',
    steps: [
      { action: 'RevokeSecurityGroupIngress', at: at(STARTED, 2_100), result: 'failed', error: 'denied' },
    ],
    transitions: [
      { to: 'remediating', at: at(STARTED, 2_000), by: ERIN },
      { from: 'remediating', to: 'failed', at: at(STARTED, 2_200), by: ERIN },
    ],
  });
  // Undone after the end of the period: remediated then.
  const undoneLater = aLockdownIncident('inc-c', 3_000, ORDER, {
    status: 'undone',
    updatedAt: '2026-12-01T00:00:00.000Z',
    transitions: [
      { to: 'remediating', at: at(STARTED, 3_000), by: ERIN },
      { from: 'remediating', to: 'remediated', at: at(STARTED, 3_250), by: ERIN },
      { from: 'remediated', to: 'undone', at: '2026-12-01T00:00:00.000Z', by: ERIN, reason: 'false alarm' },
    ],
  });
  const emergency: LockdownRecord = {
    ...ORDER,
    runId: 'run-2',
    startedAt: '2026-11-12T09:00:00.000Z',
    emergency: true,
    pathsToClose: 1,
    pathsExempt: 0,
    exemptionOverridden: {
      exemptionId: 'exm-7',
      until: '2026-12-01T00:00:00.000Z',
      setBy: ERIN,
      reason: 'CHG-7 vendor access',
      setAt: '2026-11-01T00:00:00.000Z',
    },
  };
  const past = aLockdownIncident('inc-d', 0, emergency, { detectedAt: '2026-11-12T09:00:01.000Z' });
  const byCheck = anIncident({
    incidentId: 'inc-check',
    detectedAt: '2026-11-11T00:00:00.000Z',
    updatedAt: '2026-11-11T00:00:00.000Z',
    status: 'open',
    actor: undefined,
  });

  it('lists each lockdown: who ordered it, when, why, how many paths and their outcome at the end of the period', () => {
    // Act
    const report = aggregate(input({ incidents: [past, undoneLater, byCheck, failed, closed] }));
    // Assess
    expect(report.lockdowns).toEqual([
      {
        runId: 'run-1',
        startedAt: STARTED,
        by: ERIN,
        reason: 'INC-9 suspected key leak',
        emergency: false,
        pathsToClose: 3,
        pathsExempt: 1,
        incidentIds: ['inc-a', 'inc-b', 'inc-c'],
        byStatus: { remediated: 2, failed: 1 },
        withoutIncident: 0,
        exemptionsOverridden: [],
      },
      {
        runId: 'run-2',
        startedAt: '2026-11-12T09:00:00.000Z',
        by: ERIN,
        reason: 'INC-9 suspected key leak',
        emergency: true,
        pathsToClose: 1,
        pathsExempt: 0,
        incidentIds: ['inc-d'],
        byStatus: { remediated: 1 },
        withoutIncident: 0,
        exemptionsOverridden: ['exm-7'],
      },
    ]);
  });

  it('counts a path that opened no incident, and says nothing of counts an older lockdown did not record', () => {
    // Prepare: one of three paths opened no incident (another incident was remediating it)
    const { pathsToClose: _paths, pathsExempt: _exempt, ...older } = ORDER;
    const olderIncident = aLockdownIncident('inc-old', 0, { ...older, runId: 'run-old' });
    // Act
    const report = aggregate(input({ incidents: [closed, failed, olderIncident] }));
    // Assess
    expect(report.lockdowns.map((line) => [line.runId, line.pathsToClose, line.withoutIncident])).toEqual([
      ['run-1', 3, 1],
      ['run-old', null, null],
    ]);
  });

  it("names who ordered the lockdown in each incident's caused by and what was done", () => {
    // Act
    const report = aggregate(input({ incidents: [closed, past, byCheck] }));
    // Assess
    const line = (id: string) => report.incidents.find((incident) => incident.incidentId === id);
    expect(line('inc-a')).toMatchObject({
      causedBy: `unknown (found by ssh lockdown, which ${ERIN} ordered; not a CloudTrail event)`,
      done: `ordered by ${ERIN} at ${STARTED} with ssh lockdown (run run-1), reason: INC-9 suspected key leak: RevokeSecurityGroupIngress, Verify`,
      lockdownRunId: 'run-1',
    });
    expect(line('inc-d')?.done).toBe(
      `ordered by ${ERIN} at 2026-11-12T09:00:00.000Z with ssh lockdown (run run-2; --emergency: past the blast-radius guard; --ignore-exemptions: overrode exemption exm-7), reason: INC-9 suspected key leak: RevokeSecurityGroupIngress, Verify`,
    );
    // A check's incident keeps its wording
    expect(line('inc-check')).toMatchObject({
      causedBy: 'unknown (found by a check, not a CloudTrail event)',
      lockdownRunId: null,
    });
  });

  it('counts lockdown incidents in the totals like any other: found is the sum of the status columns', () => {
    // Act
    const report = aggregate(input({ incidents: [closed, failed, undoneLater, past, byCheck] }));
    // Assess
    const sum = (byStatus: Record<string, number>) => Object.values(byStatus).reduce((a, b) => a + b, 0);
    expect(report.totals.found).toBe(5);
    expect(report.totals.byStatus).toMatchObject({ remediated: 3, failed: 1, open: 1, undone: 0 });
    for (const row of [report.totals, ...report.safeguards]) expect(sum(row.byStatus)).toBe(row.found);
    const inLockdowns = report.lockdowns.flatMap((lockdown) => Object.values(lockdown.byStatus));
    expect(inLockdowns.reduce((a, b) => a + b, 0)).toBe(4);
  });

  it('shows the lockdowns in both renderings, and says when there was none', () => {
    // Prepare
    const report = aggregate(input({ incidents: [closed, failed, past] }));
    const none = aggregate(input({ incidents: [byCheck] }));
    // Act
    const markdown = renderMarkdown(report);
    const html = renderHtml(report, 'window.Chart = function () {};');
    // Assess
    const section = (markdown.split('## SSH lockdowns in the period (2)\n')[1] ?? '').split('\n## ')[0];
    expect(section).toContain(
      `| ${STARTED} | ${ERIN} | INC-9 suspected key leak | – | 3 to close (1 with no incident in the period: another incident was remediating the path, or its incident falls outside the period); 1 left alone (exempt) | remediated: 1, failed: 1 | inc-a, inc-b |`,
    );
    expect(section).toContain(
      '--emergency: the blast-radius guard (counted, not refused); --ignore-exemptions: exemption(s) exm-7 | 1 to close | remediated: 1 | inc-d |',
    );
    expect(html).toContain('<h2>SSH lockdowns in the period (2)</h2>');
    expect(html).toContain(`<td>${ERIN}</td><td>INC-9 suspected key leak</td>`);
    expect(renderMarkdown(none)).toContain(
      '## SSH lockdowns in the period (0)\n\nNo SSH lockdown opened an incident in the period.',
    );
    expect(renderHtml(none, '')).toContain('<p>No SSH lockdown opened an incident in the period.</p>');
  });
});
