import { activeExemption } from '../../../shared/exemptions/decide';
import { isOwnEvent } from '../../../shared/pipeline/guards';

describe('the loop guard', () => {
  const roles = ['arn:aws:iam::111122223333:role/compliance-responder-dev-EbsRole'];

  it('recognises a session issued by a responder role', () => {
    // Act / Assess
    expect(
      isOwnEvent(
        {
          arn: 'arn:aws:sts::111122223333:assumed-role/compliance-responder-dev-EbsRole/fn',
          sessionIssuerArn: 'arn:aws:iam::111122223333:role/compliance-responder-dev-EbsRole',
        },
        roles,
      ),
    ).toBe(true);
    expect(
      isOwnEvent(
        { arn: 'arn:aws:sts::111122223333:assumed-role/compliance-responder-dev-EbsRole/fn' },
        roles,
      ),
    ).toBe(true);
  });

  it('does not ignore people or other roles', () => {
    // Act / Assess
    expect(isOwnEvent({ arn: 'arn:aws:iam::111122223333:user/dev-alice' }, roles)).toBe(false);
    expect(
      isOwnEvent(
        {
          arn: 'arn:aws:sts::111122223333:assumed-role/Admin/alice',
          sessionIssuerArn: 'arn:aws:iam::111122223333:role/Admin',
        },
        roles,
      ),
    ).toBe(false);
    expect(isOwnEvent(undefined, roles)).toBe(false);
  });
});

describe('exemptions by tag', () => {
  const names = { reason: 'compliance-responder:exempt', until: 'compliance-responder:exempt-until' };
  const now = new Date('2026-11-23T12:00:00Z');

  it('count with a reason and a future expiry', () => {
    // Act
    const exemption = activeExemption(
      { [names.reason]: 'CHG-1234 forensic copy', [names.until]: '2026-12-01' },
      names,
      now,
    );
    // Assess
    expect(exemption).toEqual({ reason: 'CHG-1234 forensic copy', until: '2026-12-01T00:00:00.000Z' });
  });

  it.each([
    ['no reason', { 'compliance-responder:exempt-until': '2026-12-01' }],
    ['no expiry', { 'compliance-responder:exempt': 'because' }],
    [
      'an expired date',
      { 'compliance-responder:exempt': 'because', 'compliance-responder:exempt-until': '2026-11-01' },
    ],
    [
      'a date that is not a date',
      { 'compliance-responder:exempt': 'because', 'compliance-responder:exempt-until': 'soon' },
    ],
    [
      'more than a year ahead',
      { 'compliance-responder:exempt': 'because', 'compliance-responder:exempt-until': '2030-01-01' },
    ],
    [
      'an empty reason',
      { 'compliance-responder:exempt': '  ', 'compliance-responder:exempt-until': '2026-12-01' },
    ],
  ])('do not count with %s', (_case, tags) => {
    // Act / Assess
    expect(activeExemption(tags, names, now)).toBeUndefined();
  });
});
