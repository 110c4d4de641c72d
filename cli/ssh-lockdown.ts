import type { AwsClients } from '../shared/aws/clients';
import type { Settings } from '../shared/config';
import { errorMessage } from '../shared/errors';
import {
  type ExemptionRecord,
  type Incident,
  type LockdownRecord,
  Mode,
  type Step,
  TriggerSource,
} from '../shared/model';
import type { AlertPublisher } from '../shared/pipeline/alerts';
import type { PipelineContext, PipelineDeps } from '../shared/pipeline/context';
import { BlastRadiusGuard, type GuardStatus } from '../shared/pipeline/guards';
import { buildLockdownAlert, type LockdownPath } from '../shared/pipeline/human-alerts';
import { DynamoDbIncidentStore, type IncidentStore } from '../shared/pipeline/incident-store';
import { Journal } from '../shared/pipeline/journal';
import { IncidentStatus, moveIncident } from '../shared/pipeline/lifecycle';
import { type Listing, listingsOf } from '../shared/pipeline/listings';
import { respond } from '../shared/pipeline/respond';
import { newIncidentId } from '../shared/pipeline/run-pipeline';
import { LOCKDOWN_RULES } from '../shared/rules/lockdown';
import type { Finding, Loaded, Rule } from '../shared/rules/rule';
import type { CliContext } from './context';
import { CliError, explainError, UsageError } from './errors';
import { describeCall } from './incidents-format';
import { exemptionInForce, exemptionLedger, inTable } from './ledger-access';
import type { MemberPlace } from './member-access';
import { accountsToActIn, type ScanAccount } from './scan-accounts';

export interface LockdownOptions {
  /** List what would close and whether the guard has room for it; change nothing. */
  dryRun: boolean;
  /** Close exempted paths too; each incident names the exemption it overrode. */
  ignoreExemptions: boolean;
  /** Close past the blast-radius guard (tripped, or less room than paths): counted, never refused. */
  emergency: boolean;
  /** Why (`--reason`): recorded in each incident and sent to on-call; required unless dryRun. */
  reason?: string;
  /**
   * `--account`: these accounts (ids), or every ACTIVE account of the organisation (`all`), a member
   * through its member on-call role; absent: the caller's own account, as without the option.
   */
  accounts?: readonly string[] | 'all';
  /** Asked once every account's plan is shown; false cancels with nothing changed anywhere. */
  confirm(run: LockdownRun): Promise<boolean>;
  /** Told about each path as it closes (stderr at a terminal). */
  progress(line: string): void;
}

export const LockdownOutcome = {
  Closed: 'closed',
  WouldClose: 'would-close',
  Exempt: 'exempt',
  Failed: 'failed',
} as const;
export type LockdownOutcome = (typeof LockdownOutcome)[keyof typeof LockdownOutcome];

export interface LockdownEntry {
  ruleId: string;
  resourceType: string;
  resourceId: string;
  region: string;
  outcome: LockdownOutcome;
  reason: string;
  plan: string;
  detail?: string;
  /** The incident that records this path's closing (absent for a dry run and exempt paths). */
  incidentId?: string;
  /**
   * The lockdown's one alert's message id, recorded on the incident; absent when on-call could not be
   * told (the incident holds its alert pending, for the rule's sweep).
   */
  alertMessageId?: string;
  /** The incident's steps: each change with the call that reverses it, and the verifying read. */
  steps: Step[];
}

/** The blast-radius guard as the lockdown finds it, and whether it has room for the lockdown. */
export interface GuardRoom {
  tripped: boolean;
  counted: number;
  threshold: number;
  windowMinutes: number;
  /** How many more remediations it allows in the window now. */
  room: number;
  /** Why it refuses this lockdown (without --emergency); absent when it has room. */
  refusal?: string;
}

/** One account's lockdown: its paths, and its own blast-radius guard (a member's: that account's). */
export interface LockdownReport {
  accountId: string;
  region: string;
  dryRun: boolean;
  emergency: boolean;
  guard: GuardRoom;
  entries: LockdownEntry[];
  /**
   * A member account: the member on-call role its reads ran as (session `lockdown`); each change runs
   * as a session named after its incident, recorded there (`lockdown.memberSession`).
   */
  readSession?: string;
}

/** An account `--account` named that the lockdown could not reach: nothing was read or changed there. */
export interface UnreachedAccount {
  accountId: string;
  reason: string;
}

/** A lockdown over one account or several (`--account`): each account's report, and those not reached. */
export interface LockdownRun {
  accounts: LockdownReport[];
  unreached: UnreachedAccount[];
}

/** Session of the member on-call role for a lockdown's reads: it names no incident. */
export const LOCKDOWN_READ_SESSION = 'lockdown';

interface PathSource {
  rule: Rule;
  /** Clients of the region whose resources this source reads (the ledgers are the home table's). */
  aws: AwsClients;
  listing: Listing;
}

/** An open path found, with what the rule said of it and the exemption the lockdown would override. */
interface FoundPath {
  rule: Rule;
  resource: Loaded<unknown>;
  finding: Finding;
  overrides?: ExemptionRecord;
  entry: LockdownEntry;
}

/** One account's plan: where it reads and acts, its guard, and the paths it found. */
interface AccountPlan {
  place: ScanAccount;
  guard: BlastRadiusGuard;
  paths: FoundPath[];
  report: LockdownReport;
}

/**
 * Closes every SSH path now, in the caller's account with the caller's credentials, or (`--account`)
 * in each ACTIVE member of an organisation deployment as its member on-call role, through the
 * functions' own stages: the two SSH rules' listings and detect decide; exemptions in the ledger are
 * honoured; each account's blast-radius guard refuses a lockdown it has no room for (unless
 * `emergency`) and counts each one it allows; each path is its own incident of its account (trigger
 * `command-line`, who and why in `lockdown`, in a member the session that acted, named after the
 * incident), its changes recorded as steps with their undo, remediated only once a read shows it
 * closed, failed otherwise; on-call hears one alert per account, on the stack's deployed topic. A
 * named account that is not ACTIVE is a usage error before any read; a member whose role cannot be
 * assumed is reported as not reached, and nothing is read or changed there.
 */
export async function lockdown(ctx: CliContext, options: LockdownOptions): Promise<LockdownRun> {
  if (!options.dryRun && !options.reason) throw new UsageError('--reason is required to lock down');
  // Grants are judged, and the guard counted, as the stack's functions do: by what it was deployed with.
  const settings = await ctx.deployedSettings();
  const caller = await ctx.caller();
  // Every account named is checked before anything is read.
  const places = await accountsToActIn(ctx, options.accounts, LOCKDOWN_ACCOUNTS);
  // Before anything changes: a lockdown on-call would not hear of does not start.
  const onCall = options.dryRun ? undefined : await ctx.onCall();
  const home = new BlastRadiusGuard(
    ctx.aws().dynamo(),
    ctx.tableName,
    settings.guard.threshold,
    settings.guard.windowMinutes,
    ctx.now,
  );
  const plans: AccountPlan[] = [];
  const unreached: UnreachedAccount[] = [];
  for (const place of places) {
    const plan = await planAccount(ctx, settings, place, home, options);
    if ('reason' in plan) unreached.push(plan);
    else plans.push(plan);
  }
  const run: LockdownRun = { accounts: plans.map((plan) => plan.report), unreached };
  const toClose = (plan: AccountPlan) =>
    plan.paths.filter((path) => path.entry.outcome === LockdownOutcome.WouldClose);
  const total = plans.reduce((sum, plan) => sum + toClose(plan).length, 0);
  if (options.dryRun || !onCall || !options.reason || total === 0) return run;
  const refusals = plans.flatMap((plan) =>
    plan.report.guard.refusal
      ? [`${several(places) ? `account ${plan.place.accountId}: ` : ''}${plan.report.guard.refusal}`]
      : [],
  );
  if (refusals.length > 0 && !options.emergency) {
    throw new CliError(
      `refused: ${refusals.join('; ')}; nothing was changed: pass --emergency to close them anyway (each counted by the guard and recorded as an emergency in its incident and alert)`,
    );
  }
  if (!(await options.confirm(run))) throw new CliError('cancelled: nothing was changed');
  const order: LockdownRecord = {
    by: caller.arn,
    reason: options.reason,
    runId: ctx.runId,
    startedAt: ctx.now().toISOString(),
    ...(options.emergency ? { emergency: true as const } : {}),
    // What the order covered, for the report: a path that opens no incident is still counted.
    pathsToClose: total,
    pathsExempt: plans.reduce(
      (sum, plan) => sum + plan.paths.filter((path) => path.entry.outcome === LockdownOutcome.Exempt).length,
      0,
    ),
  };
  const store = new DynamoDbIncidentStore(
    ctx.aws().dynamo(),
    ctx.tableName,
    settings.incidentRetentionDays,
    ctx.now,
  );
  for (const plan of plans) {
    const closing = toClose(plan);
    if (closing.length === 0) continue;
    // One human action, one alert per account: each path's incident holds its alert pending for it.
    const held = new Map<string, Incident>();
    const guard = options.emergency ? pastTheGuard(plan.guard) : plan.guard;
    const deps: PipelineDeps = {
      ...pipelineDeps(ctx, settings, store, onCall, guard),
      holdAlert: (incident) => held.set(incident.incidentId, incident),
    };
    for (const path of closing) {
      const closed = await inTable(ctx, () =>
        closePath({ deps, now: ctx.now }, plan.place, path, order, options.progress),
      );
      Object.assign(path.entry, closed);
    }
    await alertOnce(ctx, { onCall, store, order, report: plan.report, held, progress: options.progress });
  }
  return run;
}

/** How the usage errors of `ssh lockdown --account` name it (cli/scan-accounts.ts). */
const LOCKDOWN_ACCOUNTS = {
  only: 'ssh lockdown closes paths only in your own account',
  nothing: 'nothing was read or changed',
  all: 'compliance-responder ssh lockdown --account all locks down every ACTIVE account',
};

const several = (places: readonly ScanAccount[]) => places.length > 1 || places[0]?.enter !== undefined;

/**
 * Reads only: one account's open paths and its guard's room. A member is read as its member on-call
 * role (session `lockdown`); one whose role cannot be assumed is not reached, and nothing is read there.
 */
async function planAccount(
  ctx: CliContext,
  settings: Settings,
  place: ScanAccount,
  home: BlastRadiusGuard,
  options: LockdownOptions,
): Promise<AccountPlan | UnreachedAccount> {
  const { accountId } = place;
  let reader = ctx;
  let readSession: string | undefined;
  if (place.enter) {
    try {
      const entered = await place.enter(LOCKDOWN_READ_SESSION);
      reader = entered.ctx;
      readSession = entered.session;
    } catch (error) {
      return { accountId, reason: explainError(error).message };
    }
  }
  // A member's remediations are counted by that account's own guard, as the functions count them.
  const guard = place.enter ? home.forAccount(accountId) : home;
  const paths = await findPaths(reader, settings, accountId, options.ignoreExemptions);
  const toClose = paths.filter((path) => path.entry.outcome === LockdownOutcome.WouldClose);
  const report: LockdownReport = {
    accountId,
    region: ctx.region,
    dryRun: options.dryRun,
    emergency: options.emergency,
    guard: guardRoom(await inTable(ctx, () => guard.status()), toClose.length),
    entries: paths.map((path) => path.entry),
    ...(readSession && { readSession }),
  };
  return { place, guard, paths, report };
}

/**
 * Publishes the lockdown's one alert (shared/pipeline/human-alerts.ts) and records it sent on each
 * incident that held its own. If it cannot be published, they stay pending: the rules' sweeps send
 * each its own, and the entries have no message id, which the command reports.
 */
async function alertOnce(
  ctx: CliContext,
  run: {
    onCall: AlertPublisher;
    store: IncidentStore;
    order: LockdownRecord;
    report: LockdownReport;
    held: ReadonlyMap<string, Incident>;
    progress: (line: string) => void;
  },
): Promise<void> {
  const { entries } = run.report;
  const pathOf = (entry: LockdownEntry): LockdownPath => {
    const incident = entry.incidentId ? run.held.get(entry.incidentId) : undefined;
    const detail =
      entry.detail ?? (entry.incidentId && !incident ? `incident ${entry.incidentId}` : undefined);
    return {
      ruleId: entry.ruleId,
      resourceId: entry.resourceId,
      ...(incident ? { incident } : {}),
      ...(detail ? { detail } : {}),
    };
  };
  const paths = (outcome: LockdownOutcome) =>
    entries.filter((entry) => entry.outcome === outcome).map(pathOf);
  const alert = buildLockdownAlert(
    run.order,
    { account: run.report.accountId, region: run.report.region },
    {
      closed: paths(LockdownOutcome.Closed),
      failed: paths(LockdownOutcome.Failed),
      skipped: paths(LockdownOutcome.Exempt),
    },
  );
  let messageId: string;
  try {
    messageId = await run.onCall.publish(alert);
  } catch (error) {
    run.progress(`on-call could not be alerted: ${explainError(error).message}`);
    return;
  }
  const sent = { status: 'sent' as const, messageId, at: ctx.now().toISOString() };
  for (const incidentId of run.held.keys()) {
    await inTable(ctx, () => run.store.setAlert(incidentId, sent));
  }
  for (const entry of entries) {
    if (entry.incidentId && run.held.has(entry.incidentId)) entry.alertMessageId = messageId;
  }
  run.progress(`on-call alerted once for the lockdown (message ${messageId})`);
}

/** Reads only: every path the two SSH rules find open, decided and checked against the exemptions. */
async function findPaths(
  ctx: CliContext,
  settings: Settings,
  accountId: string,
  ignoreExemptions: boolean,
): Promise<FoundPath[]> {
  const aws = ctx.aws();
  const sources: PathSource[] = LOCKDOWN_RULES.flatMap((rule) =>
    listingsOf(rule, [ctx.region], { accountId, aws, settings }, { global: true }).map((listing) => ({
      rule,
      aws,
      listing,
    })),
  );
  const found: FoundPath[] = [];
  for (const source of sources) {
    // The path listings read live grants from the home table (the rule's own ledger reads).
    await inTable(ctx, async () => {
      for await (const resource of source.listing.resources()) {
        const path = await judgePath(ctx, settings, source.rule, resource, ignoreExemptions);
        if (path) found.push(path);
      }
    });
  }
  return found;
}

async function judgePath(
  ctx: CliContext,
  settings: Settings,
  rule: Rule,
  resource: Loaded<unknown>,
  ignoreExemptions: boolean,
): Promise<FoundPath | undefined> {
  const finding = rule.detect(resource, settings);
  if (finding.compliant) return undefined;
  const entry: LockdownEntry = {
    ruleId: rule.id,
    resourceType: resource.resourceType,
    resourceId: resource.resourceId,
    region: resource.region,
    outcome: LockdownOutcome.WouldClose,
    reason: finding.reason,
    plan: finding.plan,
    steps: [],
  };
  const exemption = await exemptionInForce(ctx, rule, resource);
  if (!exemption) return { rule, resource, finding, entry };
  const exempt = `exempt until ${exemption.until}: ${exemption.reason}`;
  if (!ignoreExemptions) {
    return { rule, resource, finding, entry: { ...entry, outcome: LockdownOutcome.Exempt, detail: exempt } };
  }
  return {
    rule,
    resource,
    finding,
    overrides: exemption,
    entry: { ...entry, detail: `${exempt} (overridden)` },
  };
}

/** What the guard allows now, and why it refuses `paths` more (a trip, or less room than paths). */
export function guardRoom(status: GuardStatus, paths: number): GuardRoom {
  const room = status.tripped ? 0 : Math.max(0, status.threshold - status.counted);
  const window = `${status.counted} of ${status.threshold} remediation(s) counted in ${status.windowMinutes} minutes`;
  const refusal =
    paths === 0
      ? undefined
      : status.tripped
        ? `the blast-radius guard is tripped (since ${status.trippedAt}): it allows no remediation until a person resets it, and this lockdown would close ${paths} SSH path(s)`
        : paths > room
          ? `this lockdown would close ${paths} SSH path(s), and the blast-radius guard has room for ${room} (${window})`
          : undefined;
  return {
    tripped: status.tripped,
    counted: status.counted,
    threshold: status.threshold,
    windowMinutes: status.windowMinutes,
    room,
    ...(refusal ? { refusal } : {}),
  };
}

/** `--emergency`: each remediation is counted in the guard's window, and none is refused. */
function pastTheGuard(guard: BlastRadiusGuard): PipelineDeps['guard'] {
  return {
    async acquire(drift) {
      await guard.countPastLimit(drift);
      return { allowed: true };
    },
  };
}

/** The functions' pipeline, run with the caller's credentials and on-call's deployed topic. */
function pipelineDeps(
  ctx: CliContext,
  settings: Settings,
  store: IncidentStore,
  alerts: AlertPublisher,
  guard: PipelineDeps['guard'],
): PipelineDeps {
  return {
    aws: ctx.aws(),
    settings,
    store,
    alerts,
    guard,
    exemptions: exemptionLedger(ctx),
    // Each path's steps and outcome are printed from its incident; only warnings are worth a line.
    logger: { info: () => {}, warn: (message) => ctx.io.err(`warning: ${message}`), error: () => {} },
    metrics: { count: () => {} },
    now: ctx.now,
  };
}

function lockdownIncident(
  rule: Rule,
  resource: Loaded<unknown>,
  finding: Finding,
  lockdown: LockdownRecord,
  { incidentId, now }: { incidentId: string; now: Date },
): Incident {
  const at = now.toISOString();
  return {
    schemaVersion: 1,
    incidentId,
    ruleId: rule.id,
    title: rule.title,
    severity: rule.severity,
    hipaa: rule.hipaa,
    account: resource.accountId,
    region: resource.region,
    resourceType: resource.resourceType,
    resourceId: resource.resourceId,
    resourceArn: resource.arn,
    detectedAt: at,
    updatedAt: at,
    // One delivery per run and path: a run never opens two incidents for one path.
    trigger: {
      source: TriggerSource.CommandLine,
      eventId: `${lockdown.runId}#${resource.region}#${resource.resourceId}`,
      eventName: 'ssh lockdown',
    },
    evidence: finding.evidence,
    reason: finding.reason,
    resourceGone: finding.resourceGone,
    // A person ordered the fix: it runs whatever mode the rule is configured in.
    mode: Mode.Enforce,
    status: IncidentStatus.Open,
    steps: [],
    runbook: rule.runbook,
    lockdown,
  };
}

/**
 * Opens the lockdown's incident. An incident holding the drift without remediating it now (left open
 * by notify mode or the guard, failed, exempted) is superseded: resolved, naming this one, and its
 * lock let go. One a remediation is running on is left to it. Returns why it could not open.
 */
async function openIncident(store: IncidentStore, incident: Incident): Promise<string | undefined> {
  const { lockdown } = incident;
  for (let attempt = 0; attempt < 3; attempt++) {
    const opened = await store.open(incident, incident.trigger.eventId);
    if (opened.opened) return undefined;
    const holderId = opened.existingIncidentId;
    if (opened.collapsedOn === 'duplicate-delivery') return `this run already opened incident ${holderId}`;
    const holder = await store.get(holderId);
    if (holder?.status === IncidentStatus.Remediating) {
      return `incident ${holderId} is remediating it now: see incidents show ${holderId}`;
    }
    if (holder && holder.status !== IncidentStatus.Resolved) {
      const why = `superseded by ssh lockdown incident ${incident.incidentId} (ordered by ${lockdown?.by}: ${lockdown?.reason})`;
      const move = await moveIncident(store, holder, IncidentStatus.Resolved, why.slice(0, 512));
      // Another writer changed it first: look at the lock again.
      if (!move.moved && move.current.status !== IncidentStatus.Resolved) continue;
    }
    await store.releaseDrift(incident.ruleId, incident.resourceArn, holderId);
  }
  return 'the drift lock kept changing hands while the lockdown ran: run it again';
}

const outputWords = (step: Step) =>
  Object.entries(step.output ?? {})
    .map(([key, value]) => ` ${key}=${value}`)
    .join('');

const stepLines = (step: Step): string[] => [
  `  ${step.result === 'failed' ? 'FAILED' : 'done'}: ${step.action}${outputWords(step)}${step.error ? `: ${step.error}` : ''}`,
  ...(step.undo ? [`        undo: ${describeCall(step.undo)}`] : []),
];

/**
 * One path: its incident opened, decided by the pipeline (guard, remediate, verify, alert), printed.
 * In a member, the incident's id is chosen first and the member on-call role assumed under a session
 * of that name, so the member's CloudTrail names the incident; a role that cannot be assumed leaves
 * the path open, with no incident, and says why.
 */
async function closePath(
  run: { deps: PipelineDeps; now: () => Date },
  place: ScanAccount,
  path: FoundPath,
  order: LockdownRecord,
  progress: (line: string) => void,
): Promise<Partial<LockdownEntry>> {
  const { rule, resource, finding } = path;
  const { store } = run.deps;
  progress(
    `closing ${resource.resourceId} (${rule.id}${place.enter ? ` in account ${place.accountId}` : ''}): ${finding.reason}`,
  );
  const incidentId = newIncidentId(run.now());
  let member: MemberPlace | undefined;
  if (place.enter) {
    try {
      member = await place.enter(incidentId);
    } catch (error) {
      const detail = `not closed: ${explainError(error).message}`;
      progress(`  ${detail}`);
      return { outcome: LockdownOutcome.Failed, detail };
    }
  }
  const pipeline: PipelineContext = {
    rule,
    deps: member ? { ...run.deps, aws: member.ctx.aws() } : run.deps,
    now: run.now,
  };
  const lockdown: LockdownRecord = {
    ...order,
    ...(path.overrides && { exemptionOverridden: path.overrides }),
    ...(member && { memberSession: member.session }),
  };
  const incident = lockdownIncident(rule, resource, finding, lockdown, { incidentId, now: run.now() });
  const refused = await openIncident(store, incident);
  if (refused) {
    progress(`  not closed: ${refused}`);
    return { outcome: LockdownOutcome.Failed, detail: refused };
  }
  let final: Incident;
  let failure: string | undefined;
  try {
    final = await respond(pipeline, Journal.of(store, incident, pipeline.now), resource, finding);
  } catch (error) {
    // A table write failed after the change: the incident says how far it got, and an alert it
    // holds pending is sent by the rule's sweep.
    failure = errorMessage(error);
    final = (await store.get(incidentId)) ?? incident;
  }
  for (const step of final.steps) for (const line of stepLines(step)) progress(line);
  const closed = final.status === IncidentStatus.Remediated;
  const detail = [
    closed ? undefined : `${final.status}${final.statusReason ? `: ${final.statusReason}` : ''}`,
    failure && `not recorded to the end: ${failure}`,
  ]
    .filter(Boolean)
    .join('; ');
  progress(`  → ${final.status}: incident ${incidentId}`);
  return {
    outcome: closed ? LockdownOutcome.Closed : LockdownOutcome.Failed,
    incidentId,
    steps: final.steps,
    ...(detail ? { detail } : {}),
  };
}
