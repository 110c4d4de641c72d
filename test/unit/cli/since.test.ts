import { UsageError } from '../../../cli/errors';
import { parseSince } from '../../../cli/since';

describe('parseSince', () => {
  const now = new Date('2026-11-24T12:00:00Z');

  it.each([
    ['30d', '2026-10-25T12:00:00.000Z'],
    ['12h', '2026-11-24T00:00:00.000Z'],
    ['90m', '2026-11-24T10:30:00.000Z'],
    ['2026-11-01', '2026-11-01T00:00:00.000Z'],
    ['2026-11-20T08:00:00Z', '2026-11-20T08:00:00.000Z'],
  ])('reads %s', (text, expected) => {
    // Act / Assess
    expect(parseSince(text, now).toISOString()).toBe(expected);
  });

  it.each(['', '30', 'yesterday', '-3d', '3w', '2026-13-45', '2027-01-01'])(
    'refuses %p with a usage error',
    (text) => {
      // Act / Assess
      expect(() => parseSince(text, now)).toThrow(UsageError);
      expect(() => parseSince(text, now)).toThrow(/--since/);
    },
  );
});
