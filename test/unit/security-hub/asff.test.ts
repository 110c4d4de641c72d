import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Incident } from '../../../shared/model';
import { IncidentStatus } from '../../../shared/pipeline/lifecycle';
import {
  FINDING_STATES,
  findingChangeOf,
  findingIdOf,
  findingOf,
  HIPAA_FINDING_TYPE,
  productArnOf,
  targetOfProductArn,
} from '../../../shared/security-hub/asff';
import { asffRequired } from '../../support/asff-schema';
import { anIncident } from '../../support/incident';

const target = { partition: 'aws', region: 'us-east-1', account: '111122223333' };
const item = (incident: Incident) => ({ pk: `INCIDENT#${incident.incidentId}`, sk: 'INCIDENT', ...incident });

const imageIncident = (ids: string) =>
  anIncident({
    ruleId: 'image-findings-mitigated',
    title: 'Critical image findings have a documented mitigation',
    severity: 'CRITICAL',
    resourceType: 'AWS::ECR::Image',
    resourceId: 'web@sha256:0123',
    resourceArn: 'arn:aws:ecr:us-east-1:111122223333:repository/web/sha256:0123',
    status: 'open',
    evidence: { findingIds: 'CVE-2026-0001', inspectorFindingIds: ids },
  });

describe('an incident as a Security Hub finding (ASFF)', () => {
  it.each(Object.values(IncidentStatus))(
    'has every field ASFF requires, within its limits, when the incident is %s',
    (status) => {
      // Act
      const finding = findingOf(anIncident({ status }), target);
      // Assess
      expect(asffRequired.safeParse(finding).error?.issues ?? []).toEqual([]);
    },
  );

  it('is about the incident: its account, the default product of that account, its rule, its resource', () => {
    // Prepare
    const incident = anIncident({
      resourceType: 'AWS::EC2::Volume',
      resourceId: 'vol-0abc',
      resourceArn: 'arn:aws:ec2:eu-west-1:111122223333:volume/vol-0abc',
      region: 'eu-west-1',
    });
    // Act
    const finding = findingOf(incident, target);
    // Assess
    expect(finding).toMatchObject({
      Id: `compliance-responder/incident/${incident.incidentId}`,
      ProductArn: 'arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default',
      GeneratorId: 'compliance-responder/ebs-encryption-by-default',
      AwsAccountId: '111122223333',
      Types: [HIPAA_FINDING_TYPE],
      CreatedAt: incident.detectedAt,
      FirstObservedAt: incident.detectedAt,
      UpdatedAt: incident.updatedAt,
      Severity: { Label: 'HIGH' },
      Resources: [{ Type: 'AwsEc2Volume', Id: incident.resourceArn, Partition: 'aws', Region: 'eu-west-1' }],
      Compliance: { RelatedRequirements: ['HIPAA 164.312(a)(2)(iv)'] },
      ProductFields: { 'compliance-responder/IncidentId': incident.incidentId },
    });
  });

  it('keeps the same Id on every change of the incident, so Security Hub updates one finding', () => {
    // Prepare
    const opened = anIncident({ status: 'open' });
    // Act
    const ids = (['open', 'remediating', 'remediated', 'undone'] as const).map(
      (status) => findingOf({ ...opened, status, updatedAt: new Date().toISOString() }, target).Id,
    );
    // Assess
    expect(new Set(ids)).toEqual(new Set([findingIdOf(opened.incidentId)]));
  });

  it('follows the incident with its compliance status and record state', () => {
    // Act
    const states = Object.values(IncidentStatus).map((status) => {
      const finding = findingOf(anIncident({ status }), target);
      return [status, finding.Compliance?.Status, finding.RecordState];
    });
    // Assess
    expect(states).toEqual([
      ['open', 'FAILED', 'ACTIVE'],
      ['remediating', 'FAILED', 'ACTIVE'],
      ['remediated', 'PASSED', 'ARCHIVED'],
      ['failed', 'FAILED', 'ACTIVE'],
      ['exempted', 'FAILED', 'ACTIVE'],
      ['suppressed', 'FAILED', 'ACTIVE'],
      ['resolved', 'PASSED', 'ARCHIVED'],
      ['undone', 'FAILED', 'ACTIVE'],
    ]);
  });

  it('carries names only: no evidence values, tag values, reasons, actors or steps', () => {
    // Prepare
    const incident = anIncident({
      evidence: { tagValue: 'SENTINEL-patient-42' },
      reason: 'SENTINEL-reason text',
      statusReason: 'SENTINEL-status reason',
      actor: { arn: 'arn:aws:iam::111122223333:user/dev-alice', sourceIp: '198.51.100.23' },
    });
    // Act
    const text = JSON.stringify(findingOf(incident, target));
    // Assess
    expect(text).not.toMatch(/SENTINEL|198\.51\.100\.23|dev-alice|EnableEbsEncryptionByDefault/);
  });

  it('links to the runbook, as a URL when it is one', () => {
    // Act
    const linked = findingOf(anIncident({ runbook: 'https://example.org/runbooks/x.md' }), target);
    const relative = findingOf(anIncident(), target);
    // Assess
    expect(linked.Remediation?.Recommendation).toMatchObject({ Url: 'https://example.org/runbooks/x.md' });
    expect(relative.Remediation?.Recommendation?.Url).toBeUndefined();
    expect(relative.Remediation?.Recommendation?.Text).toContain(
      'docs/runbooks/ebs-encryption-by-default.md',
    );
  });

  it("links an image's incident to Inspector's own findings instead of repeating them", () => {
    // Act
    const finding = findingOf(imageIncident('0a1b2c3d4e5f,ffff0000,not an id!'), target);
    // Assess
    const related = [
      {
        ProductArn: 'arn:aws:securityhub:us-east-1::product/aws/inspector',
        Id: 'arn:aws:inspector2:us-east-1:111122223333:finding/0a1b2c3d4e5f',
      },
      {
        ProductArn: 'arn:aws:securityhub:us-east-1::product/aws/inspector',
        Id: 'arn:aws:inspector2:us-east-1:111122223333:finding/ffff0000',
      },
    ];
    expect(finding.FindingProviderFields?.RelatedFindings).toEqual(related);
    expect(finding.RelatedFindings).toEqual(related);
    expect(finding.Resources?.[0]?.Type).toBe('AwsEcrContainerImage');
    expect(asffRequired.safeParse(finding).success).toBe(true);
    expect(findingOf(anIncident(), target).RelatedFindings).toBeUndefined();
  });

  it('reads its target from the default product ARN, and refuses any other', () => {
    // Act / Assess
    expect(targetOfProductArn(productArnOf(target))).toEqual(target);
    expect(
      targetOfProductArn('arn:aws:securityhub:us-east-1:111122223333:product/444455556666/default'),
    ).toBe(undefined);
    expect(targetOfProductArn('arn:aws:securityhub:us-east-1::product/aws/inspector')).toBeUndefined();
  });
});

describe('what a change of the table asks of Security Hub', () => {
  const opened = anIncident({ status: 'open' });

  it('imports on opening, with the workflow NEW and no workflow move', () => {
    // Act
    const change = findingChangeOf(undefined, item(opened), target);
    // Assess
    expect(change?.finding.Workflow).toEqual({ Status: 'NEW' });
    expect(change?.workflow).toBeUndefined();
  });

  it.each([
    ['remediated', 'RESOLVED'],
    ['resolved', 'RESOLVED'],
    // Never SUPPRESSED: the role may not suppress any finding (docs/security-hub.md, Permissions).
    ['exempted', 'NOTIFIED'],
    ['suppressed', 'NOTIFIED'],
    ['undone', 'NOTIFIED'],
    ['remediating', undefined],
    ['failed', undefined],
  ] as const)('moves the workflow when the incident moves to %s: %s', (status, workflow) => {
    // Act
    const change = findingChangeOf(item(opened), item({ ...opened, status }), target);
    // Assess
    expect(change?.finding.Compliance?.Status).toBe(FINDING_STATES[status].compliance);
    expect(change?.workflow).toBe(workflow);
  });

  it('moves the workflow of an incident opened exempted', () => {
    // Act
    const change = findingChangeOf(undefined, item({ ...opened, status: 'exempted' }), target);
    // Assess
    expect(change?.workflow).toBe('NOTIFIED');
  });

  it("re-imports when an image's Inspector findings change, without moving the workflow", () => {
    // Prepare
    const before = imageIncident('aaaa');
    // Act
    const changed = findingChangeOf(item(before), item(imageIncident('aaaa,bbbb')), target);
    const same = findingChangeOf(
      item(before),
      item({ ...before, updatedAt: '2026-11-23T11:00:00.000Z' }),
      target,
    );
    // Assess
    expect(changed?.finding.FindingProviderFields?.RelatedFindings).toHaveLength(2);
    expect(changed?.workflow).toBeUndefined();
    expect(same).toBeUndefined();
  });

  it('asks nothing for a rewrite without a change, an item that is not an incident, or a removal', () => {
    // Act
    const rewritten = findingChangeOf(
      item(opened),
      item({ ...opened, updatedAt: '2026-11-23T11:00:00.000Z' }),
      target,
    );
    const lock = findingChangeOf(undefined, { pk: 'DRIFT#rule', status: 'open' } as never, target);
    const removed = findingChangeOf(item(opened), undefined, target);
    // Assess
    expect([rewritten, lock, removed]).toStrictEqual([undefined, undefined, undefined]);
  });
});

describe('docs/security-hub.md', () => {
  it('renders the status mapping the code uses', () => {
    // Prepare
    const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'security-hub.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `(\w+)` \| `(\w+)` \| `(\w+)` \| `(\w+)` \|/gm)].map((row) =>
      row.slice(1),
    );
    // Assess
    expect(Object.fromEntries(rows.map(([status, ...rest]) => [status, rest]))).toEqual(
      Object.fromEntries(
        Object.entries(FINDING_STATES).map(([status, state]) => [
          status,
          [state.compliance, state.record, state.workflow],
        ]),
      ),
    );
  });
});
