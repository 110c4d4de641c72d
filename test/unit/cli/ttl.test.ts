import { UsageError } from '../../../cli/errors';
import { formatMinutes, parseTtl } from '../../../cli/ttl';

describe('grant durations', () => {
  it.each([
    ['30m', 30],
    ['1h', 60],
    ['90m', 90],
    ['1h30m', 90],
    [' 2H ', 120],
  ])('reads %j as %i minutes', (text, minutes) => {
    // Act / Assess
    expect(parseTtl(text)).toBe(minutes);
  });

  it.each(['', '1d', '60', 'h', '1.5h', '-5m', '0m', '1m30h'])('refuses %j as a usage mistake', (text) => {
    // Act / Assess
    expect(() => parseTtl(text)).toThrow(UsageError);
  });

  it('prints minutes the way people write them', () => {
    // Assess
    expect([45, 60, 90, 720].map(formatMinutes)).toEqual(['45m', '1h', '1h30m', '12h']);
  });
});
