import { errorMessage, ResponderError } from '../errors';
import type { AlertRecord, Incident, Step, Workflow } from '../model';
import type { IncidentStore, OpenResult, Move as StatusMove } from './incident-store';
import { canMove, ForbiddenTransition, type IncidentStatus, type Move } from './lifecycle';

/** The delivery could not open its incident: it collapses on the one that `result` names. */
export class NotOpened extends ResponderError {
  override name = 'NotOpened';
  constructor(readonly result: Extract<OpenResult, { opened: false }>) {
    super(`incident not opened: ${result.collapsedOn} of ${result.existingIncidentId}`);
  }
}

/** Another writer changed the incident's status since this one last wrote it: what it decided stands. */
export class LostToAnotherWriter extends ResponderError {
  override name = 'LostToAnotherWriter';
  constructor(readonly current: Incident) {
    super(`incident ${current.incidentId} was changed by another writer (now ${current.status})`);
  }
}

/** The intent of an AWS change could not be written: the change was not made. */
export class IntentNotWritten extends ResponderError {
  override name = 'IntentNotWritten';
}

/**
 * The write-ahead record of one incident's response (issue 21: a remediation of n AWS changes costs
 * at most n + 2 writes). What the record owes (status moves, step results, workflow state) is kept
 * here and written only where it must be durable:
 * - before each AWS change, with that change's intent (`intent`); a new incident's first write
 *   opens it (delivery marker, drift lock, incident), already saying what it is about to do;
 * - before the alert, with the final status and the alert recorded pending (`flush`); the message
 *   id and the drift lock's release then share one transaction (notify.ts).
 * A crash loses at most a result whose intent is written: a resume reads the resource again before
 * it changes anything, as it always has. Every write is conditional on the status last written, so
 * a writer that lost a race never writes over the winner.
 */
export class Journal {
  private known: Incident;
  private moves: StatusMove[] = [];
  private owesSteps = false;
  private owesWorkflow = false;

  private constructor(
    private readonly store: IncidentStore,
    incident: Incident,
    private readonly now: () => Date,
    /** Set until the incident is opened by this journal's first write. */
    private opening?: { deliveryKey: string },
  ) {
    this.known = { ...incident, steps: [...incident.steps] };
  }

  /** An incident already in the table. */
  static of(store: IncidentStore, incident: Incident, now: () => Date): Journal {
    return new Journal(store, incident, now);
  }

  /** A new incident, opened by the first write this journal makes (NotOpened if it collapses). */
  static opening(store: IncidentStore, incident: Incident, deliveryKey: string, now: () => Date): Journal {
    return new Journal(store, incident, now, { deliveryKey });
  }

  /** Has a write of this journal opened the incident (or was it in the table already)? */
  get opened(): boolean {
    return this.opening === undefined;
  }

  /** The incident as written, with what it owes applied. */
  get incident(): Incident {
    return this.known;
  }

  /** A status move, checked against the lifecycle now and written with the next write. */
  move(to: IncidentStatus, reason?: string): void {
    const from = this.known.status;
    if (!canMove(from, to))
      throw new ForbiddenTransition(
        `incident ${this.known.incidentId} cannot move from ${from} to ${to} (docs/lifecycle.md)`,
      );
    const at = this.now().toISOString();
    const last = this.moves.at(-1);
    // Back where the last unwritten move started (remediating, then declined or refused before
    // any change): nothing of that move was ever written, so the history keeps none of it.
    if (last && last.from === to && last.to === from)
      this.moves[this.moves.length - 1] = { from: to, to, at, reason };
    else this.moves.push({ from, to, at, reason });
    this.known = { ...this.known, status: to, statusReason: reason };
  }

  saveWorkflow(workflow: Workflow): void {
    this.known = { ...this.known, workflow };
    this.owesWorkflow = true;
  }

  /** A step that changes nothing (a read back): written with the next write, never ahead of it. */
  record(step: Step): number {
    this.owesSteps = true;
    return this.known.steps.push(step) - 1;
  }

  replace(index: number, step: Step): void {
    this.owesSteps = true;
    this.known.steps[index] = step;
  }

  /**
   * The intent of an AWS change, written before it runs with all the record owes. Throws
   * NotOpened or LostToAnotherWriter when the change must not run, and IntentNotWritten when the
   * write failed (the step is taken back: it never ran).
   */
  async intent(step: Step): Promise<number> {
    const index = this.record(step);
    let move: Move;
    try {
      move = await this.flush();
    } catch (error) {
      if (error instanceof NotOpened) throw error;
      this.known.steps.pop();
      throw new IntentNotWritten(
        `the intent of ${step.action} could not be recorded: ${errorMessage(error)}`,
        {
          cause: error,
        },
      );
    }
    if (!move.moved) throw new LostToAnotherWriter(move.current);
    return index;
  }

  /**
   * Writes what the record owes (with the alert recorded pending, if given): one write, or the
   * opening transaction. Lost to another writer: the incident as that writer left it.
   */
  async flush({ alert }: { alert?: AlertRecord } = {}): Promise<Move> {
    const incident = alert ? { ...this.known, alert } : this.known;
    if (this.opening) {
      const opened = await this.store.open(incident, this.opening.deliveryKey);
      if (!opened.opened) throw new NotOpened(opened);
      this.opening = undefined;
      return this.written(incident);
    }
    const owes = alert || this.moves.length > 0 || this.owesSteps || this.owesWorkflow;
    if (!owes) return { moved: true };
    const from = this.moves[0]?.from ?? this.known.status;
    const stored = await this.store.commit(incident.incidentId, {
      from,
      moves: this.moves,
      ...(this.owesSteps && { steps: this.known.steps }),
      ...(this.owesWorkflow && this.known.workflow && { workflow: this.known.workflow }),
      ...(alert && { alert }),
    });
    if (stored) return this.written(stored);
    const current = await this.store.get(incident.incidentId);
    if (!current) throw new ResponderError(`incident ${incident.incidentId} no longer exists`);
    return { moved: false, current };
  }

  private written(incident: Incident): Move {
    this.known = { ...incident, steps: [...incident.steps] };
    this.moves = [];
    this.owesSteps = false;
    this.owesWorkflow = false;
    return { moved: true };
  }
}
