import { type Command, Option } from 'commander';
import type { Settings } from '../shared/config';
import type { Incident, Mode } from '../shared/model';
import { evidenceKeptBy } from '../shared/pipeline/kept-evidence';
import { type Listing, listingsOf } from '../shared/pipeline/listings';
import { rules as registry } from '../shared/rules';
import type { Finding, Loaded, Rule } from '../shared/rules/rule';
import { parseAccounts } from './account-option';
import type { CliContext, Io } from './context';
import { Answered, CliError, ExitCode, explainError, UsageError } from './errors';
import { incidentStore } from './incidents-store';
import { exemptionsInForce, inTable } from './ledger-access';
import { checkOptions } from './option-checks';
import { checkRegion } from './regions';
import { SCAN_SESSION, type ScanAccount, scanAccounts } from './scan-accounts';
import { type ScanProgress, scanProgress, silentProgress } from './scan-progress';
import {
  FindingState,
  type ScanFinding,
  type ScanReport,
  scanExitCode,
  scanLines,
  scanSummary,
} from './scan-report';
import type { WithContext } from './ssh';

export interface ScanOptions {
  /** Rule ids to run; empty: every rule in the registry. */
  ruleIds: readonly string[];
  /** Regions to scan; empty: the context's region. */
  regions: readonly string[];
  /** `--account`: ids or `all` (an organisation deployment's ACTIVE accounts); absent: the caller's. */
  accounts?: readonly string[] | 'all';
}

/** One listing to make: a rule over one region (or IAM) of one account, read through `ctx`. */
interface Work {
  accountId: string;
  ctx: CliContext;
  rule: Rule;
  listing: Listing;
}

/**
 * Each account's listings, its member on-call role assumed first (so the progress bar counts them
 * all); an account whose role cannot be assumed is an error for every listing there, never clean.
 * Self-protection judges the home stack: it is not run in members.
 */
async function workIn(
  ctx: CliContext,
  targets: readonly ScanAccount[],
  chosen: readonly Rule[],
  regions: readonly string[],
  report: ScanReport,
): Promise<Work[]> {
  const work: Work[] = [];
  for (const { accountId, enter } of targets) {
    const rules = enter ? chosen.filter((rule) => rule.homeStackOnly === undefined) : chosen;
    let reached: CliContext | Error = ctx;
    if (enter) reached = await enter(SCAN_SESSION).then((place) => place.ctx, explainError);
    const reader = reached instanceof Error ? ctx : reached;
    for (const rule of rules) {
      // IAM is global: one listing whichever regions are asked for, never one per region, never missed.
      for (const listing of listingsOf(
        rule,
        regions,
        { accountId, aws: reader.aws(), settings: ctx.settings },
        { global: true },
      )) {
        if (reached instanceof Error) {
          report.errors.push({ accountId, ruleId: rule.id, scope: listing.scope, reason: reached.message });
        } else work.push({ accountId, ctx: reached, rule, listing });
      }
    }
  }
  return work;
}

/** The rules asked for, in registry order; an unknown id is a usage mistake naming the valid ones. */
export function selectRules(ids: readonly string[]): Rule[] {
  const known = registry.map((rule) => rule.id);
  const unknown = ids.filter((id) => !known.includes(id));
  if (unknown.length > 0) {
    throw new UsageError(`unknown rule '${unknown.join("', '")}': use one of ${known.join(', ')}`);
  }
  return ids.length === 0 ? [...registry] : registry.filter((rule) => ids.includes(rule.id));
}

/** Regions by name as AWS spells them (us-east-1); anything else is a usage mistake, before any call. */
export function checkRegions(regions: readonly string[]): string[] {
  return [...new Set(regions.map((region) => checkRegion(region)))];
}

const modeOf = (rule: Rule, settings: Settings): Mode => settings.modes[rule.id] ?? rule.defaultMode;

/**
 * Read-only detection by every chosen rule over the account now (or each `--account`): each rule's
 * own list() and pure detect(), nothing remediated, nothing recorded. A listing that fails is an error in the report,
 * never "no findings".
 */
export async function scan(
  ctx: CliContext,
  options: ScanOptions,
  progress: ScanProgress = silentProgress,
): Promise<ScanReport> {
  const chosen = selectRules(options.ruleIds);
  const regions = checkRegions(options.regions.length > 0 ? options.regions : [ctx.region]);
  const { accountId } = await ctx.caller();
  // Every account named is checked before any resource is read.
  const targets = await scanAccounts(ctx, options.accounts);
  const accounts = targets.map((target) => target.accountId);
  const report: ScanReport = { accountId, accounts, regions, scanned: [], findings: [], errors: [] };
  const work = await workIn(ctx, targets, chosen, regions, report);
  const several = accounts.length > 1 || accounts[0] !== accountId;
  progress.start(work.length);
  try {
    for (const { accountId, ctx, rule, listing } of work) {
      progress.listing(`${several ? `${accountId} ` : ''}${rule.id} ${listing.scope}`);
      const found: ScanFinding[] = [];
      let resources = 0;
      let outOfScope = 0;
      try {
        const drifted: Drifted[] = [];
        for await (const resource of listing.resources()) {
          resources += 1;
          progress.resource();
          const verdict = rule.detect(resource, ctx.settings);
          if (!verdict.compliant) drifted.push(await withKeeper(ctx, rule, resource, verdict));
          else if (verdict.outOfScope) outOfScope += 1;
        }
        found.push(...(await findingsOf(ctx, accountId, rule, drifted)));
      } catch (error) {
        // Half a listing is not a result: what was judged before the failure is dropped with it.
        const where = { table: ctx.tableName, region: listing.region };
        report.errors.push({
          accountId,
          ruleId: rule.id,
          scope: listing.scope,
          reason: explainError(error, where).message,
        });
        continue;
      } finally {
        progress.listed();
      }
      report.scanned.push({
        accountId,
        ruleId: rule.id,
        scope: listing.scope,
        resources,
        ...(outOfScope > 0 && { outOfScope }),
      });
      report.findings.push(...found);
    }
  } finally {
    progress.stop();
  }
  return report;
}

interface Drifted {
  resource: Loaded<unknown>;
  verdict: Finding;
  keeper?: Incident;
}

/** Still drift, which the incident that replaced it answers for: enforce would do nothing more. */
async function withKeeper(
  ctx: CliContext,
  rule: Rule,
  resource: Loaded<unknown>,
  verdict: Finding,
): Promise<Drifted> {
  const keeper = await inTable(ctx, () => evidenceKeptBy(rule, resource, incidentStore(ctx), ctx.aws()));
  return { resource, verdict, ...(keeper && { keeper }) };
}

/** A listing's drift as findings: the exemptions of those no incident keeps, read together (issue 21). */
async function findingsOf(
  ctx: CliContext,
  accountId: string,
  rule: Rule,
  drifted: readonly Drifted[],
): Promise<ScanFinding[]> {
  const unkept = drifted.filter((drift) => !drift.keeper);
  const exemptions = await exemptionsInForce(
    ctx,
    rule,
    unkept.map((drift) => drift.resource),
  );
  const exemptionOf = new Map(unkept.map((drift, index) => [drift, exemptions[index]]));
  return drifted.map((drift) => {
    const { resource, verdict, keeper } = drift;
    const exemption = exemptionOf.get(drift);
    return {
      accountId,
      ruleId: rule.id,
      severity: rule.severity,
      mode: modeOf(rule, ctx.settings),
      state: exemption ? FindingState.Exempted : FindingState.Drift,
      region: resource.region,
      resourceType: resource.resourceType,
      resourceId: resource.resourceId,
      reason: verdict.reason,
      plan: verdict.plan,
      ...(exemption ? { exemptUntil: exemption.until } : {}),
      ...(keeper ? { keptBy: keeper.incidentId } : {}),
    };
  });
}

interface ScanCommandOptions {
  rule?: string[];
  account?: string;
  json?: boolean;
}

const repeat = (value: string, previous: string[] = []) => [...previous, value];

/** The values of every `--region` in `args` (`--region x` or `--region=x`). */
function regionOptions(args: readonly string[]): string[] {
  return args.flatMap((arg, index) => {
    if (arg === '--region') return args[index + 1] === undefined ? [] : [args[index + 1] as string];
    return arg.startsWith('--region=') ? [arg.slice('--region='.length)] : [];
  });
}

/**
 * `compliance-responder scan`. `--region` is also the program's own option (where the incidents
 * table is), and commander hands every occurrence to it. So scan reads the command line itself:
 * the regions after `scan` are the ones to scan; the table stays in the region named before `scan`,
 * or else the environment's or profile's, never the last region scanned.
 */
export function registerScan(
  program: Command,
  io: Io,
  withContext: WithContext,
  args: readonly string[],
): void {
  const scannedRegions = () => regionOptions(args.slice(args.indexOf('scan') + 1));
  const scanCommand = program
    .command('scan')
    .description(
      'read-only: every rule detects drift in the account now and says what enforce mode would do; changes nothing',
    )
    .addOption(
      new Option('--rule <id>', 'only this rule (repeatable; default: every rule)').argParser(repeat),
    )
    .addOption(
      new Option(
        '--region <region>',
        'scan this region (repeatable; default: the region of your profile); IAM, which is global, is scanned once',
      ).argParser(repeat),
    )
    .option(
      '--account <ids>',
      'organisation deployment: scan these ACTIVE accounts (12-digit ids, comma-separated), or all; a member through its member on-call role (default: your own account)',
    )
    .option('--json', 'print the report as JSON (findings, rules scanned, errors) and nothing else')
    .action((options: ScanCommandOptions, command: Command) => {
      const regions = scannedRegions();
      program.setOptionValue('region', regionOptions(args.slice(0, args.indexOf('scan'))).at(-1));
      return withContext(command, async (ctx) => {
        const report = await scan(
          ctx,
          {
            ruleIds: options.rule ?? [],
            regions,
            ...(options.account !== undefined && { accounts: parseAccounts(options.account) ?? 'all' }),
          },
          scanProgress(process.stderr),
        );
        if (options.json) io.out(JSON.stringify(report, null, 2));
        else for (const line of scanLines(report, io.layout)) io.out(line);
        // The summary is for people: on stderr when stdout carries JSON.
        (options.json ? io.err : io.out)(scanSummary(report));
        const code = scanExitCode(report);
        if (code === ExitCode.Error) {
          throw new CliError(
            `${report.errors.length} listing(s) could not be made, so their rules' drift is unknown: fix the access named above and scan again`,
          );
        }
        if (code !== ExitCode.Ok) throw new Answered(code);
      });
    });
  checkOptions<ScanCommandOptions>(
    scanCommand,
    (options) => selectRules(options.rule ?? []),
    () => checkRegions(scannedRegions()),
    (options) => options.account !== undefined && parseAccounts(options.account),
  );
}
