import type { Exemption } from '../../shared/exemptions/ledger';
import { exemptionBeyondLimits } from '../../shared/exemptions/limits';
import { neverExempt } from '../../shared/exemptions/resource-types';
import { grantBeyondLimits } from '../../shared/ledger-limits';
import type { Grant } from '../../shared/ssh/grant-ledger';

const NOW = new Date('2026-11-23T12:00:00.000Z');
const LIMITS = { maxTtlMinutes: 720 };

const exemption = (overrides: Partial<Exemption> = {}): Exemption => ({
  exemptionId: 'exm-20261123T113000-0a1b2c3d',
  ruleId: 'ssh-open-to-world',
  resourceArn: 'arn:aws:ec2:us-east-1:111122223333:security-group/sg-0abc',
  reason: 'CHG-9',
  until: '2027-11-23T11:30:00.000Z',
  setBy: 'arn:aws:sts::111122223333:assumed-role/OnCall/bob',
  setAt: '2026-11-23T11:30:00.000Z',
  ...overrides,
});

const grant = (overrides: Partial<Grant> = {}): Grant =>
  ({
    grantId: 'sshg-20261123T113000-0a1b2c3d',
    kind: 'security-group-rule',
    target: { region: 'eu-west-1', groupId: 'sg-1', cidr: '203.0.113.0/24', port: 22 },
    grantedTo: 'dev-alice',
    grantedBy: 'arn:aws:iam::111122223333:user/oncall-bob',
    reason: 'INC-1',
    createdAt: '2026-11-23T11:30:00.000Z',
    expiresAt: '2026-11-23T23:30:00.000Z',
    ...overrides,
  }) as Grant;

/** As every reader calls it: with the refusal of the exemption's own rule. */
const beyondLimits = (exemption: Exemption) =>
  exemptionBeyondLimits(exemption, NOW, neverExempt(exemption.ruleId));

describe('the limits of an exemption', () => {
  it('keeps one the command line could have written: a year at most, set by a principal, not ahead', () => {
    // Act / Assess
    expect(beyondLimits(exemption())).toBeUndefined();
    expect(beyondLimits(exemption({ setAt: '2026-11-23T12:04:00.000Z' }))).toBeUndefined();
  });

  it.each([
    [
      'longer than a year',
      { until: '2099-01-01T00:00:00.000Z' },
      'it ends 2099-01-01T00:00:00.000Z, more than a year after it was set (2026-11-23T11:30:00.000Z)',
    ],
    ['set by no principal', { setBy: 'security team' }, 'it was not set by an IAM principal'],
    ['set by nobody', { setBy: '' }, 'it was not set by an IAM principal'],
    [
      'set ahead of now, beyond clock skew',
      { setAt: '2026-11-23T12:06:00.000Z' },
      'it was set in the future (2026-11-23T12:06:00.000Z)',
    ],
    ['ending before it was set', { until: '2026-11-23T11:00:00.000Z' }, 'it ends before it was set'],
    [
      'of a rule nothing may exempt',
      { ruleId: 'self-protection' },
      "the responder's own stack cannot be exempted",
    ],
  ])('ignores one %s', (_case, overrides, why) => {
    // Act / Assess
    expect(beyondLimits(exemption(overrides))).toContain(why);
  });
});

describe('the limits of an SSH grant', () => {
  it('keeps one the command line could have written: the cap exactly, a /24, a /64', () => {
    // Act / Assess
    expect(grantBeyondLimits(grant(), LIMITS, NOW)).toBeUndefined();
    const v6 = grant({
      target: { region: 'eu-west-1', groupId: 'sg-1', cidr: '2001:db8:1:2::/64', port: 22 },
    } as Partial<Grant>);
    expect(grantBeyondLimits(v6, LIMITS, NOW)).toBeUndefined();
  });

  it.each([
    [
      'over the TTL cap',
      { expiresAt: '2026-11-23T23:31:00.000Z' },
      'it lasts 12h1m, over the cap of 12h (SSH_GRANT_MAX_TTL_MINUTES=720)',
    ],
    ['granted by no principal', { grantedBy: 'oncall-bob' }, 'it was not granted by an IAM principal'],
    [
      'created ahead of now',
      { createdAt: '2099-01-01T00:00:00.000Z', expiresAt: '2099-01-01T00:30:00.000Z' },
      'it was created in the future (2099-01-01T00:00:00.000Z)',
    ],
    ['ending before it starts', { expiresAt: '2026-11-23T11:00:00.000Z' }, 'it ends before it starts'],
    [
      'opening the internet',
      { target: { region: 'eu-west-1', groupId: 'sg-1', cidr: '0.0.0.0/0', port: 22 } },
      'it opens 0.0.0.0/0, that is the whole internet',
    ],
    [
      'opening a /23',
      { target: { region: 'eu-west-1', groupId: 'sg-1', cidr: '198.51.100.0/23', port: 22 } },
      'it opens 198.51.100.0/23, broader than /24 for IPv4',
    ],
    [
      'opening a /48',
      { target: { region: 'eu-west-1', groupId: 'sg-1', cidr: '2001:db8::/48', port: 22 } },
      'it opens 2001:db8::/48, broader than /64 for IPv6',
    ],
    [
      'with host bits set',
      { target: { region: 'eu-west-1', groupId: 'sg-1', cidr: '203.0.113.7/24', port: 22 } },
      'its address block is not one the command line writes',
    ],
  ])('ignores one %s', (_case, overrides, why) => {
    // Act / Assess
    expect(grantBeyondLimits(grant(overrides as Partial<Grant>), LIMITS, NOW)).toBe(why);
  });

  it('reads the cap it is given: the stack deployed with 60 minutes ignores a 2 h grant', () => {
    // Act / Assess
    expect(
      grantBeyondLimits(grant({ expiresAt: '2026-11-23T13:30:00.000Z' }), { maxTtlMinutes: 60 }, NOW),
    ).toBe('it lasts 2h, over the cap of 1h (SSH_GRANT_MAX_TTL_MINUTES=60)');
  });
});
