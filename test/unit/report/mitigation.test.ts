import { aggregate } from '../../../shared/report/aggregate';
import { renderMarkdown } from '../../../shared/report/markdown';
import { anIncident } from '../../support/incident';

describe("the auditor's report and documented mitigations", () => {
  it('shows who documented which mitigation of a resolved incident', () => {
    // Prepare
    const mitigation = {
      text: 'CHG-123: loopback only',
      by: 'arn:aws:iam::111122223333:user/dev-bob',
      at: '2026-11-05T09:00:00.000Z',
    };
    const report = aggregate({
      incidents: [
        anIncident({
          incidentId: 'inc-m',
          ruleId: 'image-findings-mitigated',
          detectedAt: '2026-11-04T10:00:00.000Z',
          status: 'resolved',
          mitigation,
        }),
      ],
      grants: [],
      exemptions: [],
      since: new Date('2026-11-01T00:00:00.000Z'),
      until: new Date('2026-11-30T00:00:00.000Z'),
      grantCitations: [],
      source: 'test',
    });

    // Act
    const markdown = renderMarkdown(report);

    // Assess
    expect(report.incidents[0]?.mitigation).toBe(
      'CHG-123: loopback only (by arn:aws:iam::111122223333:user/dev-bob at 2026-11-05T09:00:00.000Z)',
    );
    expect(markdown).toContain(
      'resolved, mitigated: CHG-123: loopback only (by arn:aws:iam::111122223333:user/dev-bob',
    );
  });
});
