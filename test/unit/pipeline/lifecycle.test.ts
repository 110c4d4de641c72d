import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  canMove,
  claimIfStale,
  ForbiddenTransition,
  IncidentStatus,
  moveIncident,
  TRANSITIONS,
} from '../../../shared/pipeline/lifecycle';

const { Open, Remediating, Remediated, Failed, Exempted, Resolved, Undone } = IncidentStatus;

/** The moves the code makes, and where: each must stay allowed. */
const MADE_BY_THE_CODE: readonly [IncidentStatus, IncidentStatus, string][] = [
  [Open, Exempted, 'respond: an exemption in force'],
  [Open, Open, 'respond: notify mode or the guard'],
  [Open, Remediating, 'respond: enforce'],
  [Remediating, Remediating, 'remediateAndFinish: waiting for AWS'],
  [Remediating, Remediated, 'remediateAndFinish: verified'],
  [Remediating, Open, 'remediateAndFinish: the rule declined'],
  [Remediating, Failed, 'remediateAndFinish, resumeRemediation: failed, stuck, resource gone'],
  [Open, Resolved, 'resolveOpenDrift: compliant again'],
  [Failed, Resolved, 'resolveOpenDrift: compliant again'],
  [Exempted, Resolved, 'resolveOpenDrift: compliant again'],
  [Resolved, Resolved, 'resolveOpenDrift: a lock left by a crash'],
  [Remediated, Resolved, 'deletionEnded: the resource exists again'],
  [Undone, Resolved, 'deletionEnded: the resource exists again'],
  [Open, Resolved, 'ssh lockdown: superseded (left open by notify mode or the guard)'],
  [Failed, Resolved, 'ssh lockdown: superseded'],
  [Exempted, Resolved, 'ssh lockdown --ignore-exemptions: superseded'],
  [Remediated, Undone, 'incidents undo'],
  [Failed, Undone, 'incidents undo'],
  [Open, Resolved, 'ssh grant, ssh revoke: the calls ran'],
  [Open, Failed, 'ssh grant, ssh revoke: a call failed'],
];

const fakeStore = () => {
  const setStatus = jest.fn<Promise<boolean>, [string, IncidentStatus, IncidentStatus, string?]>(
    async () => true,
  );
  return { setStatus, get: jest.fn(async () => undefined) };
};

describe('the incident lifecycle', () => {
  it.each(MADE_BY_THE_CODE)('moves %s → %s (%s)', async (from, to) => {
    // Prepare
    const store = fakeStore();
    // Act
    await moveIncident(store, { incidentId: 'inc-1', status: from }, to, 'why');
    // Assess
    expect(store.setStatus).toHaveBeenCalledWith('inc-1', from, to, 'why');
  });

  it('refuses to call an undone incident remediated, and writes nothing', async () => {
    // Prepare
    const store = fakeStore();
    // Act
    const moved = moveIncident(store, { incidentId: 'inc-1', status: Undone }, Remediated);
    // Assess
    await expect(moved).rejects.toThrow(ForbiddenTransition);
    await expect(moved).rejects.toThrow('cannot move from undone to remediated');
    expect(store.setStatus).not.toHaveBeenCalled();
  });

  it.each([
    [Remediated, Remediating],
    [Failed, Remediated],
    [Exempted, Remediating],
    // resolved → open is allowed: a finding a mitigation did not cover reopens the incident.
    [Resolved, Remediating],
    [Remediating, Undone],
    [Undone, Undone],
  ])('refuses %s → %s', (from, to) => {
    // Act / Assess
    expect(canMove(from, to)).toBe(false);
  });

  it('is rendered in docs/lifecycle.md exactly', () => {
    // Prepare
    const doc = readFileSync(join(__dirname, '../../../docs/lifecycle.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z]+)` \| [^|]+ \| (.+) \|$/gm)];
    // Act
    const rendered = Object.fromEntries(
      rows.map(([, from, to]) => [from, (to ?? '').split(', ').map((status) => status.replace(/`/g, ''))]),
    );
    // Assess
    expect(rendered).toEqual(TRANSITIONS);
  });
});

describe('the stale claim', () => {
  const now = new Date('2026-01-01T00:10:00Z');
  const claimStore = (wins: boolean) => ({ claim: jest.fn(async () => wins) });

  it('leaves an incident touched within the stale window to the process working on it', async () => {
    // Prepare
    const store = claimStore(true);
    // Act
    const claimed = await claimIfStale(
      store,
      { incidentId: 'inc-1', updatedAt: '2026-01-01T00:09:00Z' },
      { staleSeconds: 300, now },
    );
    // Assess
    expect(claimed).toBe(false);
    expect(store.claim).not.toHaveBeenCalled();
  });

  it('claims an idle incident conditionally on the updatedAt it read, and loses to another claimer', async () => {
    // Prepare
    const store = claimStore(false);
    // Act
    const claimed = await claimIfStale(
      store,
      { incidentId: 'inc-1', updatedAt: '2026-01-01T00:04:00Z' },
      { staleSeconds: 300, now },
    );
    // Assess
    expect(claimed).toBe(false);
    expect(store.claim).toHaveBeenCalledWith('inc-1', '2026-01-01T00:04:00Z');
  });

  it('claims a recent incident when asked to (a remediation waiting for AWS)', async () => {
    // Prepare
    const store = claimStore(true);
    // Act
    const claimed = await claimIfStale(
      store,
      { incidentId: 'inc-1', updatedAt: '2026-01-01T00:09:00Z' },
      { staleSeconds: 300, now, evenIfRecent: true },
    );
    // Assess
    expect(claimed).toBe(true);
  });
});
