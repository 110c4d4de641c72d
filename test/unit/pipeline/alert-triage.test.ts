import type { Incident, Step } from '../../../shared/model';
import { buildAlert, buildGuardAlert } from '../../../shared/pipeline/alerts';
import {
  buildExemptionAlert,
  buildGuardResetAlert,
  buildUndoFailedAlert,
} from '../../../shared/pipeline/human-alerts';
import { IncidentStatus } from '../../../shared/pipeline/lifecycle';
import { anIncident } from '../../support/incident';
import { readmeFilterPolicy } from '../../support/readme-filter-policy';

const runbooks = 'https://example.org/runbooks';
const ON_CALL = 'arn:aws:sts::111122223333:assumed-role/compliance-responder-prod-on-call/bob';
const ID = 'inc-20261123T101500-0a1b2c3d';

const email = (message: string) => (JSON.parse(message) as { email: string }).email;
const machine = (message: string) =>
  JSON.parse((JSON.parse(message) as { default: string }).default) as Record<string, unknown>;

const enable: Step = {
  action: 'EnableEbsEncryptionByDefault',
  at: '2026-11-23T10:15:01.000Z',
  result: 'succeeded',
  undo: { service: 'ec2', action: 'DisableEbsEncryptionByDefault', input: { Region: 'us-east-1' } },
};
const verified: Step = { action: 'Verify', at: '2026-11-23T10:15:03.000Z', result: 'succeeded' };

/** One incident per way an alert can find it: every status, and the three reasons one stays open. */
const cases: readonly [string, Incident, RegExp][] = [
  [
    'remediated and verified',
    anIncident({ steps: [enable, verified] }),
    /^Action needed: none, remediated and verified$/,
  ],
  [
    'open in notify mode',
    anIncident({
      mode: 'notify',
      status: 'open',
      statusReason: 'notify mode: enable EBS encryption by default was not done',
      steps: [],
    }),
    /^Action needed: fix it by hand or exempt it; notify mode: the responder changed nothing$/,
  ],
  [
    'open: the blast-radius guard held it',
    anIncident({
      status: 'open',
      statusReason:
        'blast-radius guard tripped: more than 10 remediations within 60 minutes; notify-only until reset',
      steps: [],
    }),
    /^Action needed: fix it by hand; the responder did not remediate it: blast-radius guard tripped: more than 10/,
  ],
  [
    'open: the rule declined',
    anIncident({
      status: 'open',
      statusReason: 'instance i-0abc is managed by Auto Scaling: replace its launch template',
      steps: [],
    }),
    /^Action needed: fix it by hand; the responder did not remediate it: instance i-0abc is managed by Auto Scaling/,
  ],
  [
    'failed',
    anIncident({
      status: 'failed',
      statusReason: 'AccessDenied: not authorized to perform ec2:EnableEbsEncryptionByDefault',
      steps: [{ ...enable, result: 'failed', error: 'AccessDenied' }],
    }),
    /^Action needed: finish the remediation by hand \(the steps below say where it stopped\); it failed: AccessDenied/,
  ],
  [
    'undone by a person',
    anIncident({
      status: 'undone',
      steps: [enable, verified],
      undo: {
        by: ON_CALL,
        reason: 'INC-77 the batch job needs the old setting',
        startedAt: '2026-11-23T12:00:00.000Z',
        finishedAt: '2026-11-23T12:00:05.000Z',
        result: 'succeeded',
        exemptForMinutes: 60,
        exemption: { exemptionId: 'exm-1', until: '2026-11-23T13:00:00.000Z' },
        calls: [],
      },
    }),
    /^Action needed: confirm the undo by .*\/bob was intended; the drift is back, exempted until 2026-11-23T13:00:00.000Z/,
  ],
  [
    'remediating (waiting for AWS)',
    anIncident({ status: 'remediating', statusReason: 'waiting for snapshot snap-0abc', steps: [enable] }),
    /^Action needed: none yet, remediation under way \(waiting for snapshot snap-0abc\)/,
  ],
  [
    'exempted',
    anIncident({
      status: 'exempted',
      steps: [],
      exemption: {
        exemptionId: 'exm-2',
        reason: 'CHG-9',
        until: '2026-12-23T12:00:00.000Z',
        setBy: ON_CALL,
        setAt: '2026-11-23T12:00:00.000Z',
      },
    }),
    /^Action needed: none, exempted until 2026-12-23T12:00:00.000Z \(exm-2, set by .*\/bob\)$/,
  ],
  [
    'resolved',
    anIncident({ status: 'resolved', statusReason: 'found compliant again by a later check', steps: [] }),
    /^Action needed: none, resolved: found compliant again by a later check$/,
  ],
  [
    'suppressed',
    anIncident({ status: 'suppressed', statusReason: 'duplicate of inc-1', steps: [] }),
    /^Action needed: none, suppressed: duplicate of inc-1$/,
  ],
];

const NEEDS_ACTION: readonly string[] = [IncidentStatus.Open, IncidentStatus.Failed, IncidentStatus.Undone];

describe('an alert written for triage', () => {
  it('has a case for every status of the lifecycle', () => {
    // Assess
    const covered = new Set(cases.map(([, incident]) => incident.status));
    expect([...covered].sort()).toEqual(Object.values(IncidentStatus).sort());
  });

  describe.each(cases)('%s', (_name, incident, firstLine) => {
    const alert = buildAlert(incident, runbooks);
    const text = email(alert.message);
    const needed = NEEDS_ACTION.includes(incident.status);

    it('says on its first line whether action is needed, and the machine body says the same', () => {
      // Assess
      expect(text.split('\n')[0]).toMatch(firstLine);
      expect(machine(alert.message)).toMatchObject({
        actionNeeded: needed,
        action: String(text.split('\n')[0]).replace(/^Action needed: /, ''),
      });
    });

    it('sets actionNeeded for a subscription filter policy', () => {
      // Assess
      expect(alert.attributes.actionNeeded).toBe(String(needed));
      expect(alert.attributes.status).toBe(incident.status);
    });

    it('uses the status word of the lifecycle in the subject and the body alike', () => {
      // Assess
      const word = /: (\S+) — 111122223333\/us-east-1$/.exec(alert.subject)?.[1];
      expect(word).toBe(incident.status);
      expect(text).toContain(`Status:    ${incident.status}`);
      expect(text).not.toMatch(/\b(OPEN|FAILED|REMEDIATED|REMEDIATION FAILED)\b/);
      expect(alert.subject).not.toContain(': found —');
    });

    it('states the exposure window from detection', () => {
      // Assess
      expect(text).toMatch(/^Exposure: {2}detected 2026-11-23T10:15:00\.000Z, /m);
    });
  });

  it('closes the window of a verified remediation at the verifying read, with its length', () => {
    // Act
    const alert = buildAlert(anIncident({ steps: [enable, verified] }), runbooks);
    // Assess
    expect(email(alert.message)).toContain(
      'Exposure:  detected 2026-11-23T10:15:00.000Z, closed 2026-11-23T10:15:03.000Z (3.0 s)',
    );
    expect(machine(alert.message).exposure).toEqual({
      detectedAt: '2026-11-23T10:15:00.000Z',
      closedAt: '2026-11-23T10:15:03.000Z',
      exposedMs: 3000,
    });
  });

  it('closes the window of a resolved incident when it was recorded resolved', () => {
    // Prepare
    const incident = anIncident({
      status: 'resolved',
      steps: [],
      transitions: [
        { to: 'open', at: '2026-11-23T10:15:00.000Z', by: 'fn' },
        { from: 'open', to: 'resolved', at: '2026-11-23T11:15:00.000Z', by: 'fn' },
      ],
    });
    // Act
    const text = email(buildAlert(incident, runbooks).message);
    // Assess
    expect(text).toContain(
      'Exposure:  detected 2026-11-23T10:15:00.000Z, closed 2026-11-23T11:15:00.000Z (1 h 00 min)',
    );
  });

  it('says the window is still open while nothing closed it', () => {
    // Act
    const alert = buildAlert(anIncident({ status: 'open', mode: 'notify', steps: [] }), runbooks);
    // Assess
    expect(email(alert.message)).toContain('Exposure:  detected 2026-11-23T10:15:00.000Z, still open');
    expect(machine(alert.message).exposure).toEqual({
      detectedAt: '2026-11-23T10:15:00.000Z',
      closedAt: null,
      exposedMs: null,
    });
  });

  it('says a person opened the window again by an undo', () => {
    // Prepare
    const [, undone] = cases.find(([name]) => name === 'undone by a person') ?? [];
    // Act
    const text = email(buildAlert(undone as Incident, runbooks).message);
    // Assess
    expect(text).toContain(
      'Exposure:  detected 2026-11-23T10:15:00.000Z, closed 2026-11-23T10:15:03.000Z (3.0 s), open again since 2026-11-23T12:00:00.000Z (undone)',
    );
  });

  it('gives the undo as the command, with the --reason the CLI requires', () => {
    // Act
    const text = email(buildAlert(anIncident({ steps: [enable, verified] }), runbooks).message);
    // Assess
    expect(text).toContain(`Undo:      npx compliance-responder incidents undo ${ID} --reason "<why>"`);
  });

  it('offers no undo command where nothing was changed or it was undone already', () => {
    // Prepare
    const nothing = anIncident({ status: 'open', mode: 'notify', steps: [] });
    const [, undone] = cases.find(([name]) => name === 'undone by a person') ?? [];
    // Act
    const texts = [nothing, undone as Incident].map((incident) =>
      email(buildAlert(incident, runbooks).message),
    );
    // Assess
    for (const text of texts) expect(text).not.toContain('incidents undo');
    expect(texts[0]).toContain('What was done:\n  (none: no change was made)');
  });

  it('keeps the first line, the status and the exposure in the last-resort alert', () => {
    // Prepare: too large even without steps
    const incident = anIncident({ status: 'failed', steps: [enable], reason: 'y'.repeat(300_000) });
    // Act
    const alert = buildAlert(incident, runbooks);
    const text = email(alert.message);
    // Assess
    expect(text.split('\n')[0]).toMatch(/^Action needed: finish the remediation by hand/);
    expect(text).toContain('Status:    failed');
    expect(text).toContain('Exposure:  detected 2026-11-23T10:15:00.000Z, still open');
    expect(alert.attributes.actionNeeded).toBe('true');
  });
});

describe('an alert of a remediation that kept the original as evidence', () => {
  // Prepare: the EBS fix replaces the volume and quarantines the unencrypted original for a person to delete
  const kept = anIncident({
    ruleId: 'ebs-volume-encrypted',
    title: 'Unencrypted EBS volume',
    resourceType: 'AWS::EC2::Volume',
    resourceId: 'vol-0abc',
    resourceArn: 'arn:aws:ec2:us-east-1:111122223333:volume/vol-0abc',
    steps: [
      {
        action: 'CreateVolume',
        at: '2026-11-23T10:15:01.000Z',
        result: 'succeeded',
        undo: { service: 'ec2', action: 'DeleteVolume', input: { VolumeId: 'vol-0new' } },
      },
      { ...verified, output: { originalKeptAsEvidence: true } },
    ],
  });
  const alert = buildAlert(kept, runbooks);
  const text = email(alert.message);

  it('says on its first line what a person must do with the original, and pages', () => {
    // Assess
    expect(text.split('\n')[0]).toBe(
      'Action needed: delete the original vol-0abc once its evidence is no longer needed (Unencrypted EBS volume, kept as evidence by this incident; the fix is remediated and verified)',
    );
    expect(machine(alert.message)).toMatchObject({
      actionNeeded: true,
      action: String(text.split('\n')[0]).replace(/^Action needed: /, ''),
    });
    expect(alert.attributes).toMatchObject({ actionNeeded: 'true', status: 'remediated' });
    expect(text).toContain('Status:    remediated');
  });

  it('matches the pager filter policy README gives', () => {
    // Assess
    expect(pages(readmeFilterPolicy(), alert.attributes)).toBe(true);
  });
});

describe('a notice about the responder or a person', () => {
  const incident = anIncident();
  const exemption = {
    exemptionId: 'exm-3',
    ruleId: 'ssh-open-to-world',
    resourceArn: 'arn:aws:ec2:us-east-1:111122223333:security-group/sg-0abc',
    reason: 'CHG-9',
    until: '2026-12-23T12:00:00.000Z',
    setBy: ON_CALL,
    setAt: '2026-11-23T12:00:00.000Z',
  };
  const undo = {
    by: ON_CALL,
    reason: 'INC-77',
    startedAt: '2026-11-23T12:00:00.000Z',
    result: 'failed' as const,
    exemptForMinutes: 60,
    calls: [],
  };
  const notices = [
    ['guard-tripped', buildGuardAlert(incident, '11 remediations in 60 minutes'), true],
    ['undo-failed', buildUndoFailedAlert(incident, undo, 'AccessDenied'), true],
    [
      'guard-reset',
      buildGuardResetAlert(
        {
          resetBy: ON_CALL,
          resetAt: '2026-11-23T12:00:00.000Z',
          reason: 'mass change understood',
          trippedAt: '2026-11-23T11:00:00.000Z',
          tripReason: '11 remediations',
        },
        { account: '111122223333', region: 'us-east-1' },
      ),
      false,
    ],
    [
      'exemption-added',
      buildExemptionAlert('added', exemption, {
        account: '111122223333',
        region: 'us-east-1',
        severity: 'HIGH',
      }),
      false,
    ],
    [
      'exemption-removed',
      buildExemptionAlert('removed', exemption, {
        account: '111122223333',
        region: 'us-east-1',
        severity: 'HIGH',
      }),
      false,
    ],
  ] as const;

  it.each(notices)(
    '%s: says whether action is needed first, and in its attributes',
    (status, alert, needed) => {
      // Assess
      const first = String(email(alert.message).split('\n')[0]);
      expect(first).toMatch(needed ? /^Action needed: (?!none)/ : /^Action needed: none/);
      expect(alert.attributes).toMatchObject({ status, actionNeeded: String(needed) });
      expect(machine(alert.message)).toMatchObject({ actionNeeded: needed });
    },
  );
});

const pages = (policy: Record<string, string[]>, attributes: Record<string, string>): boolean =>
  Object.entries(policy).every(([name, values]) => {
    const value = attributes[name];
    return value !== undefined && values.includes(value);
  });

describe("README's subscription filter policy", () => {
  it.each(Object.values(IncidentStatus))('pages for a %s incident only if it needs action', (status) => {
    // Act
    const alert = buildAlert(anIncident({ status, steps: [] }), runbooks);
    // Assess
    expect(pages(readmeFilterPolicy(), alert.attributes)).toBe(NEEDS_ACTION.includes(status));
  });

  it('pages for the guard tripping and a failed undo, not for changes a person made on purpose', () => {
    // Act
    const paged = [
      buildGuardAlert(anIncident(), 'mass change'),
      buildUndoFailedAlert(
        anIncident(),
        {
          by: ON_CALL,
          startedAt: '2026-11-23T12:00:00.000Z',
          result: 'failed',
          exemptForMinutes: 60,
          calls: [],
        },
        'AccessDenied',
      ),
      buildGuardResetAlert(
        { resetBy: ON_CALL, resetAt: 'x', reason: 'r', trippedAt: 'y', tripReason: 't' },
        { account: '111122223333', region: 'us-east-1' },
      ),
    ].map((alert) => pages(readmeFilterPolicy(), alert.attributes));
    // Assess
    expect(paged).toEqual([true, true, false]);
  });
});
