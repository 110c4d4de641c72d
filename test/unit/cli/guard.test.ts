import { guardStatusLines } from '../../../cli/guard';

describe('guard status, for a person', () => {
  it('says a tripped guard holds remediation, since when, why, and how to reset it', () => {
    // Act
    const lines = guardStatusLines(
      {
        tripped: true,
        trippedAt: '2026-11-24T09:12:00.000Z',
        reason:
          'blast-radius guard tripped: more than 10 remediations within 60 minutes; notify-only until reset',
        counted: 10,
        threshold: 10,
        windowMinutes: 60,
      },
      'incidents (us-east-1)',
    );
    // Assess
    expect(lines).toEqual([
      'blast-radius guard TRIPPED in incidents (us-east-1) since 2026-11-24T09:12:00.000Z: the responder only notifies until a person resets it',
      '  why:    blast-radius guard tripped: more than 10 remediations within 60 minutes; notify-only until reset',
      '  window: 10 of 10 remediation(s) counted in the sliding 60-minute window',
      '  reset:  compliance-responder guard reset --reason "..." (once you know why so much changed)',
    ]);
  });

  it('says an untripped guard remediates, with its window and the last reset', () => {
    // Act
    const lines = guardStatusLines(
      {
        tripped: false,
        counted: 3,
        threshold: 10,
        windowMinutes: 60,
        lastReset: {
          resetAt: '2026-11-24T10:00:00.000Z',
          resetBy: 'arn:aws:iam::123456789012:user/bob',
          reason: 'INC-7 reviewed',
          trippedAt: '2026-11-24T09:12:00.000Z',
          tripReason: 'blast-radius guard tripped',
        },
      },
      'incidents (us-east-1)',
    );
    // Assess
    expect(lines).toEqual([
      'blast-radius guard not tripped in incidents (us-east-1): the responder remediates',
      '  window: 3 of 10 remediation(s) counted in the sliding 60-minute window; more than 10 trips it',
      '  last reset: 2026-11-24T10:00:00.000Z by arn:aws:iam::123456789012:user/bob: INC-7 reviewed',
    ]);
  });
});
