import { type Incident, StepResult } from '../model';
import { IncidentStatus } from './lifecycle';

/**
 * How long a resource was exposed: from detection until the drift ended. The alert and the auditor's
 * report both say it, from the same record, so they cannot disagree.
 */

/**
 * When the remediation was verified: the successful Verify step (the read-back that proved the
 * resource compliant; the pipeline says remediated only after it). Steps record their start, so this is
 * when the proving read began. Records without one fall back to the last succeeded step, then updatedAt.
 */
export function verifiedAt(incident: Incident): string {
  const succeeded = incident.steps.filter((step) => step.result === StepResult.Succeeded);
  const verify = succeeded.filter((step) => step.action === 'Verify').at(-1);
  return (verify ?? succeeded.at(-1))?.at ?? incident.updatedAt;
}

/** The statuses in which the drift has ended. */
export const CLOSED: readonly IncidentStatus[] = [IncidentStatus.Remediated, IncidentStatus.Resolved];

/**
 * When the drift ended, if it had by `until` with the incident in `status` then: the recorded change
 * into that closed status, else the record's best time.
 */
export function closedAt(incident: Incident, status: IncidentStatus, until: Date): string | null {
  if (!CLOSED.includes(status)) return null;
  const recorded = (incident.transitions ?? [])
    .filter((transition) => transition.to === status && Date.parse(transition.at) <= until.getTime())
    .at(-1);
  if (recorded) return recorded.at;
  // Recorded before the history: the verifying read, or the last write while it was not later than the end.
  if (status === IncidentStatus.Remediated) return verifiedAt(incident);
  return Date.parse(incident.updatedAt) <= until.getTime() ? incident.updatedAt : null;
}

export interface ExposureWindow {
  detectedAt: string;
  /** When the drift ended; null while it has not. */
  closedAt: string | null;
  /** Detection to closedAt; null while still exposed. */
  exposedMs: number | null;
  /** A person reversed the fix (`incidents undo`): exposed again from then on. */
  reopenedAt?: string;
}

const NO_END = new Date(8.64e15);

const lengthOf = (incident: Incident, closed: string | null): number | null =>
  closed === null ? null : Math.max(0, Date.parse(closed) - Date.parse(incident.detectedAt));

/** The incident's exposure as its record says now. */
export function exposureWindow(incident: Incident): ExposureWindow {
  const { detectedAt } = incident;
  if (incident.status !== IncidentStatus.Undone || !incident.undo) {
    const closed = closedAt(incident, incident.status, NO_END);
    return { detectedAt, closedAt: closed, exposedMs: lengthOf(incident, closed) };
  }
  // Undone: closed by the verified fix (if it was verified) and open again since the person's undo.
  const fixed = (incident.transitions ?? []).filter((move) => move.to === IncidentStatus.Remediated).at(-1);
  const verify = incident.steps.some(
    (step) => step.action === 'Verify' && step.result === StepResult.Succeeded,
  );
  const closed = fixed?.at ?? (verify ? verifiedAt(incident) : null);
  return {
    detectedAt,
    closedAt: closed,
    exposedMs: lengthOf(incident, closed),
    reopenedAt: incident.undo.startedAt,
  };
}
