import { isWorldCidr, parseCidr, sameCidr } from '../../../shared/ssh/cidr';

describe('CIDR blocks', () => {
  it.each([
    ['203.0.113.7/32', '203.0.113.7/32', 4, 32, false],
    ['203.0.113.7', '203.0.113.7/32', 4, 32, false],
    ['203.0.113.7/24', '203.0.113.0/24', 4, 24, true],
    ['0.0.0.0/0', '0.0.0.0/0', 4, 0, false],
    ['10.1.2.3/0', '0.0.0.0/0', 4, 0, true],
    ['::/0', '::/0', 6, 0, false],
    ['2001:DB8::7/128', '2001:db8::7/128', 6, 128, false],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1/128', 6, 128, false],
    ['2001:db8::1/64', '2001:db8::/64', 6, 64, true],
    ['::ffff:192.0.2.1/128', '::ffff:c000:201/128', 6, 128, false],
  ])('reads %s as %s', (input, text, family, prefixLength, hostBitsSet) => {
    // Act
    const cidr = parseCidr(input);
    // Assess
    expect(cidr).toEqual({ text, family, prefixLength, hostBitsSet });
  });

  it.each([
    '',
    'nonsense',
    '203.0.113.7/33',
    '203.0.113/24',
    '2001:db8::/129',
    '1.2.3.4/24/1',
    '1.2.3.4/-1',
    '1.2.3.4/ 8',
  ])('refuses %j', (input) => {
    // Act / Assess
    expect(parseCidr(input)).toBeUndefined();
  });

  it('knows the whole internet in both families, and nothing narrower', () => {
    // Assess
    expect(['0.0.0.0/0', '::/0', '0::0/0'].map(isWorldCidr)).toEqual([true, true, true]);
    expect(['0.0.0.0/1', '128.0.0.0/1', '::/1', 'garbage'].map(isWorldCidr)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it('compares IPv6 spellings by the block they name', () => {
    // Assess
    expect(sameCidr('2001:DB8:0::7/128', '2001:db8::7/128')).toBe(true);
    expect(sameCidr('203.0.113.7/32', '203.0.113.8/32')).toBe(false);
    expect(sameCidr('not-a-cidr', 'not-a-cidr')).toBe(false);
  });
});
