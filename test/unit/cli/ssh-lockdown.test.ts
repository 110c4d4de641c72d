import { guardRoom } from '../../../cli/ssh-lockdown';
import type { GuardStatus } from '../../../shared/pipeline/guards';

const status = (overrides: Partial<GuardStatus> = {}): GuardStatus => ({
  tripped: false,
  counted: 7,
  threshold: 10,
  windowMinutes: 60,
  ...overrides,
});

describe("the blast-radius guard's answer to a lockdown", () => {
  it('has room for as many paths as the window still allows', () => {
    // Act
    const room = guardRoom(status(), 3);
    // Assess
    expect(room).toEqual({ tripped: false, counted: 7, threshold: 10, windowMinutes: 60, room: 3 });
  });

  it('refuses more paths than the window allows, saying how many and how full it is', () => {
    // Act
    const room = guardRoom(status(), 4);
    // Assess
    expect(room.refusal).toBe(
      'this lockdown would close 4 SSH path(s), and the blast-radius guard has room for 3 (7 of 10 remediation(s) counted in 60 minutes)',
    );
  });

  it('refuses any path while tripped, and nothing when there is nothing to close', () => {
    // Act
    const tripped = guardRoom(
      status({ tripped: true, trippedAt: '2026-11-23T12:00:00.000Z', counted: 0 }),
      1,
    );
    const nothing = guardRoom(status({ tripped: true, counted: 0 }), 0);
    // Assess
    expect(tripped).toMatchObject({ room: 0 });
    expect(tripped.refusal).toBe(
      'the blast-radius guard is tripped (since 2026-11-23T12:00:00.000Z): it allows no remediation until a person resets it, and this lockdown would close 1 SSH path(s)',
    );
    expect(nothing.refusal).toBeUndefined();
  });

  it('counts a window already past its threshold as no room', () => {
    // Act / Assess
    expect(guardRoom(status({ counted: 12 }), 1)).toMatchObject({ room: 0 });
  });
});
