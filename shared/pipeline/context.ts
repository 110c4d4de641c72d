import type { AwsClients } from '../aws/clients';
import type { Settings } from '../config';
import type { ExemptionLedger } from '../exemptions/ledger';
import type { Incident } from '../model';
import type { AccountAccess } from '../organisation/accounts';
import type { Rule } from '../rules/rule';
import type { AlertPublisher } from './alerts';
import type { DeliveryReader } from './delivery-reads';
import type { BlastRadiusGuard } from './guards';
import type { IncidentStore } from './incident-store';
import type { UnitQueue } from './sweep-units';

export interface PipelineLogger {
  info(message: string, ...fields: Record<string, unknown>[]): void;
  warn(message: string, ...fields: Record<string, unknown>[]): void;
  error(message: string, ...fields: Record<string, unknown>[]): void;
}

export interface PipelineMetrics {
  count(name: string, value?: number): void;
}

export interface PipelineDeps {
  aws: AwsClients;
  settings: Settings;
  store: IncidentStore;
  alerts: AlertPublisher;
  /**
   * Only its acquire(): `ssh lockdown --emergency` passes one that counts without refusing.
   * forAccount(): a member account's own guard (organisation deployments: shared/pipeline/accounts.ts).
   */
  guard: Pick<BlastRadiusGuard, 'acquire'> & Partial<Pick<BlastRadiusGuard, 'forAccount'>>;
  /** Exemptions in force (the ledger); exemption tags alone are only a request. */
  exemptions: ExemptionLedger;
  /**
   * What a delivery reads before it decides, in one batched read (the functions': issue 21).
   * Absent: each port is asked on its own (readEachPort), and the guard reads its own items.
   */
  reads?: DeliveryReader;
  logger: PipelineLogger;
  metrics: PipelineMetrics;
  now?: () => Date;
  /**
   * The invocation's time left, in ms (Lambda's context.getRemainingTimeInMillis; the handler points
   * it at each invocation's context). Absent: no deadline (local runs, the command line). A sweep
   * unit stops taking on resources by it; an EC2 wait of a remediation ends before it.
   */
  remainingMs?: () => number;
  /**
   * An organisation deployment's way into its member accounts (shared/pipeline/accounts.ts).
   * Absent: every observation is of this account.
   */
  accounts?: AccountAccess;
  /** The rule's sweep queue: scheduled sweeps plan units onto it. Absent: sweeps run inline. */
  units?: UnitQueue;
  /** Verification read-back: attempts and first delay (tests shorten them). */
  verify?: { attempts: number; delayMs: number };
  /**
   * Set by `ssh lockdown`, one human action over many incidents: an incident's alert is recorded
   * pending and handed here instead of published, and the lockdown sends one alert for them all,
   * then records it sent on each. A crash before that leaves them pending: the sweep sends each its own.
   */
  holdAlert?(incident: Incident): void;
}

/** What every module of one rule's pipeline works with. */
export interface PipelineContext {
  readonly rule: Rule;
  readonly deps: PipelineDeps;
  readonly now: () => Date;
}
