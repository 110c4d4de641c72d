import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { DynamoDbDeploymentHistory } from '../shared/health/deployment-history';
import { aggregate, type CitedExemption, type Report } from '../shared/report/aggregate';
import { chartJsSource } from '../shared/report/chart-source';
import { renderHtml } from '../shared/report/html';
import { renderMarkdown } from '../shared/report/markdown';
import { rules } from '../shared/rules';
import { sshGrantExpired } from '../shared/rules/ssh-grant-expired';
import { parseAccounts } from './account-option';
import type { CliContext } from './context';
import { parsePeriod, parsePeriodEnd, parseSince } from './duration';
import { CliError, UsageError } from './errors';
import { guardOf } from './guard';
import { incidentStore } from './incidents-store';
import { exemptionLedger, inLedger, inTable, tableRegion } from './ledger-access';
import { checkOptions } from './option-checks';
import type { WithContext } from './ssh';

export const ReportFormat = { Html: 'html', Markdown: 'md' } as const;
export type ReportFormat = (typeof ReportFormat)[keyof typeof ReportFormat];

interface ReportOptions {
  since: string;
  until?: string;
  format?: string;
  out?: string;
  account?: string;
}

const FORMATS: readonly string[] = Object.values(ReportFormat);

function parseFormat(text: string): ReportFormat {
  if (!FORMATS.includes(text))
    throw new UsageError(`invalid --format '${text}': one of ${FORMATS.join(', ')}`);
  return text as ReportFormat;
}

/**
 * Exemptions that may have been in force at some time in the period: every such one ends after
 * `since`, so one query covers it; aggregate decides. Each carries its rule's citations from the registry.
 */
async function exemptionsEndingAfter(ctx: CliContext, since: Date): Promise<CitedExemption[]> {
  const found = await inTable(ctx, () => exemptionLedger(ctx).list(since));
  // A rule since retired from the registry: still counted in the totals, under no safeguard.
  return found.map((exemption) => ({
    ...exemption,
    hipaa: rules.find((rule) => rule.id === exemption.ruleId)?.hipaa ?? [],
  }));
}

/**
 * Reads the period's incidents (byMonth index), grants, exemptions, guard history and the recorded
 * deployment history, and computes the figures. All are in the home stack's one table, for every region the responder covers.
 * `accounts` narrows every figure to those accounts (an organisation deployment's table holds every member's).
 */
export async function buildReport(
  ctx: CliContext,
  since: Date,
  until: Date,
  accounts?: readonly string[],
): Promise<Report> {
  const caller = await ctx.caller();
  const inScope = (account: string) => !accounts || accounts.includes(account);
  // No limit: a report that silently dropped incidents would misstate the record.
  const incidents = await inTable(ctx, () =>
    incidentStore(ctx).list({ since: since.toISOString(), limit: Number.MAX_SAFE_INTEGER, accounts }),
  );
  // Every grant issued in the period ends after its start, so one ledger query covers it. A grant
  // naming no account is the security account's (docs/organisation.md).
  const grants = (await inLedger(ctx, (ledger) => ledger.endingAfter(since))).filter((grant) =>
    inScope(grant.account ?? caller.accountId),
  );
  // An exemption's account is its resource ARN's (one without an account is the stack's own).
  const exemptions = (await exemptionsEndingAfter(ctx, since)).filter((exemption) =>
    inScope(exemption.resourceArn.split(':')[4] || caller.accountId),
  );
  // This account's guard, and each member account's (organisation deployments: docs/organisation.md).
  const guard = await inTable(ctx, async () => {
    const own = guardOf(ctx);
    const members = (await own.memberAccounts()).filter(inScope).map((account) => own.forAccount(account));
    const guards = [...(inScope(caller.accountId) ? [own] : []), ...members];
    return Promise.all(guards.map((each) => each.history(since)));
  });
  // The modes in force and the regions covered, as the heartbeat recorded them at the time.
  const deployment = await inTable(ctx, () =>
    new DynamoDbDeploymentHistory(ctx.aws().dynamo(), ctx.tableName).read(),
  );
  return aggregate({
    incidents,
    grants,
    exemptions,
    since,
    until,
    citations: rules.flatMap((rule) => rule.hipaa),
    grantCitations: sshGrantExpired.hipaa,
    source: `table ${ctx.tableName} in ${tableRegion(ctx)} (the home stack's)${accounts ? `, accounts ${accounts.join(', ')} only` : ''}`,
    ruleIds: rules.map((rule) => rule.id),
    guard,
    deployment,
    generatedBy: caller.arn,
    generatedAt: ctx.now(),
  });
}

function refuseDirectory(path: string): void {
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(`--out '${path}' is a directory: name a file`);
  }
}

/**
 * Writes through a temporary file in the same directory and a rename, so a reader never sees half
 * a report and a failed run leaves the previous one intact.
 */
export function writeAtomically(path: string, content: string): void {
  const target = resolve(path);
  refuseDirectory(path);
  const temporary = join(
    dirname(target),
    `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    writeFileSync(temporary, content, { flag: 'wx' });
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new CliError(`cannot write '${path}' (${code}): check that its directory exists and is writable`, {
      cause: error,
    });
  }
}

/** --format, or what --out's extension says (.html/.htm → html), else Markdown. */
function formatOf(options: ReportOptions): ReportFormat {
  if (options.format) return parseFormat(options.format);
  return options.out && /\.html?$/i.test(options.out) ? ReportFormat.Html : ReportFormat.Markdown;
}

async function reportCommand(ctx: CliContext, options: ReportOptions): Promise<void> {
  const { since, until } = parsePeriod(options.since, options.until, ctx.now());
  const format = formatOf(options);
  const accounts = options.account === undefined ? undefined : parseAccounts(options.account);
  const report = await buildReport(ctx, since, until, accounts);
  const content = format === ReportFormat.Html ? renderHtml(report, chartJsSource()) : renderMarkdown(report);
  if (!options.out) {
    ctx.io.out(content.trimEnd());
    return;
  }
  writeAtomically(options.out, content);
  ctx.io.out(
    `wrote ${format} report to ${options.out}: ${report.totals.found} incident(s), ${report.totals.grantsIssued} SSH grant(s), ${report.period.since} to ${report.period.until}`,
  );
}

/** `compliance-responder report`: the auditor's document. */
export function registerReport(program: Command, withContext: WithContext): void {
  const report = program
    .command('report')
    .description(
      'the auditor’s document: per HIPAA safeguard, drift found and remediated, time to remediate, open and failed incidents, exemptions, SSH grants',
    )
    .option('--since <when>', 'the period starts: 30d, 12h, 90m back from now, or an ISO date', '30d')
    .option(
      '--until <when>',
      'the period ends (excluded): 7d, 12h, 90m back from now, or an ISO date (default: now)',
    )
    .option(
      '--format <format>',
      'html (one self-contained file with charts) or md (default: from --out, else md)',
    )
    .option('--out <file>', 'write to this file (atomically; default: print to stdout)')
    .option('--account <ids>', 'only these accounts: 12-digit ids, comma-separated, or all (default)')
    .action((options: ReportOptions, command: Command) =>
      withContext(command, (ctx) => reportCommand(ctx, options)),
    );
  // Before reading anything: a mistake in the period, format or --out should not cost a table scan.
  checkOptions<ReportOptions>(
    report,
    (options) => parseSince(options.since, new Date()),
    (options) => options.until !== undefined && parsePeriodEnd(options.until, new Date()),
    // Their order: when either is malformed this repeats its message, which is reported once.
    (options) => parsePeriod(options.since, options.until, new Date()),
    (options) => options.format !== undefined && parseFormat(options.format),
    (options) => options.out !== undefined && refuseDirectory(options.out),
    (options) => options.account !== undefined && parseAccounts(options.account),
  );
}
