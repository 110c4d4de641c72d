import {
  describeRule,
  exposedPorts,
  type IngressRule,
  opensToNarrowSource,
  opensToWorld,
  summarizeRules,
  toIpPermission,
} from '../../../shared/ssh/exposure';

const rule = (overrides: Partial<IngressRule>): IngressRule => ({
  ruleId: 'sgr-0000000000000001',
  groupId: 'sg-0000000000000001',
  protocol: 'tcp',
  fromPort: 22,
  toPort: 22,
  source: { kind: 'ipv4', cidr: '0.0.0.0/0' },
  tags: {},
  ...overrides,
});

describe('SSH exposure of an ingress rule', () => {
  it.each([
    ['tcp 22', rule({}), [22]],
    ['a tcp range covering 22', rule({ fromPort: 0, toPort: 1000 }), [22]],
    ['a tcp range covering both ports', rule({ fromPort: 20, toPort: 4000 }), [22, 3389]],
    ['protocol 6 (tcp by number)', rule({ protocol: '6' }), [22]],
    ['all traffic (-1)', rule({ protocol: '-1', fromPort: -1, toPort: -1 }), [22, 3389]],
    ['tcp without ports', rule({ fromPort: -1, toPort: -1 }), [22, 3389]],
    ['udp 22 (not SSH)', rule({ protocol: 'udp' }), []],
    ['icmp', rule({ protocol: 'icmp', fromPort: -1, toPort: -1 }), []],
    ['tcp 23-3388', rule({ fromPort: 23, toPort: 3388 }), []],
  ])('%s exposes %j', (_case, candidate, ports) => {
    // Act / Assess
    expect(exposedPorts(candidate, [22, 3389])).toEqual(ports);
  });

  it.each([
    ['IPv4 anywhere', { kind: 'ipv4', cidr: '0.0.0.0/0' }, true, false],
    ['IPv6 anywhere', { kind: 'ipv6', cidr: '::/0' }, true, false],
    [
      'a prefix list holding 0.0.0.0/0',
      { kind: 'prefix-list', prefixListId: 'pl-1', cidrs: ['10.0.0.0/8', '0.0.0.0/0'] },
      true,
      false,
    ],
    [
      'a prefix list of offices',
      { kind: 'prefix-list', prefixListId: 'pl-2', cidrs: ['198.51.100.0/24'] },
      false,
      true,
    ],
    ['one address', { kind: 'ipv4', cidr: '203.0.113.7/32' }, false, true],
    ['an IPv6 /64', { kind: 'ipv6', cidr: '2001:db8::/64' }, false, true],
    ['another security group', { kind: 'security-group', groupId: 'sg-0000000000000002' }, false, false],
  ] as const)('%s: world %s, narrow %s', (_case, source, world, narrow) => {
    // Prepare
    const candidate = rule({ source });
    // Act / Assess
    expect(opensToWorld(candidate, [22])).toBe(world);
    expect(opensToNarrowSource(candidate, [22])).toBe(narrow);
  });

  it('never calls a rule that misses every configured port an exposure', () => {
    // Prepare
    const https = rule({ fromPort: 443, toPort: 443 });
    // Act / Assess
    expect(opensToWorld(https, [22])).toBe(false);
    expect(opensToNarrowSource({ ...https, source: { kind: 'ipv4', cidr: '203.0.113.7/32' } }, [22])).toBe(
      false,
    );
  });

  it.each([
    [
      'an IPv4 rule with its description',
      rule({ description: 'ops' }),
      {
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'ops' }],
      },
    ],
    [
      'an IPv6 range',
      rule({ fromPort: 0, toPort: 1000, source: { kind: 'ipv6', cidr: '::/0' } }),
      { IpProtocol: 'tcp', FromPort: 0, ToPort: 1000, Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
    ],
    [
      'all traffic, without ports',
      rule({ protocol: '-1', fromPort: -1, toPort: -1 }),
      { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
    ],
    [
      'a prefix list',
      rule({ source: { kind: 'prefix-list', prefixListId: 'pl-1', cidrs: ['0.0.0.0/0'] } }),
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, PrefixListIds: [{ PrefixListId: 'pl-1' }] },
    ],
    [
      'a referenced group of another account',
      rule({ source: { kind: 'security-group', groupId: 'sg-2', userId: '111122223333' } }),
      {
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        UserIdGroupPairs: [{ GroupId: 'sg-2', UserId: '111122223333' }],
      },
    ],
  ])('recreates %s exactly in its undo, without tags', (_case, candidate, permission) => {
    // Act / Assess
    expect(toIpPermission({ ...candidate, tags: { secret: 'value' } })).toEqual(permission);
  });

  it('describes rules in bounded words', () => {
    // Prepare
    const rules = Array.from({ length: 7 }, (_, index) => rule({ ruleId: `sgr-${index}` }));
    // Act
    const text = summarizeRules(rules, 2);
    // Assess
    expect(describeRule(rules[0] as IngressRule)).toBe('sgr-0 (tcp 22 from 0.0.0.0/0)');
    expect(text).toBe('sgr-0 (tcp 22 from 0.0.0.0/0), sgr-1 (tcp 22 from 0.0.0.0/0) and 5 more');
  });
});
