import type { Incident, StatusTransition, Step } from '../../../shared/model';
import { IncidentStatus } from '../../../shared/pipeline/lifecycle';
import {
  aggregate,
  type CitedExemption,
  exemptionInForce,
  median,
  type ReportInput,
  statusAt,
} from '../../../shared/report/aggregate';
import { anIncident } from '../../support/incident';
import { aGrant } from '../../support/ssh';

const SINCE = new Date('2026-11-02T00:00:00.000Z'); // a Monday
const UNTIL = new Date('2026-11-20T12:00:00.000Z');
const ENCRYPTION = '164.312(a)(2)(iv)';
const TRANSMISSION = '164.312(e)(2)(ii)';
const ACCESS = '164.312(a)(1)';

const at = (iso: string, plusMs: number) => new Date(Date.parse(iso) + plusMs).toISOString();

/** A remediated incident verified `ttrMs` after detection; its updatedAt is later still (the alert). */
function remediated(
  id: string,
  detectedAt: string,
  ttrMs: number,
  overrides: Partial<Incident> = {},
): Incident {
  const steps: Step[] = [
    { action: 'EnableEbsEncryptionByDefault', at: at(detectedAt, ttrMs / 2), result: 'succeeded' },
    { action: 'Verify', at: at(detectedAt, ttrMs), result: 'succeeded' },
  ];
  return anIncident({
    incidentId: id,
    detectedAt,
    updatedAt: at(detectedAt, ttrMs + 5_000),
    status: 'remediated',
    steps,
    ...overrides,
  });
}

/** A ledger exemption of ebs-encryption-by-default, set during the period and ending after it. */
function anExemption(exemptionId: string, overrides: Partial<CitedExemption> = {}): CitedExemption {
  return {
    exemptionId,
    ruleId: 'ebs-encryption-by-default',
    hipaa: [ENCRYPTION],
    resourceArn: 'arn:aws:ec2:us-east-1:111122223333:ebs-encryption-by-default',
    reason: 'CHG-9 vendor appliance',
    until: '2026-12-31T00:00:00.000Z',
    setBy: 'arn:aws:iam::111122223333:user/oncall-bob',
    setAt: '2026-11-09T00:00:00.000Z',
    ...overrides,
  };
}

function input(overrides: Partial<ReportInput>): ReportInput {
  return {
    incidents: [],
    grants: [],
    exemptions: [],
    since: SINCE,
    until: UNTIL,
    grantCitations: [ACCESS],
    source: 'table incidents in us-east-1',
    ...overrides,
  };
}

describe('median', () => {
  it.each([
    [[], null],
    [[7], 7],
    [[9, 1, 5], 5],
    [[4, 1, 3, 2], 2.5],
  ])('of %p is %p', (values, expected) => {
    // Act / Assess
    expect(median(values)).toBe(expected);
  });
});

describe('aggregate', () => {
  it('gives the median and the worst time to remediate, detection to the successful Verify step', async () => {
    // Prepare: three remediated incidents (1 min, 10 min, 4 min) and one still open
    const incidents = [
      remediated('inc-a', '2026-11-03T10:00:00.000Z', 60_000),
      remediated('inc-b', '2026-11-04T10:00:00.000Z', 600_000),
      remediated('inc-c', '2026-11-05T10:00:00.000Z', 240_000),
      anIncident({ incidentId: 'inc-d', detectedAt: '2026-11-05T11:00:00.000Z', status: 'open', steps: [] }),
    ];
    // Act
    const report = aggregate(input({ incidents }));
    // Assess: updatedAt (5 s after the Verify step) is not the end; the open incident has no time
    expect(report.totals.timeToRemediate).toEqual({
      count: 3,
      medianMs: 240_000,
      worstMs: 600_000,
      worstIncidentId: 'inc-b',
    });
    expect(report.incidents.map((line) => line.timeToRemediateMs)).toEqual([60_000, 600_000, 240_000, null]);
  });

  it('takes the mean of the two middle times for an even count', () => {
    // Prepare
    const incidents = [
      remediated('inc-a', '2026-11-03T10:00:00.000Z', 2_000),
      remediated('inc-b', '2026-11-03T11:00:00.000Z', 4_000),
    ];
    // Act
    const report = aggregate(input({ incidents }));
    // Assess
    expect(report.totals.timeToRemediate.medianMs).toBe(3_000);
  });

  it('counts an incident with two citations under each safeguard, and once in the totals', () => {
    // Prepare
    const incidents = [
      remediated('inc-volume', '2026-11-03T10:00:00.000Z', 30_000, { hipaa: [ENCRYPTION, TRANSMISSION] }),
      remediated('inc-default', '2026-11-03T11:00:00.000Z', 90_000, { hipaa: [ENCRYPTION] }),
    ];
    // Act
    const report = aggregate(input({ incidents }));
    // Assess
    const row = (citation: string) => report.safeguards.find((safeguard) => safeguard.citation === citation);
    expect(row(ENCRYPTION)).toMatchObject({
      found: 2,
      byStatus: { remediated: 2 },
      name: 'Encryption and decryption',
      timeToRemediate: { count: 2, medianMs: 60_000, worstMs: 90_000 },
    });
    expect(row(TRANSMISSION)).toMatchObject({
      found: 1,
      byStatus: { remediated: 1 },
      timeToRemediate: { medianMs: 30_000, worstMs: 30_000, worstIncidentId: 'inc-volume' },
    });
    expect(report.totals).toMatchObject({ found: 2, byStatus: { remediated: 2 } });
    expect(report.multiCitationIncidents).toBe(1);
  });

  it('sorts each status into its own column', () => {
    // Prepare: an exempted incident whose exemption is not in the ledger
    const incidents = [
      anIncident({ incidentId: 'inc-open', status: 'open', steps: [] }),
      anIncident({ incidentId: 'inc-running', status: 'remediating' }),
      anIncident({ incidentId: 'inc-failed', status: 'failed' }),
      anIncident({ incidentId: 'inc-resolved', status: 'resolved' }),
      anIncident({
        incidentId: 'inc-exempt',
        status: 'exempted',
        statusReason: 'exempt until 2026-12-31T00:00:00.000Z',
      }),
    ].map((incident) => ({ ...incident, detectedAt: '2026-11-10T09:00:00.000Z' }));
    // Act
    const report = aggregate(input({ incidents }));
    // Assess: exemptions come from the ledger alone, not from the incident's status or statusReason
    expect(report.totals).toMatchObject({
      found: 5,
      byStatus: { open: 1, remediating: 1, remediated: 0, resolved: 1, failed: 1, exempted: 1 },
      exemptionsInForce: 0,
      timeToRemediate: { count: 0, medianMs: null, worstMs: null, worstIncidentId: null },
    });
    expect(report.incidents.find((line) => line.incidentId === 'inc-exempt')?.exemptUntil).toBeNull();
  });

  it('counts ledger exemptions in force at the end of the period, under each citation of their rule', () => {
    // Prepare
    const exemptions = [
      anExemption('exm-in-force', { until: '2026-12-15T00:00:00.000Z' }),
      anExemption('exm-volume', {
        ruleId: 'ebs-volume-encrypted',
        hipaa: [ENCRYPTION, TRANSMISSION],
        resourceArn: 'arn:aws:ec2:us-east-1:111122223333:volume/vol-0abc',
      }),
      // Set before the period: the figure is the state at its end, so it counts
      anExemption('exm-old', {
        ruleId: 'ssh-open-to-world',
        hipaa: [ACCESS],
        setAt: '2026-10-01T00:00:00.000Z',
      }),
      // Removed after the end: it was still in force then
      anExemption('exm-removed-later', { hipaa: [ACCESS], removedAt: '2026-11-25T00:00:00.000Z' }),
      anExemption('exm-removed-early', { removedAt: '2026-11-15T00:00:00.000Z' }),
      anExemption('exm-ended', { until: '2026-11-19T00:00:00.000Z' }),
      anExemption('exm-set-after', { setAt: '2026-11-21T00:00:00.000Z' }),
    ];
    // Act
    const report = aggregate(input({ exemptions }));
    // Assess
    const inForce = (citation: string) =>
      report.safeguards.find((row) => row.citation === citation)?.exemptionsInForce;
    expect(report.totals.exemptionsInForce).toBe(4);
    expect(inForce(ENCRYPTION)).toBe(2);
    expect(inForce(TRANSMISSION)).toBe(1);
    expect(inForce(ACCESS)).toBe(2);
    expect(report.exemptions.map((line) => line.exemptionId)).toEqual([
      'exm-in-force',
      'exm-old',
      'exm-removed-later',
      'exm-volume',
    ]);
    expect(report.exemptions[0]).toEqual({
      exemptionId: 'exm-in-force',
      ruleId: 'ebs-encryption-by-default',
      hipaa: [ENCRYPTION],
      resourceArn: 'arn:aws:ec2:us-east-1:111122223333:ebs-encryption-by-default',
      setBy: 'arn:aws:iam::111122223333:user/oncall-bob',
      setAt: '2026-11-09T00:00:00.000Z',
      until: '2026-12-15T00:00:00.000Z',
      reason: 'CHG-9 vendor appliance',
    });
  });

  it("takes an exempted incident's end from the ledger entry in force, and none once it was removed", () => {
    // Prepare: both incidents carry their exemption's copy, which never learns of a removal
    const exempted = (incidentId: string, exemptionId: string) =>
      anIncident({
        incidentId,
        detectedAt: '2026-11-10T09:00:00.000Z',
        status: 'exempted',
        exemption: {
          exemptionId,
          reason: 'CHG-9',
          until: '2026-12-31T00:00:00.000Z',
          setBy: 'arn:aws:iam::111122223333:user/oncall-bob',
          setAt: '2026-11-09T00:00:00.000Z',
        },
      });
    const incidents = [exempted('inc-kept', 'exm-kept'), exempted('inc-lifted', 'exm-lifted')];
    const exemptions = [
      anExemption('exm-kept', { until: '2026-12-24T00:00:00.000Z' }),
      anExemption('exm-lifted', { removedAt: '2026-11-12T00:00:00.000Z' }),
    ];
    // Act
    const report = aggregate(input({ incidents, exemptions }));
    // Assess
    expect(report.incidents.map((line) => [line.incidentId, line.exemptUntil])).toEqual([
      ['inc-kept', '2026-12-24T00:00:00.000Z'],
      ['inc-lifted', null],
    ]);
    expect(report.totals.exemptionsInForce).toBe(1);
  });

  it('keeps only incidents detected and grants issued within the period', () => {
    // Prepare
    const incidents = [
      remediated('inc-before', '2026-11-01T23:59:59.999Z', 1_000),
      remediated('inc-first', SINCE.toISOString(), 1_000),
      remediated('inc-last', at(UNTIL.toISOString(), -1), 1_000),
      // The end is excluded: it starts the next period
      remediated('inc-at-end', UNTIL.toISOString(), 1_000),
    ];
    const grant = aGrant({ userName: 'dev-alice' }, 3_600_000);
    const grants = [
      { ...grant, grantId: 'sshg-before', createdAt: '2026-10-30T08:00:00.000Z' },
      { ...grant, grantId: 'sshg-within', createdAt: '2026-11-12T08:00:00.000Z' },
    ];
    // Act
    const report = aggregate(input({ incidents, grants }));
    // Assess
    expect(report.incidents.map((line) => line.incidentId)).toEqual(['inc-first', 'inc-last']);
    expect(report.grants.map((line) => line.grantId)).toEqual(['sshg-within']);
    expect(report.totals.grantsIssued).toBe(1);
    expect(report.safeguards.find((row) => row.citation === ACCESS)?.grantsIssued).toBe(1);
    expect(report.safeguards.find((row) => row.citation === ENCRYPTION)?.grantsIssued).toBe(0);
  });

  it('counts each incident in exactly one of two consecutive periods', () => {
    // Prepare: one detected exactly where the first period ends and the second starts
    const incidents = [remediated('inc-boundary', UNTIL.toISOString(), 1_000)];
    const next = new Date(UNTIL.getTime() + 7 * 24 * 3600 * 1000);
    // Act
    const first = aggregate(input({ incidents }));
    const second = aggregate(input({ incidents, since: UNTIL, until: next }));
    // Assess
    expect([first.totals.found, second.totals.found]).toEqual([0, 1]);
  });

  it('reports an empty period as zeros, with every known safeguard and every week still listed', () => {
    // Prepare
    const citations = [TRANSMISSION, ENCRYPTION, '164.308(a)(1)(ii)(D)', ENCRYPTION];
    // Act
    const report = aggregate(input({ citations }));
    // Assess: safeguards in the regulation's order, once each; weeks from the Monday of `since`
    expect(report.safeguards.map((row) => row.citation)).toEqual([
      '164.308(a)(1)(ii)(D)',
      ACCESS,
      ENCRYPTION,
      TRANSMISSION,
    ]);
    for (const row of report.safeguards) {
      expect(row).toMatchObject({
        found: 0,
        byStatus: { remediated: 0, open: 0, failed: 0 },
        exemptionsInForce: 0,
      });
      expect(row.timeToRemediate).toEqual({ count: 0, medianMs: null, worstMs: null, worstIncidentId: null });
    }
    expect(report.weeks.map((week) => [week.start, week.total])).toEqual([
      ['2026-11-02T00:00:00.000Z', 0],
      ['2026-11-09T00:00:00.000Z', 0],
      ['2026-11-16T00:00:00.000Z', 0],
    ]);
    expect(report.incidents).toEqual([]);
    expect(report.grants).toEqual([]);
  });

  it('counts incidents per week (Monday 00:00 UTC) and per safeguard', () => {
    // Prepare: Sunday night and Monday morning fall in different weeks
    const incidents = [
      remediated('inc-sun', '2026-11-08T23:59:00.000Z', 1_000, { hipaa: [ENCRYPTION, TRANSMISSION] }),
      remediated('inc-mon', '2026-11-09T00:00:00.000Z', 1_000),
      anIncident({ incidentId: 'inc-ssh', detectedAt: '2026-11-10T00:00:00.000Z', hipaa: [ACCESS] }),
    ];
    // Act
    const report = aggregate(input({ incidents, since: new Date('2026-11-05T00:00:00.000Z') }));
    // Assess
    expect(report.weeks).toEqual([
      {
        start: '2026-11-02T00:00:00.000Z',
        total: 1,
        bySafeguard: { [ACCESS]: 0, [ENCRYPTION]: 1, [TRANSMISSION]: 1 },
      },
      {
        start: '2026-11-09T00:00:00.000Z',
        total: 2,
        bySafeguard: { [ACCESS]: 1, [ENCRYPTION]: 1, [TRANSMISSION]: 0 },
      },
      {
        start: '2026-11-16T00:00:00.000Z',
        total: 0,
        bySafeguard: { [ACCESS]: 0, [ENCRYPTION]: 0, [TRANSMISSION]: 0 },
      },
    ]);
  });
});

describe('exemptionInForce', () => {
  const end = new Date('2026-11-20T00:00:00.000Z');

  it.each([
    ['set before, ends after', {}, true],
    ['set exactly at the end', { setAt: '2026-11-20T00:00:00.000Z' }, true],
    ['set after the end', { setAt: '2026-11-20T00:00:00.001Z' }, false],
    ['ends exactly at the end', { until: '2026-11-20T00:00:00.000Z' }, false],
    ['ended before', { until: '2026-11-19T00:00:00.000Z' }, false],
    ['removed before the end', { removedAt: '2026-11-19T00:00:00.000Z' }, false],
    ['removed exactly at the end', { removedAt: '2026-11-20T00:00:00.000Z' }, false],
    ['removed after the end', { removedAt: '2026-11-21T00:00:00.000Z' }, true],
  ] as const)('%s: %p', (_name, overrides, expected) => {
    // Act / Assess
    expect(exemptionInForce(anExemption('exm-1', overrides), end)).toBe(expected);
  });
});

describe('totals that reconcile', () => {
  it('has one column per status of the lifecycle, and found is their sum in every row', () => {
    // Prepare: one incident in each status the lifecycle defines, plus a second open one
    const statuses = Object.values(IncidentStatus);
    const incidents = [...statuses, IncidentStatus.Open].map((status, index) =>
      anIncident({
        incidentId: `inc-${index}`,
        detectedAt: at('2026-11-10T09:00:00.000Z', index * 60_000),
        updatedAt: at('2026-11-10T09:00:00.000Z', index * 60_000),
        status,
        hipaa: index % 2 === 0 ? [ENCRYPTION, TRANSMISSION] : [ACCESS],
      }),
    );
    // Act
    const report = aggregate(input({ incidents }));
    // Assess
    const sum = (byStatus: Record<string, number>) => Object.values(byStatus).reduce((a, b) => a + b, 0);
    expect(Object.keys(report.totals.byStatus)).toEqual(statuses);
    expect(report.totals.found).toBe(statuses.length + 1);
    expect(report.totals.byStatus.open).toBe(2);
    for (const row of [report.totals, ...report.safeguards]) {
      expect(Object.keys(row.byStatus)).toEqual(statuses);
      expect(sum(row.byStatus)).toBe(row.found);
    }
  });
});

describe('the status at the end of the period', () => {
  const transition = (
    from: IncidentStatus | undefined,
    to: IncidentStatus,
    when: string,
  ): StatusTransition => ({
    ...(from ? { from } : {}),
    to,
    at: when,
    by: 'function compliance-responder-dev-ebs-encryption-by-default',
  });
  const DETECTED = '2026-11-10T09:00:00.000Z';
  const history = [
    transition(undefined, 'open', DETECTED),
    transition('open', 'remediating', at(DETECTED, 1_000)),
    transition('remediating', 'failed', at(DETECTED, 60_000)),
  ];
  /** The same incident before and after a person undid it today, long after the period's end. */
  const before = anIncident({
    incidentId: 'inc-q',
    detectedAt: DETECTED,
    updatedAt: at(DETECTED, 60_000),
    status: 'failed',
    transitions: history,
  });
  const after = anIncident({
    ...before,
    updatedAt: '2027-01-15T10:00:00.000Z',
    status: 'undone',
    transitions: [
      ...history,
      {
        ...transition('failed', 'undone', '2027-01-15T10:00:00.000Z'),
        by: 'arn:aws:iam::111122223333:user/oncall-bob',
      },
    ],
    undo: {
      by: 'arn:aws:iam::111122223333:user/oncall-bob',
      reason: 'CHG-12',
      startedAt: '2027-01-15T10:00:00.000Z',
      finishedAt: '2027-01-15T10:00:00.000Z',
      result: 'succeeded',
      exemptForMinutes: 60,
      calls: [],
    },
  });

  it('comes from the recorded history, so a later change does not alter a past report', () => {
    // Act
    const then = aggregate(input({ incidents: [before] }));
    const now = aggregate(input({ incidents: [after] }));
    // Assess
    expect(now.incidents[0]).toMatchObject({ status: 'failed', statusKnown: true });
    expect(now.totals).toEqual(then.totals);
    expect(now.safeguards).toEqual(then.safeguards);
  });

  it('is the status of the last change at or before the end', () => {
    // Assess
    expect(statusAt(after, new Date(at(DETECTED, 500)))).toEqual({ status: 'open', known: true });
    expect(statusAt(after, new Date(at(DETECTED, 1_000)))).toEqual({ status: 'remediating', known: true });
    expect(statusAt(after, new Date('2027-01-15T10:00:00.000Z'))).toEqual({ status: 'undone', known: true });
  });

  it("is today's status for an incident recorded before the history that has not changed since the end", () => {
    // Prepare: no transitions; its last write was before the end of the period
    const legacy = anIncident({ detectedAt: DETECTED, updatedAt: at(DETECTED, 5_000), status: 'remediated' });
    // Act / Assess
    expect(statusAt(legacy, UNTIL)).toEqual({ status: 'remediated', known: true });
  });

  it("is today's status, marked not known, for an incident recorded before the history and changed after the end", () => {
    // Prepare
    const legacy = anIncident({
      detectedAt: DETECTED,
      updatedAt: '2027-01-15T10:00:00.000Z',
      status: 'resolved',
    });
    // Act
    const report = aggregate(input({ incidents: [legacy] }));
    // Assess
    expect(statusAt(legacy, UNTIL)).toEqual({ status: 'resolved', known: false });
    expect(report.incidents[0]).toMatchObject({ status: 'resolved', statusKnown: false });
    expect(report.statusesNotKnown).toBe(1);
  });

  it('is the status the history started from, marked not known, when a legacy incident first moved after the end', () => {
    // Prepare: recorded before the history; undone today, which started its history
    const legacy = anIncident({
      detectedAt: DETECTED,
      updatedAt: '2027-01-15T10:00:00.000Z',
      status: 'undone',
      transitions: [transition('remediated', 'undone', '2027-01-15T10:00:00.000Z')],
    });
    // Act / Assess
    expect(statusAt(legacy, UNTIL)).toEqual({ status: 'remediated', known: false });
    expect(statusAt(legacy, new Date('2027-01-16T00:00:00.000Z'))).toEqual({ status: 'undone', known: true });
  });

  it('is not known after the history filled up', () => {
    // Prepare
    const full = anIncident({
      ...before,
      status: 'resolved',
      updatedAt: '2026-11-15T00:00:00.000Z',
      transitionsTruncatedAt: '2026-11-15T00:00:00.000Z',
    });
    // Act / Assess
    expect(statusAt(full, new Date('2026-11-12T00:00:00.000Z'))).toEqual({ status: 'failed', known: true });
    expect(statusAt(full, new Date('2026-11-16T00:00:00.000Z'))).toEqual({ status: 'resolved', known: true });
    expect(statusAt(full, new Date('2026-11-14T00:00:00.000Z'))).toEqual({ status: 'failed', known: true });
    expect(
      statusAt({ ...full, updatedAt: '2026-11-20T00:00:00.000Z' }, new Date('2026-11-16T00:00:00.000Z')),
    ).toEqual({
      status: 'resolved',
      known: false,
    });
  });

  it('counts time to remediate only for incidents remediated by the end', () => {
    // Prepare: verified after the end of the period
    const late = remediated('inc-late', at(UNTIL.toISOString(), -60_000), 120_000, {
      transitions: [
        transition(undefined, 'open', at(UNTIL.toISOString(), -60_000)),
        transition('open', 'remediating', at(UNTIL.toISOString(), -59_000)),
        transition('remediating', 'remediated', at(UNTIL.toISOString(), 60_000)),
      ],
    });
    // Act
    const report = aggregate(input({ incidents: [late] }));
    // Assess
    expect(report.incidents[0]).toMatchObject({ status: 'remediating', timeToRemediateMs: null });
    expect(report.totals.timeToRemediate.count).toBe(0);
  });
});

describe('what an auditor signs: per incident, the period and who made the report', () => {
  const DETECTED = '2026-11-10T09:00:00.000Z';
  const BOB = 'arn:aws:iam::111122223333:user/oncall-bob';

  it('gives each incident who caused it, its mode, what was done, its exposure window, its undo and runbook', () => {
    // Prepare: remediated in the period, undone after it; and one left open by notify mode
    const fixed = anIncident({
      incidentId: 'inc-fixed',
      detectedAt: DETECTED,
      updatedAt: '2026-12-01T00:00:00.000Z',
      status: 'undone',
      steps: [
        { action: 'EnableEbsEncryptionByDefault', at: at(DETECTED, 1_000), result: 'succeeded' },
        { action: 'Verify', at: at(DETECTED, 2_000), result: 'succeeded' },
      ],
      transitions: [
        { to: 'open', at: DETECTED, by: 'function x-ebs-encryption-by-default' },
        {
          from: 'open',
          to: 'remediating',
          at: at(DETECTED, 500),
          by: 'function x-ebs-encryption-by-default',
        },
        {
          from: 'remediating',
          to: 'remediated',
          at: at(DETECTED, 3_000),
          by: 'function x-ebs-encryption-by-default',
        },
        { from: 'remediated', to: 'undone', at: '2026-12-01T00:00:00.000Z', by: BOB, reason: 'CHG-12' },
      ],
      undo: {
        by: BOB,
        reason: 'CHG-12',
        startedAt: '2026-12-01T00:00:00.000Z',
        result: 'succeeded',
        exemptForMinutes: 60,
        calls: [],
      },
    });
    const left = anIncident({
      incidentId: 'inc-left',
      detectedAt: at(DETECTED, 60_000),
      updatedAt: at(DETECTED, 61_000),
      status: 'open',
      mode: 'notify',
      steps: [],
      actor: undefined,
    });
    // Act
    const report = aggregate(input({ incidents: [fixed, left] }));
    const later = aggregate(input({ incidents: [fixed], until: new Date('2026-12-02T00:00:00.000Z') }));
    // Assess
    expect(report.incidents[0]).toMatchObject({
      incidentId: 'inc-fixed',
      status: 'remediated',
      causedBy: 'arn:aws:iam::111122223333:user/dev-alice from 198.51.100.23',
      mode: 'enforce',
      done: 'EnableEbsEncryptionByDefault, Verify',
      closedAt: at(DETECTED, 3_000),
      exposureMs: 3_000,
      undo: null,
      runbook: 'docs/runbooks/ebs-encryption-by-default.md',
    });
    expect(report.incidents[1]).toMatchObject({
      causedBy: 'unknown (found by a check, not a CloudTrail event)',
      done: 'nothing changed',
      closedAt: null,
      exposureMs: null,
    });
    expect(later.incidents[0]).toMatchObject({
      status: 'undone',
      closedAt: null,
      undo: { by: BOB, at: '2026-12-01T00:00:00.000Z', reason: 'CHG-12' },
    });
  });

  it('lists every exemption in force at any time in the period, with its removal', () => {
    // Prepare
    const exemptions = [
      anExemption('exm-before', { setAt: '2026-10-01T00:00:00.000Z', until: '2026-11-01T00:00:00.000Z' }),
      anExemption('exm-lifted', {
        removedAt: '2026-11-12T00:00:00.000Z',
        removedBy: BOB,
        removeReason: 'fixed',
      }),
      anExemption('exm-ended', { setAt: '2026-10-20T00:00:00.000Z', until: '2026-11-05T00:00:00.000Z' }),
      anExemption('exm-kept'),
      anExemption('exm-after', { setAt: '2026-11-21T00:00:00.000Z' }),
    ];
    // Act
    const report = aggregate(input({ exemptions }));
    // Assess
    expect(report.exemptionsActive.map((line) => line.exemptionId)).toEqual([
      'exm-ended',
      'exm-kept',
      'exm-lifted',
    ]);
    expect(report.exemptionsActive[2]).toMatchObject({
      removedAt: '2026-11-12T00:00:00.000Z',
      removedBy: BOB,
    });
    expect(report.totals.exemptionsInForce).toBe(1);
  });

  it('gives each rule the modes its incidents recorded in the period, and says which rules recorded none', () => {
    // Prepare
    const incidents = [
      anIncident({ incidentId: 'inc-1', detectedAt: DETECTED, updatedAt: DETECTED, mode: 'enforce' }),
      anIncident({ incidentId: 'inc-2', detectedAt: at(DETECTED, 1), updatedAt: DETECTED, mode: 'notify' }),
      anIncident({ incidentId: 'inc-3', detectedAt: at(DETECTED, 2), updatedAt: DETECTED, mode: 'notify' }),
    ];
    // Act
    const report = aggregate(
      input({ incidents, ruleIds: ['ebs-encryption-by-default', 'ssh-open-to-world'] }),
    );
    // Assess: no deployment history read, so no mode in force is claimed
    expect(report.modes).toEqual([
      {
        ruleId: 'ebs-encryption-by-default',
        spans: [{ mode: 'not recorded', from: SINCE.toISOString(), to: UNTIL.toISOString() }],
        incidents: { enforce: 1, notify: 2 },
      },
      {
        ruleId: 'ssh-open-to-world',
        spans: [{ mode: 'not recorded', from: SINCE.toISOString(), to: UNTIL.toISOString() }],
        incidents: {},
      },
    ]);
    expect(report.deployment).toMatchObject({ history: 'none', recordedFrom: null });
  });

  describe('the modes in force, from the deployment history the heartbeat recorded', () => {
    const facts = (modes: Record<string, 'off' | 'notify' | 'enforce'>, regions = ['us-east-1']) => ({
      account: '111122223333',
      homeRegion: 'us-east-1',
      regions,
      stage: 'prod',
      modes,
    });
    const BEFORE = '2026-10-01T00:00:00.000Z';
    const MIDDLE = '2026-11-10T12:00:00.000Z';

    it('shows each mode with its times across a change in the middle, for a rule with no incident too', () => {
      // Prepare: ssh-open-to-world went from enforce to notify in the middle; ebs-… never changed
      const deployment = {
        state: 'recorded' as const,
        revision: 3,
        transitions: [
          {
            at: BEFORE,
            ...facts({ 'ebs-encryption-by-default': 'enforce', 'ssh-open-to-world': 'enforce' }),
          },
          // A change of regions alone: no new span for either rule's mode
          {
            at: '2026-11-05T00:00:00.000Z',
            ...facts({ 'ebs-encryption-by-default': 'enforce', 'ssh-open-to-world': 'enforce' }, [
              'eu-west-1',
              'us-east-1',
            ]),
          },
          {
            at: MIDDLE,
            ...facts({ 'ebs-encryption-by-default': 'enforce', 'ssh-open-to-world': 'notify' }, [
              'eu-west-1',
              'us-east-1',
            ]),
          },
          // After the period: not shown
          { at: '2026-12-01T00:00:00.000Z', ...facts({ 'ebs-encryption-by-default': 'off' }) },
        ],
      };
      const incidents = [
        anIncident({ incidentId: 'inc-1', detectedAt: DETECTED, updatedAt: DETECTED, mode: 'enforce' }),
      ];
      // Act
      const report = aggregate(
        input({ incidents, deployment, ruleIds: ['ebs-encryption-by-default', 'ssh-open-to-world'] }),
      );
      // Assess
      expect(report.modes).toEqual([
        {
          ruleId: 'ebs-encryption-by-default',
          spans: [{ mode: 'enforce', from: SINCE.toISOString(), to: UNTIL.toISOString() }],
          incidents: { enforce: 1 },
        },
        {
          ruleId: 'ssh-open-to-world',
          spans: [
            { mode: 'enforce', from: SINCE.toISOString(), to: MIDDLE },
            { mode: 'notify', from: MIDDLE, to: UNTIL.toISOString() },
          ],
          incidents: {},
        },
      ]);
      expect(report.deployment).toMatchObject({ history: 'recorded', recordedFrom: BEFORE });
      expect(report.deployment.spans.map((span) => [span.from, span.regions])).toEqual([
        [SINCE.toISOString(), ['us-east-1']],
        ['2026-11-05T00:00:00.000Z', ['eu-west-1', 'us-east-1']],
        [MIDDLE, ['eu-west-1', 'us-east-1']],
      ]);
      expect(report.covered).toEqual({
        recorded: { accounts: ['111122223333'], regions: ['eu-west-1', 'us-east-1'] },
        incidents: { accounts: ['111122223333'], regions: ['us-east-1'] },
      });
    });

    it('says the modes before the history starts were not recorded when it starts inside the period', () => {
      // Prepare
      const deployment = {
        state: 'recorded' as const,
        revision: 1,
        transitions: [{ at: MIDDLE, ...facts({ 'ssh-open-to-world': 'notify' }) }],
      };
      // Act
      const report = aggregate(
        input({ deployment, ruleIds: ['ebs-encryption-by-default', 'ssh-open-to-world'] }),
      );
      // Assess: a rule the recorded deployment does not name is said to be not deployed, not guessed
      expect(report.modes).toEqual([
        {
          ruleId: 'ebs-encryption-by-default',
          spans: [
            { mode: 'not recorded', from: SINCE.toISOString(), to: MIDDLE },
            { mode: 'not deployed', from: MIDDLE, to: UNTIL.toISOString() },
          ],
          incidents: {},
        },
        {
          ruleId: 'ssh-open-to-world',
          spans: [
            { mode: 'not recorded', from: SINCE.toISOString(), to: MIDDLE },
            { mode: 'notify', from: MIDDLE, to: UNTIL.toISOString() },
          ],
          incidents: {},
        },
      ]);
      expect(report.deployment).toMatchObject({ history: 'recorded', recordedFrom: MIDDLE });
    });

    it('shows no empty span for two records made at one time: the later one stands', () => {
      // Prepare: a heartbeat whose clock lagged dated its record at the last one's time
      const deployment = {
        state: 'recorded' as const,
        revision: 3,
        transitions: [
          { at: BEFORE, ...facts({ 'ssh-open-to-world': 'enforce' }) },
          { at: MIDDLE, ...facts({ 'ssh-open-to-world': 'off' }) },
          { at: MIDDLE, ...facts({ 'ssh-open-to-world': 'notify' }) },
        ],
      };
      // Act
      const report = aggregate(input({ deployment, ruleIds: ['ssh-open-to-world'] }));
      // Assess
      expect(report.modes[0]?.spans).toEqual([
        { mode: 'enforce', from: SINCE.toISOString(), to: MIDDLE },
        { mode: 'notify', from: MIDDLE, to: UNTIL.toISOString() },
      ]);
    });

    it('claims no mode and no coverage from an unreadable history item', () => {
      // Prepare
      const incidents = [
        anIncident({ incidentId: 'inc-1', detectedAt: DETECTED, updatedAt: DETECTED, mode: 'notify' }),
      ];
      // Act
      const report = aggregate(
        input({
          incidents,
          deployment: { state: 'unreadable', reason: 'transitions.0.modes: invalid' },
          ruleIds: ['ssh-open-to-world'],
        }),
      );
      // Assess
      expect(report.modes[0]?.spans).toEqual([
        { mode: 'not recorded', from: SINCE.toISOString(), to: UNTIL.toISOString() },
      ]);
      expect(report.deployment).toEqual({
        history: 'unreadable',
        reason: 'transitions.0.modes: invalid',
        recordedFrom: null,
        spans: [],
      });
      expect(report.covered.recorded).toBeNull();
    });
  });

  it('lists guard trips and resets that touch the period, and says who made the report and what it covers', () => {
    // Prepare
    const reset = (trippedAt: string, resetAt: string) => ({
      trippedAt,
      tripReason: '6 remediations in 10 min',
      resetAt,
      resetBy: BOB,
      reason: 'mass tagging by CHG-7',
    });
    const incidents = [
      anIncident({ incidentId: 'inc-1', detectedAt: DETECTED, updatedAt: DETECTED }),
      anIncident({
        incidentId: 'inc-2',
        detectedAt: DETECTED,
        updatedAt: DETECTED,
        account: '444455556666',
        region: 'eu-west-1',
      }),
    ];
    // Act
    const report = aggregate(
      input({
        incidents,
        guard: {
          resets: [
            reset('2026-10-01T00:00:00.000Z', '2026-10-02T00:00:00.000Z'),
            reset('2026-11-01T20:00:00.000Z', '2026-11-03T00:00:00.000Z'),
          ],
          tripped: { trippedAt: '2026-11-19T00:00:00.000Z', reason: '7 remediations in 10 min' },
        },
        generatedBy: BOB,
        generatedAt: new Date('2026-11-21T08:00:00.000Z'),
      }),
    );
    // Assess
    expect(report.guard).toEqual([
      {
        trippedAt: '2026-11-01T20:00:00.000Z',
        tripReason: '6 remediations in 10 min',
        resetAt: '2026-11-03T00:00:00.000Z',
        resetBy: BOB,
        resetReason: 'mass tagging by CHG-7',
      },
      {
        trippedAt: '2026-11-19T00:00:00.000Z',
        tripReason: '7 remediations in 10 min',
        resetAt: null,
        resetBy: null,
        resetReason: null,
      },
    ]);
    expect(report.generated).toEqual({ by: BOB, at: '2026-11-21T08:00:00.000Z' });
    expect(report.covered).toEqual({
      recorded: null,
      incidents: { accounts: ['111122223333', '444455556666'], regions: ['eu-west-1', 'us-east-1'] },
    });
  });
});
