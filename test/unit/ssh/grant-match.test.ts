import type { IngressRule } from '../../../shared/ssh/exposure';
import type { Grant } from '../../../shared/ssh/grant-ledger';
import {
  type GrantAccount,
  grantCoversRule,
  grantInAccount,
  ignoredUserGrant,
  judgeRuleGrant,
  lastEndedUserGrant,
  liveUserGrant,
} from '../../../shared/ssh/grant-match';

const TAG = 'compliance-responder:ssh-grant';
const NOW = new Date('2026-11-23T12:00:00.000Z');
const GRANT_ID = 'sshg-20261123T113000-0a1b2c3d';
const LIMITS = { maxTtlMinutes: 720 };
/** The security account (the home stack's), and two members of its organisation. */
const SECURITY = '111122223333';
const MEMBER_A = '444455556666';
const MEMBER_B = '777788889999';
const HOME: GrantAccount = { accountId: SECURITY, home: true };
const IN_A: GrantAccount = { accountId: MEMBER_A, home: false };
const IN_B: GrantAccount = { accountId: MEMBER_B, home: false };

const grant = (overrides: Partial<Grant> = {}): Grant =>
  ({
    grantId: GRANT_ID,
    kind: 'security-group-rule',
    target: { region: 'eu-west-1', groupId: 'sg-1', cidr: '203.0.113.7/32', port: 22, ruleId: 'sgr-1' },
    grantedTo: 'dev-alice',
    grantedBy: 'arn:aws:iam::111122223333:user/oncall-bob',
    reason: 'INC-1',
    createdAt: '2026-11-23T11:30:00.000Z',
    expiresAt: '2026-11-23T12:30:00.000Z',
    ...overrides,
  }) as Grant;

const rule = (overrides: Partial<IngressRule> = {}): IngressRule => ({
  ruleId: 'sgr-1',
  groupId: 'sg-1',
  protocol: 'tcp',
  fromPort: 22,
  toPort: 22,
  source: { kind: 'ipv4', cidr: '203.0.113.7/32' },
  tags: { [TAG]: GRANT_ID },
  ...overrides,
});

const judge = (candidate: IngressRule, grants: Grant[], where: GrantAccount = HOME) =>
  judgeRuleGrant(candidate, 'eu-west-1', where, TAG, new Map(grants.map((g) => [g.grantId, g])), LIMITS, NOW);

describe('matching a security-group rule to its grant', () => {
  it('is live when the ledger holds a running grant for exactly this rule', () => {
    // Act / Assess
    expect(judge(rule(), [grant()])).toEqual({
      status: 'live',
      grantId: GRANT_ID,
      expiresAt: '2026-11-23T12:30:00.000Z',
    });
  });

  it.each([
    ['no tag', rule({ tags: {} }), [grant()], { status: 'untagged' }],
    ['a tag the ledger does not hold', rule(), [], { status: 'unknown' }],
    [
      'a tag that is not a grant id',
      rule({ tags: { [TAG]: 'please-keep' } }),
      [grant()],
      { status: 'unknown' },
    ],
    [
      'an expired grant',
      rule(),
      [grant({ expiresAt: '2026-11-23T11:59:59.000Z' })],
      { status: 'expired', grantId: GRANT_ID, endedAt: '2026-11-23T11:59:59.000Z' },
    ],
    [
      'a revoked grant',
      rule(),
      [
        grant({
          revokedAt: '2026-11-23T11:45:00.000Z',
          revokedBy: 'arn:aws:iam::111122223333:user/oncall-bob',
        }),
      ],
      { status: 'revoked', grantId: GRANT_ID, endedAt: '2026-11-23T11:45:00.000Z' },
    ],
    [
      'the tag copied onto another rule',
      rule({ ruleId: 'sgr-2' }),
      [grant()],
      { status: 'mismatch', grantId: GRANT_ID },
    ],
    [
      'a wider port range',
      rule({ fromPort: 0, toPort: 65535 }),
      [grant()],
      { status: 'mismatch', grantId: GRANT_ID },
    ],
    [
      'another address',
      rule({ source: { kind: 'ipv4', cidr: '203.0.113.0/24' } }),
      [grant()],
      { status: 'mismatch', grantId: GRANT_ID },
    ],
    [
      'an IAM key grant',
      rule(),
      [grant({ kind: 'iam-ssh-key', target: { userName: 'dev-alice' } } as Partial<Grant>)],
      { status: 'mismatch', grantId: GRANT_ID },
    ],
    [
      'a grant beyond the limits (a /8 written straight into the table)',
      rule({ source: { kind: 'ipv4', cidr: '10.0.0.0/8' } }),
      [
        grant({
          target: { region: 'eu-west-1', groupId: 'sg-1', cidr: '10.0.0.0/8', port: 22, ruleId: 'sgr-1' },
        } as Partial<Grant>),
      ],
      { status: 'ignored', grantId: GRANT_ID, why: 'it opens 10.0.0.0/8, broader than /24 for IPv4' },
    ],
  ])('is not live with %s', (_case, candidate, grants, expected) => {
    // Act / Assess
    expect(judge(candidate, grants)).toEqual(expected);
  });

  it('accepts a grant whose rule id is not recorded yet (between authorize and the ledger update)', () => {
    // Prepare
    const pending = grant({
      target: { region: 'eu-west-1', groupId: 'sg-1', cidr: '203.0.113.7/32', port: 22 },
    } as Partial<Grant>);
    // Act / Assess
    expect(grantCoversRule(pending, rule({ ruleId: 'sgr-9' }), 'eu-west-1', HOME)).toBe(true);
    expect(grantCoversRule(pending, rule(), 'us-east-1', HOME)).toBe(false);
  });
});

describe('a grant covers the paths of its own account only', () => {
  it('takes a grant naming no account for the security account’s, as every grant was before grants named one', () => {
    // Act / Assess
    expect([grantInAccount(grant(), HOME), grantInAccount(grant(), IN_A)]).toEqual([true, false]);
  });

  it('takes a grant naming an account for that account’s alone, the security account included', () => {
    // Prepare
    const inA = grant({ account: MEMBER_A });
    const atHome = grant({ account: SECURITY });
    // Act / Assess
    expect(
      [inA, atHome].map((each) => [HOME, IN_A, IN_B].map((where) => grantInAccount(each, where))),
    ).toEqual([
      [false, true, false],
      [true, false, false],
    ]);
  });

  it('judges a member A grant live on its rule in A, and as no grant of B or the security account on a same-id rule there', () => {
    // Prepare: group and rule ids as the tag names them, in each account
    const inA = grant({ account: MEMBER_A });
    // Act / Assess
    expect(judge(rule(), [inA], IN_A)).toMatchObject({ status: 'live', grantId: GRANT_ID });
    expect(judge(rule(), [inA], IN_B)).toEqual({ status: 'unknown' });
    expect(judge(rule(), [inA], HOME)).toEqual({ status: 'unknown' });
    expect(grantCoversRule(inA, rule(), 'eu-west-1', IN_A)).toBe(true);
    expect(grantCoversRule(inA, rule(), 'eu-west-1', IN_B)).toBe(false);
    expect(grantCoversRule(inA, rule(), 'eu-west-1', HOME)).toBe(false);
  });

  it("never lets the security account's grant cover a member's same-named user or same-id rule", () => {
    // Prepare
    const atHome = grant();
    const userAtHome = grant({ kind: 'iam-ssh-key', target: { userName: 'dev-alice' } } as Partial<Grant>);
    // Act / Assess
    expect(judge(rule(), [atHome], IN_A)).toEqual({ status: 'unknown' });
    expect(liveUserGrant('dev-alice', IN_A, [userAtHome], LIMITS, NOW)).toBeUndefined();
    expect(liveUserGrant('dev-alice', HOME, [userAtHome], LIMITS, NOW)?.grantId).toBe(GRANT_ID);
  });

  it("finds a member's user grant only in that member, live, ignored or ended", () => {
    // Prepare
    const user = (overrides: Partial<Grant>) =>
      grant({
        kind: 'iam-ssh-key',
        target: { userName: 'dev-alice' },
        account: MEMBER_A,
        ...overrides,
      } as Partial<Grant>);
    const live = user({});
    const week = user({ grantId: 'sshg-20261123T113000-00000001', expiresAt: '2026-11-30T11:30:00.000Z' });
    const ended = user({ grantId: 'sshg-20261123T113000-00000002', expiresAt: '2026-11-23T11:45:00.000Z' });
    // Act / Assess
    expect(liveUserGrant('dev-alice', IN_A, [live], LIMITS, NOW)?.grantId).toBe(GRANT_ID);
    expect(liveUserGrant('dev-alice', IN_B, [live], LIMITS, NOW)).toBeUndefined();
    expect(ignoredUserGrant('dev-alice', IN_A, [week], LIMITS, NOW)?.grant).toBe(week);
    expect(ignoredUserGrant('dev-alice', HOME, [week], LIMITS, NOW)).toBeUndefined();
    expect(lastEndedUserGrant('dev-alice', IN_A, [ended], NOW)).toBe(ended);
    expect(lastEndedUserGrant('dev-alice', IN_B, [ended], NOW)).toBeUndefined();
  });
});

describe('IAM key grants of a user', () => {
  const userGrant = (id: string, overrides: Partial<Grant>) =>
    grant({
      grantId: id,
      kind: 'iam-ssh-key',
      target: { userName: 'dev-alice' },
      ...overrides,
    } as Partial<Grant>);

  it('finds the live grant that runs longest, and the one that ended last', () => {
    // Prepare
    const grants = [
      userGrant('a', { expiresAt: '2026-11-23T12:10:00.000Z' }),
      userGrant('b', { expiresAt: '2026-11-23T13:00:00.000Z' }),
      userGrant('c', { expiresAt: '2026-11-23T11:00:00.000Z' }),
      userGrant('d', { expiresAt: '2026-11-23T13:00:00.000Z', revokedAt: '2026-11-23T11:50:00.000Z' }),
      grant({ grantId: 'e', kind: 'iam-ssh-key', target: { userName: 'someone-else' } } as Partial<Grant>),
    ];
    // Act / Assess
    expect(liveUserGrant('dev-alice', HOME, grants, LIMITS, NOW)?.grantId).toBe('b');
    expect(lastEndedUserGrant('dev-alice', HOME, grants, NOW)?.grantId).toBe('d');
    expect(liveUserGrant('nobody', HOME, grants, LIMITS, NOW)).toBeUndefined();
  });

  it('passes over a live grant beyond the limits, and names it with why', () => {
    // Prepare: the longest-running grant lasts a week, over the 12 h cap
    const grants = [
      userGrant('a', { expiresAt: '2026-11-23T12:10:00.000Z' }),
      userGrant('week', { expiresAt: '2026-11-30T11:30:00.000Z' }),
    ];
    // Act / Assess
    expect(liveUserGrant('dev-alice', HOME, grants, LIMITS, NOW)?.grantId).toBe('a');
    expect(ignoredUserGrant('dev-alice', HOME, grants, LIMITS, NOW)).toEqual({
      grant: grants[1],
      why: 'it lasts 168h, over the cap of 12h (SSH_GRANT_MAX_TTL_MINUTES=720)',
    });
    expect(ignoredUserGrant('dev-alice', HOME, grants.slice(0, 1), LIMITS, NOW)).toBeUndefined();
  });
});
