import type { Command } from 'commander';
import {
  type DynamoDbExemptionLedger,
  type Exemption,
  ExemptionAlreadyRemovedError,
  ExemptionInForceError,
  ExemptionNotFoundError,
  isInForce,
  newExemptionId,
} from '../shared/exemptions/ledger';
import { exemptionBeyondLimits } from '../shared/exemptions/limits';
import { checkExemptible, ExemptionRefusedError, neverExempt } from '../shared/exemptions/resource-types';
import { buildExemptionAlert } from '../shared/pipeline/human-alerts';
import { rules } from '../shared/rules';
import type { Rule } from '../shared/rules/rule';
import type { Caller, CliContext, Io } from './context';
import { parseUntil } from './duration';
import { CliError, UsageError } from './errors';
import { exemptionLedger, missingTable } from './ledger-access';
import { tellOnCall } from './on-call';
import { checkOptions } from './option-checks';
import type { WithContext } from './ssh';
import { checkReason } from './ssh-grant';
import { formatTable, type TableLayout } from './table';

interface AddOptions {
  rule: string;
  until: string;
  reason: string;
  json?: boolean;
}

function knownRule(id: string): Rule {
  const rule = rules.find((candidate) => candidate.id === id);
  if (!rule) {
    throw new UsageError(`unknown --rule '${id}': one of ${rules.map((known) => known.id).join(', ')}`);
  }
  return rule;
}

/**
 * Runs `work` against the exemption ledger (the home stack's table, whatever region the resource
 * is in), turning a missing table or a ledger refusal into one line.
 */
async function inExemptions<T>(
  ctx: CliContext,
  work: (ledger: DynamoDbExemptionLedger) => Promise<T>,
): Promise<T> {
  try {
    return await work(exemptionLedger(ctx));
  } catch (error) {
    if (
      error instanceof ExemptionInForceError ||
      error instanceof ExemptionNotFoundError ||
      error instanceof ExemptionAlreadyRemovedError
    ) {
      throw new CliError(error.message, { cause: error });
    }
    throw missingTable(ctx, error) ?? error;
  }
}

/** The rule can exempt this resource (its type), or a usage mistake saying why not. */
function checkExemptibleBy(rule: Rule, arn: string): void {
  try {
    checkExemptible(rule, arn);
  } catch (error) {
    if (error instanceof ExemptionRefusedError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

export async function addExemption(ctx: CliContext, arn: string, options: AddOptions): Promise<Exemption> {
  const rule = knownRule(options.rule);
  checkExemptibleBy(rule, arn);
  const now = ctx.now();
  const until = parseUntil(options.until, now);
  const reason = checkReason(options.reason);
  const caller = await ctx.caller();
  const exemption: Exemption = {
    exemptionId: newExemptionId(now),
    ruleId: rule.id,
    resourceArn: arn,
    reason,
    until: until.toISOString(),
    setBy: caller.arn,
    setAt: now.toISOString(),
  };
  // The limits the functions re-check when they read it (the checks above say what to do instead).
  const beyond = exemptionBeyondLimits(exemption, now, neverExempt(exemption.ruleId));
  if (beyond) throw new CliError(`refused exemption: the responder would ignore it, as ${beyond}`);
  const onCall = await ctx.onCall();
  await inExemptions(ctx, (ledger) => ledger.add(exemption, { now }));
  await tellOnCall(
    onCall,
    exemptionAlert(ctx, 'added', exemption, caller),
    `${exemption.exemptionId} was added`,
  );
  return exemption;
}

/** In the resource's region (the home stack's for IAM, which has none), with the exempted rule's severity. */
function exemptionAlert(ctx: CliContext, change: 'added' | 'removed', exemption: Exemption, caller: Caller) {
  const severity = rules.find((rule) => rule.id === exemption.ruleId)?.severity ?? 'HIGH';
  const region = exemption.resourceArn.split(':')[3] || ctx.settings.homeRegion;
  return buildExemptionAlert(change, exemption, { account: caller.accountId, region, severity });
}

/** Exemptions of every region and IAM, soonest end first, from the one ledger in the home table. */
export async function listExemptions(
  ctx: CliContext,
  options: { all: boolean; ruleId?: string },
): Promise<Exemption[]> {
  const now = ctx.now();
  const found = await inExemptions(ctx, (ledger) => ledger.list(options.all ? undefined : now));
  return found
    .filter((exemption) => options.all || isInForce(exemption, now))
    .filter((exemption) => !options.ruleId || exemption.ruleId === options.ruleId)
    .sort((a, b) => a.until.localeCompare(b.until));
}

export async function removeExemption(
  ctx: CliContext,
  exemptionId: string,
  reason?: string,
): Promise<Exemption> {
  const why = reason === undefined ? undefined : checkReason(reason);
  const caller = await ctx.caller();
  const onCall = await ctx.onCall();
  const removed = await inExemptions(ctx, (ledger) => ledger.remove(exemptionId, caller.arn, ctx.now(), why));
  await tellOnCall(onCall, exemptionAlert(ctx, 'removed', removed, caller), `${exemptionId} was removed`);
  return removed;
}

function stateOf(exemption: Exemption, now: Date): string {
  if (exemption.removedAt) return `removed ${exemption.removedAt}`;
  if (!isInForce(exemption, now)) return 'expired';
  // Written around the command line: the functions ignore it, and so does this listing.
  const beyond = exemptionBeyondLimits(exemption, now, neverExempt(exemption.ruleId));
  return beyond ? `ignored: ${beyond}` : 'in force';
}

const shortArn = (arn: string) => arn.split(':').pop() ?? arn;

function exemptionsTable(exemptions: readonly Exemption[], now: Date, layout?: TableLayout): string[] {
  return formatTable(
    [
      ['EXEMPTION', 'RULE', 'RESOURCE', 'UNTIL', 'STATE', 'BY', 'REASON'],
      ...exemptions.map((exemption) => [
        exemption.exemptionId,
        exemption.ruleId,
        exemption.resourceArn,
        exemption.until,
        stateOf(exemption, now),
        shortArn(exemption.setBy),
        exemption.reason,
      ]),
    ],
    layout,
  );
}

const printJson = (io: Io, value: unknown) => io.out(JSON.stringify(value, null, 2));

/** `compliance-responder exemptions ...`: approved exceptions, held in the ledger with who set them. */
export function registerExemptions(program: Command, io: Io, withContext: WithContext): void {
  const exemptions = program
    .command('exemptions')
    .description(
      'approved exceptions to a rule, in the exemption ledger (exemption tags are only a request)',
    );

  const list = exemptions
    .command('list')
    .description('list exemptions in force')
    .option('--rule <id>', 'only this rule')
    .option('--all', 'include expired and removed ones')
    .option('--json', 'print them as JSON')
    .action((options: { rule?: string; all?: boolean; json?: boolean }, command: Command) =>
      withContext(command, async (ctx) => {
        const listed = await listExemptions(ctx, { all: options.all === true, ruleId: options.rule });
        if (options.json) return printJson(io, listed);
        if (listed.length === 0) return io.out(options.all ? 'no exemptions' : 'no exemptions in force');
        for (const line of exemptionsTable(listed, ctx.now(), io.layout)) io.out(line);
      }),
    );
  checkOptions<{ rule?: string }>(list, (options) => options.rule !== undefined && knownRule(options.rule));

  const add = exemptions
    .command('add')
    .description('exempt one resource from one rule until a date; recorded with your ARN')
    .argument('<resource-arn>', 'the resource (its ARN, as incidents show it)')
    .requiredOption('--rule <id>', 'the rule it is exempt from')
    .requiredOption('--until <date|duration>', 'when it ends: 2026-12-01, 30d, 12h (at most a year ahead)')
    .requiredOption('--reason <text>', 'why (a change ticket or a sentence); recorded in the ledger')
    .option('--json', 'print the exemption as JSON')
    .action((arn: string, options: AddOptions, command: Command) =>
      withContext(command, async (ctx) => {
        const exemption = await addExemption(ctx, arn, options);
        if (options.json) return printJson(io, exemption);
        io.out(
          `exempted ${exemption.resourceArn} from ${exemption.ruleId} until ${exemption.until} (${exemption.exemptionId})`,
        );
        io.out(
          `  the responder records its findings as exempted and pages nobody; end it sooner with: exemptions remove ${exemption.exemptionId}`,
        );
      }),
    );
  checkOptions<Partial<AddOptions>>(
    add,
    (options) => options.rule !== undefined && knownRule(options.rule),
    (options, [arn]) => {
      const rule = rules.find((candidate) => candidate.id === options.rule);
      if (rule) checkExemptibleBy(rule, String(arn));
    },
    (options) => options.until !== undefined && parseUntil(options.until, new Date()),
    (options) => options.reason !== undefined && checkReason(options.reason),
  );

  const remove = exemptions
    .command('remove')
    .description('end an exemption now (recorded with your ARN; nothing is deleted)')
    .argument('<exemption-id>', 'the exemption to end (see exemptions list)')
    .option('--reason <text>', 'why it ends early')
    .option('--json', 'print the exemption as JSON')
    .action((exemptionId: string, options: { reason?: string; json?: boolean }, command: Command) =>
      withContext(command, async (ctx) => {
        const removed = await removeExemption(ctx, exemptionId, options.reason);
        if (options.json) return printJson(io, removed);
        io.out(
          `removed ${removed.exemptionId} (${removed.ruleId} on ${removed.resourceArn}) at ${removed.removedAt}`,
        );
        io.out('  the next delivery or sweep handles this resource as usual');
      }),
    );
  checkOptions<{ reason?: string }>(
    remove,
    (options) => options.reason !== undefined && checkReason(options.reason),
  );
}
