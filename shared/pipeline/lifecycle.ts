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
  // resolved when a later check finds it compliant; undone by a person.
  [Open]: [Open, Remediating, Exempted, Resolved, Undone],
  // Waits (reason rewritten), verified done, declined by the rule, failed or stuck.
  [Remediating]: [Remediating, Remediated, Open, Failed],
  // A deleted resource that exists again is judged afresh; a person may undo the fix.
  [Remediated]: [Resolved, Undone],
  [Failed]: [Resolved, Undone],
  [Exempted]: [Resolved, Undone],
  [Suppressed]: [Resolved, Undone],
  // Resolved again by a check that finds its lock still held (a crash before it was released).
  [Resolved]: [Resolved, Undone],
  // A deleted resource that exists again is judged afresh, even after an undo.
  [Undone]: [Resolved],
};

export const canMove = (from: IncidentStatus, to: IncidentStatus): boolean => TRANSITIONS[from].includes(to);

/** A status change the lifecycle does not allow: a bug, never written. */
export class ForbiddenTransition extends ResponderError {}

/** The one way an incident's status changes: checked against the table, then written. */
export async function moveIncident(
  store: Pick<IncidentStore, 'setStatus'>,
  incident: Pick<Incident, 'incidentId' | 'status'>,
  to: IncidentStatus,
  statusReason?: string,
): Promise<void> {
  if (!canMove(incident.status, to)) {
    throw new ForbiddenTransition(
      `incident ${incident.incidentId} cannot move from ${incident.status} to ${to} (docs/lifecycle.md)`,
    );
  }
  await store.setStatus(incident.incidentId, to, statusReason);
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
