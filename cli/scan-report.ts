import type { Mode, Severity } from '../shared/model';
import { GLOBAL_SCOPE } from '../shared/pipeline/listings';
import { ExitCode } from './errors';
import { formatTable, type TableLayout } from './table';

export const FindingState = { Drift: 'drift', Exempted: 'exempted' } as const;
export type FindingState = (typeof FindingState)[keyof typeof FindingState];

/** One resource a rule judged non-compliant, and what the responder would do about it. */
export interface ScanFinding {
  /** The account the resource is in. */
  accountId: string;
  ruleId: string;
  severity: Severity;
  /** The rule's configured mode: what the responder does with this finding (off: nothing). */
  mode: Mode;
  state: FindingState;
  region: string;
  resourceType: string;
  resourceId: string;
  /** Why this is drift. */
  reason: string;
  /** What enforce mode would do about it. */
  plan: string;
  /** Set when the finding is exempted: the exemption's expiry. */
  exemptUntil?: string;
  /** Set when the drift is an original kept as evidence: the incident that replaced it and keeps it. */
  keptBy?: string;
}

/** One listing a scan made: a rule over one region, or over a global service once. */
export interface ScannedScope {
  accountId: string;
  ruleId: string;
  /** A region, or `global` for the global part of a rule (IAM). */
  scope: string;
  resources: number;
  /** Of those, how many were outside the rule's narrowed scope and not judged (absent: none). */
  outOfScope?: number;
}

/** A listing that failed: that rule's resources there were not judged, so nothing is known of them. */
export interface ScanError {
  accountId: string;
  ruleId: string;
  scope: string;
  reason: string;
}

export interface ScanReport {
  /** The caller's account, whose credentials ran the scan. */
  accountId: string;
  /** The accounts scanned, sorted: the caller's alone without `--account`. */
  accounts: string[];
  regions: string[];
  scanned: ScannedScope[];
  findings: ScanFinding[];
  errors: ScanError[];
}

/** What the responder would do with a finding, given its exemption or the incident keeping it. */
function enforceWould(finding: ScanFinding): string {
  if (finding.keptBy) return `nothing: evidence kept by incident ${finding.keptBy}`;
  return finding.exemptUntil ? `nothing: exempt until ${finding.exemptUntil}` : finding.plan;
}

/** A scan of other accounts than the caller's alone (`--account`): every line names its account. */
const acrossAccounts = (report: ScanReport): boolean =>
  report.accounts.length !== 1 || report.accounts[0] !== report.accountId;

/** The report for a terminal: a table of findings, then each listing that could not be made. */
export function scanLines(report: ScanReport, layout?: TableLayout): string[] {
  const lines: string[] = [];
  const several = acrossAccounts(report);
  const account = (accountId: string) => (several ? [accountId] : []);
  if (report.findings.length > 0) {
    lines.push(
      ...formatTable(
        [
          ['STATE', ...account('ACCOUNT'), 'RULE', 'REGION', 'RESOURCE', 'WHY', 'MODE', 'ENFORCE WOULD'],
          ...report.findings.map((finding) => [
            finding.state,
            ...account(finding.accountId),
            finding.ruleId,
            finding.region,
            finding.resourceId,
            finding.reason,
            finding.mode,
            enforceWould(finding),
          ]),
        ],
        layout,
      ),
    );
  }
  for (const error of report.errors) {
    const where = several ? `account ${error.accountId} ${scopeName(error.scope)}` : scopeName(error.scope);
    lines.push(`not scanned: ${error.ruleId} in ${where}: ${error.reason}`);
  }
  return lines;
}

const scopeName = (scope: string) => (scope === GLOBAL_SCOPE ? 'IAM (global)' : scope);

/** One line: what was scanned, what was found, and that nothing changed. */
export function scanSummary(report: ScanReport): string {
  const drift = report.findings.filter((finding) => finding.state === FindingState.Drift).length;
  const exempted = report.findings.length - drift;
  const rules = new Set([...report.scanned, ...report.errors].map((listing) => listing.ruleId)).size;
  const global = [...report.scanned, ...report.errors].some((listing) => listing.scope === GLOBAL_SCOPE)
    ? ' and IAM (global)'
    : '';
  const notScanned =
    report.errors.length > 0 ? `; ${report.errors.length} listing(s) NOT scanned (see above)` : '';
  // A narrowed scope is never silent (shared/rules/scope.ts).
  const unjudged = report.scanned.reduce((total, listing) => total + (listing.outOfScope ?? 0), 0);
  const outOfScope =
    unjudged > 0 ? `; ${unjudged} resource(s) outside a rule's narrowed scope, not judged` : '';
  const accounts = report.accounts.length === 1 ? 'account' : 'accounts';
  return `scan of ${accounts} ${report.accounts.join(', ')}, ${report.regions.join(', ')}${global}, ${rules} rule(s): ${drift} finding(s) of drift, ${exempted} exempted${byAccount(report)}${notScanned}${outOfScope}; nothing was changed`;
}

/** Across accounts: each account's drift (and listings not made), so none hides behind a total. */
function byAccount(report: ScanReport): string {
  if (!acrossAccounts(report) || report.accounts.length === 1) return '';
  const each = report.accounts.map((accountId) => {
    const drift = report.findings.filter(
      (finding) => finding.accountId === accountId && finding.state === FindingState.Drift,
    ).length;
    const failed = report.errors.filter((error) => error.accountId === accountId).length;
    return `${accountId}: ${drift} drift${failed > 0 ? `, ${failed} NOT scanned` : ''}`;
  });
  return ` (${each.join('; ')})`;
}

/**
 * 1 when a listing failed (drift there is unknown: never reported as none), else 3 when there is
 * drift that is not exempted, else 0.
 */
export function scanExitCode(report: ScanReport): ExitCode {
  if (report.errors.length > 0) return ExitCode.Error;
  const drift = report.findings.some((finding) => finding.state === FindingState.Drift);
  return drift ? ExitCode.DriftFound : ExitCode.Ok;
}
