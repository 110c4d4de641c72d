import type { Mode, Severity } from '../shared/model';
import { GLOBAL_SCOPE } from '../shared/pipeline/listings';
import { ExitCode } from './errors';
import { formatTable, type TableLayout } from './table';

export const FindingState = { Drift: 'drift', Exempted: 'exempted' } as const;
export type FindingState = (typeof FindingState)[keyof typeof FindingState];

/** One resource a rule judged non-compliant, and what the responder would do about it. */
export interface ScanFinding {
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
  ruleId: string;
  /** A region, or `global` for the global part of a rule (IAM). */
  scope: string;
  resources: number;
  /** Of those, how many were outside the rule's narrowed scope and not judged (absent: none). */
  outOfScope?: number;
}

/** A listing that failed: that rule's resources there were not judged, so nothing is known of them. */
export interface ScanError {
  ruleId: string;
  scope: string;
  reason: string;
}

export interface ScanReport {
  accountId: string;
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

/** The report for a terminal: a table of findings, then each listing that could not be made. */
export function scanLines(report: ScanReport, layout?: TableLayout): string[] {
  const lines: string[] = [];
  if (report.findings.length > 0) {
    lines.push(
      ...formatTable(
        [
          ['STATE', 'RULE', 'REGION', 'RESOURCE', 'WHY', 'MODE', 'ENFORCE WOULD'],
          ...report.findings.map((finding) => [
            finding.state,
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
    lines.push(`not scanned: ${error.ruleId} in ${scopeName(error.scope)}: ${error.reason}`);
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
  return `scan of account ${report.accountId}, ${report.regions.join(', ')}${global}, ${rules} rule(s): ${drift} finding(s) of drift, ${exempted} exempted${notScanned}${outOfScope}; nothing was changed`;
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
