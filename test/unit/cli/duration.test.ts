import {
  durationMs,
  formatMinutes,
  LONGEST_EXEMPTION,
  parseMinutes,
  parsePeriod,
  parseSince,
  parseUntil,
} from '../../../cli/duration';
import { UsageError } from '../../../cli/errors';

const NOW = new Date('2026-11-24T12:00:00.000Z');

describe('one grammar for every duration the command line reads', () => {
  it.each([
    ['90m', 90],
    ['1h', 60],
    ['1h30m', 90],
    [' 2H ', 120],
    ['7d', 10_080],
    ['1d12h', 2_160],
    ['2w', 20_160],
  ])('reads %j as %i minutes', (text, minutes) => {
    // Act / Assess
    expect(durationMs(text)).toBe(minutes * 60_000);
  });

  it.each(['', '60', 'h', '1.5h', '-5m', '1m30h', '3d2w', 'soon', '1h 30m'])('does not read %j', (text) => {
    // Act / Assess
    expect(durationMs(text)).toBeUndefined();
  });

  it('prints minutes the way people write them', () => {
    // Assess
    expect([45, 60, 90, 720].map(formatMinutes)).toEqual(['45m', '1h', '1h30m', '12h']);
  });
});

describe('--ttl and --exempt-for', () => {
  it('gives whole minutes', () => {
    // Act / Assess
    expect(parseMinutes('--ttl', '1h30m')).toBe(90);
    expect(parseMinutes('--exempt-for', '365d', LONGEST_EXEMPTION)).toBe(525_600);
  });

  it.each([
    ['--ttl', 'soon', undefined, 'write a duration'],
    ['--ttl', '0m', undefined, 'at least 1 minute'],
    ['--exempt-for', 'forever', LONGEST_EXEMPTION, 'write a duration'],
    ['--exempt-for', '367d', LONGEST_EXEMPTION, 'at most a year'],
  ])('refuses %s %j with a usage error naming the flag', (flag, text, longest, reason) => {
    // Act / Assess
    expect(() => parseMinutes(flag, text, longest)).toThrow(UsageError);
    expect(() => parseMinutes(flag, text, longest)).toThrow(`invalid ${flag} '${text}': ${reason}`);
  });
});

describe('--since', () => {
  it.each([
    ['30d', '2026-10-25T12:00:00.000Z'],
    ['12h', '2026-11-24T00:00:00.000Z'],
    ['90m', '2026-11-24T10:30:00.000Z'],
    ['2w', '2026-11-10T12:00:00.000Z'],
    ['2026-11-01', '2026-11-01T00:00:00.000Z'],
    ['2026-11-20T08:00:00Z', '2026-11-20T08:00:00.000Z'],
  ])('reads %s', (text, expected) => {
    // Act / Assess
    expect(parseSince(text, NOW).toISOString()).toBe(expected);
  });

  it.each(['', '30', 'yesterday', '-3d', '2026-13-45', '2027-01-01'])(
    'refuses %p with a usage error',
    (text) => {
      // Act / Assess
      expect(() => parseSince(text, NOW)).toThrow(UsageError);
      expect(() => parseSince(text, NOW)).toThrow(`invalid --since '${text}'`);
    },
  );
});

describe('--until', () => {
  it.each([
    ['30d', '2026-12-24T12:00:00.000Z'],
    ['12h', '2026-11-25T00:00:00.000Z'],
    ['2w', '2026-12-08T12:00:00.000Z'],
    ['2026-12-01', '2026-12-01T00:00:00.000Z'],
  ])('reads %s', (text, expected) => {
    // Act / Assess
    expect(parseUntil(text, NOW).toISOString()).toBe(expected);
  });

  it.each([
    ['soon', 'write a duration'],
    ['2026-11-01', 'not in the future'],
    ['400d', 'at most a year'],
  ])('refuses %s', (text, message) => {
    // Act / Assess
    expect(() => parseUntil(text, NOW)).toThrow(UsageError);
    expect(() => parseUntil(text, NOW)).toThrow(message);
  });
});

describe("report's --since and --until (a fixed period)", () => {
  it('reads both ends: a duration back from now or an ISO date', () => {
    // Act / Assess
    expect(parsePeriod('2026-07-01', '2026-10-01', NOW)).toEqual({
      since: new Date('2026-07-01T00:00:00.000Z'),
      until: new Date('2026-10-01T00:00:00.000Z'),
    });
    expect(parsePeriod('30d', '7d', NOW)).toEqual({
      since: new Date('2026-10-25T12:00:00.000Z'),
      until: new Date('2026-11-17T12:00:00.000Z'),
    });
  });

  it('ends the period now without --until', () => {
    // Act / Assess
    expect(parsePeriod('12h', undefined, NOW).until).toEqual(NOW);
  });

  it.each([
    ['30d', 'tomorrow', "invalid --until 'tomorrow': write 7d, 12h, 90m or an ISO date such as 2026-10-01"],
    ['30d', '2026-11-25', "invalid --until '2026-11-25': it is in the future"],
    ['2026-10-01', '2026-09-30', "invalid period: --until '2026-09-30' is not after --since '2026-10-01'"],
    ['7d', '30d', "invalid period: --until '30d' is not after --since '7d'"],
    ['soon', '7d', "invalid --since 'soon'"],
  ])('refuses --since %s --until %s', (since, until, message) => {
    // Act / Assess
    expect(() => parsePeriod(since, until, NOW)).toThrow(UsageError);
    expect(() => parsePeriod(since, until, NOW)).toThrow(message);
  });
});
