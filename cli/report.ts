import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { DynamoDbIncidentStore } from '../shared/pipeline/incident-store';
import { aggregate, type CitedExemption, type Report } from '../shared/report/aggregate';
import { chartJsSource } from '../shared/report/chart-source';
import { renderHtml } from '../shared/report/html';
import { renderMarkdown } from '../shared/report/markdown';
import { rules } from '../shared/rules';
import { sshGrantExpired } from '../shared/rules/ssh-grant-expired';
import type { Grant } from '../shared/ssh/grant-ledger';
import { IAM_REGION } from '../shared/ssh/iam-keys';
import type { CliContext } from './context';
import { CliError, UsageError } from './errors';
import { exemptionLedgerIn, inLedger, ledgerRegions } from './ledger-access';
import { parseSince } from './since';
import type { WithContext } from './ssh';

export const ReportFormat = { Html: 'html', Markdown: 'md' } as const;
export type ReportFormat = (typeof ReportFormat)[keyof typeof ReportFormat];

interface ReportOptions {
  since: string;
  format?: ReportFormat;
  out?: string;
}

/** SSH grants issued since `since`: every grant issued then ends after it, so one ledger query covers it. */
async function grantsIssuedSince(
  ctx: CliContext,
  since: Date,
): Promise<{ grants: Grant[]; notes: string[] }> {
  const byId = new Map<string, Grant>();
  const notes: string[] = [];
  for (const region of ledgerRegions(ctx)) {
    try {
      const grants = await inLedger(ctx, region, (ledger) => ledger.endingAfter(since));
      for (const grant of grants) byId.set(grant.grantId, grant);
    } catch (error) {
      if (!(error instanceof CliError) || region === ctx.region) throw error;
      notes.push(`IAM SSH grants not counted: no table '${ctx.tableName}' in ${IAM_REGION}`);
    }
  }
  return { grants: [...byId.values()], notes };
}

/** Where exemptions live (exemptionRegionFor): the home stack's table, and us-east-1's for IAM users. */
const exemptionRegions = (ctx: CliContext): string[] => [...new Set([ctx.settings.homeRegion, IAM_REGION])];

/**
 * Exemptions that may be in force at `until`, from the ledgers the CLI writes them to: the home
 * stack's table, and us-east-1's for IAM users (exemptionRegionFor). Every one in force then ends
 * after it, so one query per ledger covers it; aggregate decides which are in force. Each carries
 * its rule's citations from the registry.
 */
async function exemptionsEndingAfter(
  ctx: CliContext,
  until: Date,
): Promise<{ exemptions: CitedExemption[]; notes: string[] }> {
  const home = ctx.settings.homeRegion;
  const byId = new Map<string, CitedExemption>();
  const notes: string[] = [];
  for (const region of exemptionRegions(ctx)) {
    try {
      const found = await inLedger(ctx, region, () => exemptionLedgerIn(ctx, region).list(until));
      for (const exemption of found) {
        // A rule since retired from the registry: still counted in the totals, under no safeguard.
        const hipaa = rules.find((rule) => rule.id === exemption.ruleId)?.hipaa ?? [];
        byId.set(exemption.exemptionId, { ...exemption, hipaa });
      }
    } catch (error) {
      if (!(error instanceof CliError) || region === home) throw error;
      notes.push(`IAM user exemptions not counted: no table '${ctx.tableName}' in ${IAM_REGION}`);
    }
  }
  return { exemptions: [...byId.values()], notes };
}

/** Reads the period's incidents (byMonth index), grants and exemptions, and computes the figures. */
export async function buildReport(
  ctx: CliContext,
  since: Date,
): Promise<{ report: Report; notes: string[] }> {
  const until = ctx.now();
  const store = new DynamoDbIncidentStore(
    ctx.aws(ctx.region).dynamo(),
    ctx.tableName,
    ctx.settings.incidentRetentionDays,
    ctx.now,
  );
  // No limit: a report that silently dropped incidents would misstate the record.
  const incidents = await store.list({ since: since.toISOString(), limit: Number.MAX_SAFE_INTEGER });
  const granted = await grantsIssuedSince(ctx, since);
  const exempted = await exemptionsEndingAfter(ctx, until);
  const report = aggregate({
    incidents,
    grants: granted.grants,
    exemptions: exempted.exemptions,
    since,
    until,
    citations: rules.flatMap((rule) => rule.hipaa),
    grantCitations: sshGrantExpired.hipaa,
    source: `table ${ctx.tableName} in ${ctx.region}; exemption ledger in ${exemptionRegions(ctx).join(' and ')}`,
  });
  return { report, notes: [...granted.notes, ...exempted.notes] };
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
  if (options.format) return options.format;
  return options.out && /\.html?$/i.test(options.out) ? ReportFormat.Html : ReportFormat.Markdown;
}

async function reportCommand(ctx: CliContext, options: ReportOptions): Promise<void> {
  const since = parseSince(options.since, ctx.now());
  const format = formatOf(options);
  // Before reading anything: a mistake in --out should not cost a table scan.
  if (options.out) refuseDirectory(options.out);
  const { report, notes } = await buildReport(ctx, since);
  for (const note of notes) ctx.io.err(`note: ${note}`);
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
  program
    .command('report')
    .description(
      'the auditor’s document: per HIPAA safeguard, drift found and remediated, time to remediate, open and failed incidents, exemptions, SSH grants',
    )
    .option('--since <when>', 'the period: 30d, 12h, 90m back from now, or an ISO date', '30d')
    .addOption(
      new Option(
        '--format <format>',
        'html (one self-contained file with charts) or md (default: from --out, else md)',
      ).choices(Object.values(ReportFormat)),
    )
    .option('--out <file>', 'write to this file (atomically; default: print to stdout)')
    .action((options: ReportOptions, command: Command) =>
      withContext(command, (ctx) => reportCommand(ctx, options)),
    );
}
