import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { incidentLines, parseRule, parseStatus, undoPlanLines } from '../../../cli/incidents-format';
import { parseExemptFor, planUndo, undoCallsOf } from '../../../cli/undo';
import { planCall, REPLAYABLE } from '../../../cli/undo-calls';
import type { Incident, Step } from '../../../shared/model';
import { anIncident } from '../../support/incident';

const ROOT = join(__dirname, '..', '..', '..');

const step = (action: string, result: Step['result'], undoAction?: string): Step => ({
  action,
  at: '2026-11-23T10:00:00.000Z',
  result,
  ...(undoAction
    ? { undo: { service: 'ec2', action: undoAction, input: { Region: 'eu-west-1', Resources: ['vol-1'] } } }
    : {}),
});

const withSteps = (steps: Step[], extra: Partial<Incident> = {}): Incident => ({
  ...anIncident(),
  incidentId: 'inc-20261123T100000-0a1b2c3d',
  steps,
  ...extra,
});

describe('incidents list filters', () => {
  it('accept the statuses and rule ids there are, whatever the case', () => {
    // Act / Assess
    expect(parseStatus('Remediated')).toBe('remediated');
    expect(parseStatus('undone')).toBe('undone');
    expect(parseRule('SSH-OPEN-TO-WORLD')).toBe('ssh-open-to-world');
  });

  it('refuse anything else, naming the valid values', () => {
    // Act / Assess
    expect(() => parseStatus('fixed')).toThrow(
      "invalid --status 'fixed': one of open, remediating, remediated, failed, exempted, suppressed, resolved, undone",
    );
    expect(() => parseRule('ebs')).toThrow(/^invalid --rule 'ebs': one of ebs-encryption-by-default, /);
  });
});

describe('incidents undo --exempt-for', () => {
  it.each([
    ['90m', 90],
    ['24h', 1440],
    ['7d', 10_080],
    ['365d', 525_600],
  ])('reads %s as %i minutes', (text, minutes) => {
    // Act / Assess
    expect(parseExemptFor(text)).toBe(minutes);
  });

  it.each(['forever', '0m', '366d', '1h30m', '-1h', ''])('refuses %j', (text) => {
    // Act / Assess
    expect(() => parseExemptFor(text)).toThrow(`invalid --exempt-for '${text}'`);
  });
});

describe('the undo plan', () => {
  it('replays only the succeeded steps with an undo call, last step first', () => {
    // Prepare
    const incident = withSteps([
      step('CreateTags', 'succeeded', 'DeleteTags'),
      step('Snapshot', 'succeeded'),
      step('StopInstances', 'succeeded', 'StartInstances'),
      step('ModifyInstancePlacement', 'failed', 'ModifyInstancePlacement'),
    ]);
    // Act
    const calls = undoCallsOf(incident);
    // Assess
    expect(calls.map(({ step: index, call }) => [index, call.action])).toEqual([
      [2, 'StartInstances'],
      [0, 'DeleteTags'],
    ]);
  });

  it('refuses an action off the allow-list before anything runs, naming it', () => {
    // Prepare
    const incident = withSteps([
      step('CreateTags', 'succeeded', 'DeleteTags'),
      step('Something', 'succeeded', 'TerminateInstances'),
    ]);
    // Act / Assess
    expect(() => planUndo(incident)).toThrow(
      'refused: incident inc-20261123T100000-0a1b2c3d records undo call(s) this command does not replay (ec2 TerminateInstances); nothing was changed',
    );
  });

  it.each([
    [
      'undone before',
      withSteps([step('CreateTags', 'succeeded', 'DeleteTags')], {
        undo: {
          by: 'arn:aws:iam::123456789012:user/bob',
          startedAt: '2026-11-23T11:00:00.000Z',
          result: 'failed',
          exemptForMinutes: 1440,
          calls: [],
        },
      }),
      'was already undone by arn:aws:iam::123456789012:user/bob at 2026-11-23T11:00:00.000Z (failed)',
    ],
    [
      'still remediating',
      withSteps([step('CreateTags', 'succeeded', 'DeleteTags')], { status: 'remediating' }),
      'is still remediating',
    ],
    ['without a change', withSteps([step('Verify', 'succeeded')]), 'records no change to undo'],
  ])('refuses an incident %s', (_case, incident, words) => {
    // Act / Assess
    expect(() => planUndo(incident)).toThrow(words);
  });

  it("runs each call in the region it names, without that Region in the API input; IAM's in us-east-1", () => {
    // Act
    const ec2 = planCall(
      { service: 'ec2', action: 'DeleteTags', input: { Region: 'eu-west-1', Resources: ['vol-1'] } },
      'us-east-1',
    );
    const unnamed = planCall(
      { service: 'ec2', action: 'DisableEbsEncryptionByDefault', input: {} },
      'us-west-2',
    );
    const garbage = planCall(
      { service: 'ec2', action: 'DisableEbsEncryptionByDefault', input: { Region: 'https://evil' } },
      'us-west-2',
    );
    const iam = planCall(
      { service: 'iam', action: 'UpdateSSHPublicKey', input: { UserName: 'a', Status: 'Active' } },
      'eu-west-1',
    );
    // Assess
    expect([ec2?.region, unnamed?.region, garbage?.region, iam?.region]).toEqual([
      'eu-west-1',
      'us-west-2',
      'us-west-2',
      'us-east-1',
    ]);
    expect(planCall({ service: 'ec2', action: 'RunInstances', input: {} }, 'us-east-1')).toBeUndefined();
  });

  it('covers every undo call the rules record (shared/rules, shared/ssh)', () => {
    // Prepare: every `service: '...', action: '...'` literal in the rule sources
    const recorded = new Set<string>();
    for (const folder of ['shared/rules', 'shared/ssh']) {
      for (const file of readdirSync(join(ROOT, folder)).filter((name) => name.endsWith('.ts'))) {
        const text = readFileSync(join(ROOT, folder, file), 'utf8');
        for (const match of text.matchAll(/service: '([a-z0-9-]+)',\s*action: '(\w+)'/g)) {
          recorded.add(`${match[1]}:${match[2]}`);
        }
      }
    }
    // Assess: the scan finds what it should, and every one is replayable
    expect(recorded).toContain('ec2:DisableEbsEncryptionByDefault');
    expect(recorded).toContain('ec2:AuthorizeSecurityGroupIngress');
    expect(recorded.size).toBeGreaterThanOrEqual(15);
    expect([...recorded].filter((call) => !REPLAYABLE.includes(call))).toEqual([]);
  });
});

describe('incidents show', () => {
  it('prints every documented field: what, who, when, evidence, steps with undo, alert, exemption, workflow, undo, HIPAA, runbook', () => {
    // Prepare
    const incident = withSteps(
      [
        step('CreateTags', 'succeeded', 'DeleteTags'),
        { ...step('Stop', 'failed'), error: 'UnsupportedOperation' },
      ],
      {
        actor: { arn: 'arn:aws:iam::123456789012:user/dev-alice', sourceIp: '198.51.100.23' },
        evidence: { encrypted: false, sizeGiB: 100 },
        alert: { status: 'sent', messageId: 'm-1', at: '2026-11-23T10:01:00.000Z' },
        exemption: {
          exemptionId: 'exm-1',
          reason: 'CHG-9',
          until: '2026-12-01T00:00:00.000Z',
          setBy: 'arn:aws:iam::123456789012:user/carol',
          setAt: '2026-11-20T00:00:00.000Z',
        },
        exemptionRequest: { until: '2026-12-02T00:00:00.000Z', note: 'not confirmed: exemptions add ...' },
        workflow: {
          startedAt: '2026-11-23T10:00:00.000Z',
          waitingFor: 'snapshot snap-1',
          state: { wasRunning: true },
        },
        undo: {
          by: 'arn:aws:iam::123456789012:user/bob',
          startedAt: '2026-11-23T11:00:00.000Z',
          finishedAt: '2026-11-23T11:00:01.000Z',
          result: 'succeeded',
          exemptForMinutes: 1440,
          calls: [
            {
              step: 0,
              call: { service: 'ec2', action: 'DeleteTags', input: {} },
              result: 'succeeded',
              at: '2026-11-23T11:00:01.000Z',
            },
          ],
        },
      },
    );
    // Act
    const text = incidentLines(incident, 'https://runbooks.example/r').join('\n');
    // Assess
    for (const expected of [
      `incident ${incident.incidentId}  [${incident.severity}] ${incident.ruleId}  ${incident.status}`,
      `what:      ${incident.reason}`,
      'who:       arn:aws:iam::123456789012:user/dev-alice from 198.51.100.23',
      `when:      detected ${incident.detectedAt}`,
      'evidence:  encrypted=false sizeGiB=100',
      `hipaa:     ${incident.hipaa.map((citation) => `§${citation}`).join(', ')}`,
      '1. CreateTags → succeeded at 2026-11-23T10:00:00.000Z',
      'undo:  ec2 DeleteTags {"Region":"eu-west-1","Resources":["vol-1"]}',
      '2. Stop → failed',
      'error: UnsupportedOperation',
      'alert:     sent (message m-1) at 2026-11-23T10:01:00.000Z',
      'exemption: exm-1: CHG-9 (until 2026-12-01T00:00:00.000Z; set by arn:aws:iam::123456789012:user/carol at 2026-11-20T00:00:00.000Z)',
      'exemption request: until 2026-12-02T00:00:00.000Z: not confirmed: exemptions add ...',
      'workflow:  started 2026-11-23T10:00:00.000Z, waiting for snapshot snap-1; wasRunning=true',
      'undo:      succeeded by arn:aws:iam::123456789012:user/bob',
      '- ec2 DeleteTags (reverses step 1) → succeeded at 2026-11-23T11:00:01.000Z',
      `runbook:   https://runbooks.example/r/${incident.runbook.replace('docs/runbooks/', '')}`,
    ]) {
      expect(text).toContain(expected);
    }
  });

  it('says who is unknown when a sweep found the drift, and shows the undo plan before asking', () => {
    // Prepare
    const incident = withSteps([step('CreateTags', 'succeeded', 'DeleteTags')], { actor: undefined });
    // Act
    const text = incidentLines(incident, 'https://x').join('\n');
    const plan = undoPlanLines(planUndo(incident), 1440);
    // Assess
    expect(text).toContain('who:       not known (found by a scheduled sweep or AWS Config)');
    expect(plan[1]).toBe(
      '  ec2 DeleteTags in eu-west-1 (reverses step 1, CreateTags): {"Region":"eu-west-1","Resources":["vol-1"]}',
    );
    expect(plan[2]).toContain('exempted for 24h');
  });
});
