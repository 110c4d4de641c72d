import { ResponderError } from '../errors';
import type { Incident } from '../model';
import type { IncidentStore } from './incident-store';

/**
 * An incident's lifecycle, in one place: its statuses (the stored strings), the moves between them
 * (docs/lifecycle.md renders the table; a unit test keeps the two equal), and the one function every
 * status change goes through.
 */
export const IncidentStatus = {
  Open: 'open',
  Remediating: 'remediating',
  Remediated: 'remediated',
  Failed: 'failed',
  Exempted: 'exempted',
  /** In the vocabulary (stored values, alerts, the CLI filter) but written by no code path today. */
  Suppressed: 'suppressed',
  Resolved: 'resolved',
  /** A person replayed the recorded undo calls (`incidents undo`); see Incident.undo. */
  Undone: 'undone',
} as const;
export type IncidentStatus = (typeof IncidentStatus)[keyof typeof IncidentStatus];

const { Open, Remediating, Remediated, Failed, Exempted, Suppressed, Resolved, Undone } = IncidentStatus;

/**
 * Every status an incident may move to from each status, and why. An incident is opened `open`.
 * A move to the same status only rewrites the reason (notify mode, waiting for AWS).
 */
export const TRANSITIONS: Readonly<Record<IncidentStatus, readonly IncidentStatus[]>> = {
  // Decided (exempted; left open by notify mode, the guard or a declining rule) or remediated;
  // resolved when a later check finds it compliant; undone by a person. A person's SSH grant or
  // revoke opens `open` before its calls run, then ends resolved, or failed when a call failed.
  [Open]: [Open, Remediating, Exempted, Resolved, Undone, Failed],
  // Waits (reason rewritten), verified done, declined by the rule, failed or stuck.
  [Remediating]: [Remediating, Remediated, Open, Failed],
  // A deleted resource that exists again is judged afresh; a person may undo the fix.
  [Remediated]: [Resolved, Undone],
  [Failed]: [Resolved, Undone],
  [Exempted]: [Resolved, Undone],
  [Suppressed]: [Resolved, Undone],
  // Resolved again by a check that finds its lock still held (a crash before it was released);
  // open again when a mitigated incident's resource shows a finding its mitigation did not cover.
  [Resolved]: [Resolved, Open, Undone],
  // A deleted resource that exists again is judged afresh, even after an undo.
  [Undone]: [Resolved],
};

export const canMove = (from: IncidentStatus, to: IncidentStatus): boolean => TRANSITIONS[from].includes(to);

/** A status change the lifecycle does not allow: a bug, never written. */
export class ForbiddenTransition extends ResponderError {
  override name = 'ForbiddenTransition';
}

/**
 * What a move did: this writer moved the incident, or another writer changed its status first and
 * `current` is the incident as that writer left it (read again). The loser decides from `current`;
 * it never writes over the winner.
 */
export type Move = { readonly moved: true } | { readonly moved: false; readonly current: Incident };

type StatusStore = Pick<IncidentStore, 'setStatus' | 'get'>;

/**
 * The one way an incident's status changes: checked against the table, then written only if the
 * incident still has the status this writer read (so a lost race cannot move it backwards or out
 * of a final status).
 */
export async function moveIncident(
  store: StatusStore,
  incident: Pick<Incident, 'incidentId' | 'status'>,
  to: IncidentStatus,
  statusReason?: string,
): Promise<Move> {
  if (!canMove(incident.status, to)) {
    throw new ForbiddenTransition(
      `incident ${incident.incidentId} cannot move from ${incident.status} to ${to} (docs/lifecycle.md)`,
    );
  }
  if (await store.setStatus(incident.incidentId, incident.status, to, statusReason)) return { moved: true };
  const current = await store.get(incident.incidentId);
  if (!current) throw new ResponderError(`incident ${incident.incidentId} no longer exists`);
  return { moved: false, current };
}

/** How often recordMove reads again after a lost race before it gives up. */
const RECORD_ATTEMPTS = 3;

/**
 * Records a change that already happened whatever the incident's status says now (`incidents undo`
 * replayed its calls): after a lost race, moves again from the status read again, as long as the
 * lifecycle allows the move from there.
 */
export async function recordMove(
  store: StatusStore,
  incident: Pick<Incident, 'incidentId' | 'status'>,
  to: IncidentStatus,
  statusReason?: string,
): Promise<Move> {
  let move = await moveIncident(store, incident, to, statusReason);
  for (let attempt = 1; attempt < RECORD_ATTEMPTS && !move.moved; attempt++) {
    if (!canMove(move.current.status, to)) return move;
    move = await moveIncident(store, move.current, to, statusReason);
  }
  return move;
}

/**
 * Takes up an incident nobody seems to be working on: idle at least `staleSeconds` (longer than any
 * Lambda timeout, so its process died) or `evenIfRecent` (it waits for AWS, nobody runs it), and
 * only if this caller's conditional claim wins, so two resumers never both act.
 */
export async function claimIfStale(
  store: Pick<IncidentStore, 'claim'>,
  incident: Pick<Incident, 'incidentId' | 'updatedAt'>,
  { staleSeconds, now, evenIfRecent = false }: { staleSeconds: number; now: Date; evenIfRecent?: boolean },
): Promise<boolean> {
  const idleMs = now.getTime() - new Date(incident.updatedAt).getTime();
  if (!evenIfRecent && idleMs < staleSeconds * 1000) return false;
  return store.claim(incident.incidentId, incident.updatedAt);
}
