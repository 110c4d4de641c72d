import type { AwsClients } from '../shared/aws/clients';
import { retryUntil } from '../shared/concurrency';
import type { Settings } from '../shared/config';
import { errorMessage } from '../shared/errors';
import { type Listing, listingsOf } from '../shared/pipeline/listings';
import type { Loaded, Rule } from '../shared/rules/rule';
import { sshGrantExpired } from '../shared/rules/ssh-grant-expired';
import { sshOpenToWorld } from '../shared/rules/ssh-open-to-world';
import type { CliContext } from './context';
import { exemptionInForce, inTable } from './ledger-access';
import { type CliStep, terminalSteps } from './steps';

export interface LockdownOptions {
  /** List what would close; change nothing. */
  dryRun: boolean;
  /** Close exempted paths too (an emergency). By default an active exemption is respected. */
  ignoreExemptions: boolean;
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
  steps: CliStep[];
}

export interface LockdownReport {
  accountId: string;
  region: string;
  dryRun: boolean;
  entries: LockdownEntry[];
}

interface PathSource {
  rule: Rule;
  /** Clients of the region whose resources this source reads (the ledgers are the home table's). */
  aws: AwsClients;
  listing: Listing;
}

/**
 * Closes every SSH path now, with the caller's credentials: the same listings, detect and remediate
 * as the two SSH rules' sweeps, run here instead of in Lambda. World-open rules and ungranted rules
 * of the region's security groups, and Active IAM SSH keys without a live grant (IAM is global).
 */
export async function lockdown(ctx: CliContext, options: LockdownOptions): Promise<LockdownReport> {
  const { region, io } = ctx;
  // Grants are judged as the stack's function judges them: by the limits it was deployed with.
  const settings = await ctx.deployedSettings();
  const { accountId } = await ctx.caller();
  const aws = ctx.aws();
  const sources: PathSource[] = [sshOpenToWorld, sshGrantExpired].flatMap((rule) =>
    listingsOf(rule, [region], { accountId, aws, settings }, { global: true }).map((listing) => ({
      rule,
      aws,
      listing,
    })),
  );
  const entries: LockdownEntry[] = [];
  for (const source of sources) {
    // The path listings read live grants from the home table (the rule's own ledger reads).
    await inTable(ctx, async () => {
      for await (const resource of source.listing.resources()) {
        const entry = await closePath(ctx, settings, source, resource, options);
        if (entry) entries.push(entry);
      }
    });
  }
  if (!options.dryRun) io.err('');
  return { accountId, region, dryRun: options.dryRun, entries };
}

async function closePath(
  ctx: CliContext,
  settings: Settings,
  source: PathSource,
  resource: Loaded<unknown>,
  options: LockdownOptions,
): Promise<LockdownEntry | undefined> {
  const { rule, aws } = source;
  const { io } = ctx;
  const verdict = rule.detect(resource, settings);
  if (verdict.compliant) return undefined;
  const entry: LockdownEntry = {
    ruleId: rule.id,
    resourceType: resource.resourceType,
    resourceId: resource.resourceId,
    region: resource.region,
    outcome: LockdownOutcome.WouldClose,
    reason: verdict.reason,
    plan: verdict.plan,
    steps: [],
  };
  const exemption = options.ignoreExemptions ? undefined : await exemptionInForce(ctx, rule.id, resource);
  if (exemption) {
    return {
      ...entry,
      outcome: LockdownOutcome.Exempt,
      detail: `exempt until ${exemption.until}: ${exemption.reason}`,
    };
  }
  if (options.dryRun) return entry;
  io.err(`closing ${resource.resourceId} (${rule.id}): ${verdict.reason}`);
  const { step, steps } = terminalSteps(io);
  try {
    // No incident here: the run is the caller's own, and the trail is CloudTrail plus this output.
    const workflow = { state: {}, save: async () => {} };
    await rule.remediate(resource, verdict, { aws, settings, step, incidentId: ctx.runId, workflow });
    // Honest: closed only once a read shows it (EC2 reads can lag a write).
    const { satisfied } = await retryUntil(
      () => rule.load(resource, aws, settings),
      (after) => after === undefined || rule.detect(after, settings).compliant,
    );
    return satisfied
      ? { ...entry, outcome: LockdownOutcome.Closed, steps }
      : { ...entry, outcome: LockdownOutcome.Failed, detail: 'still open when read back', steps };
  } catch (error) {
    return { ...entry, outcome: LockdownOutcome.Failed, detail: errorMessage(error), steps };
  }
}
