import type { Command } from 'commander';
import { BlastRadiusGuard, type GuardStatus } from '../shared/pipeline/guards';
import { buildGuardResetAlert } from '../shared/pipeline/human-alerts';
import type { CliContext, Io } from './context';
import { Answered, ExitCode, UsageError } from './errors';
import { inTable, tableRegion } from './ledger-access';
import { tellOnCall } from './on-call';
import { checkOptions } from './option-checks';
import type { WithContext } from './ssh';
import { checkReason } from './ssh-grant';

/** The guard's state lives in the home stack's table, like everything else the functions record. */
export const guardOf = (ctx: CliContext) =>
  new BlastRadiusGuard(
    ctx.aws().dynamo(),
    ctx.tableName,
    ctx.settings.guard.threshold,
    ctx.settings.guard.windowMinutes,
    ctx.now,
  );

/**
 * `--account`: a member account's own guard in an organisation deployment (docs/organisation.md);
 * absent, or the stack's own account, the stack's guard.
 */
async function guardFor(ctx: CliContext, account: string | undefined): Promise<BlastRadiusGuard> {
  const guard = guardOf(ctx);
  if (account === undefined || account === (await ctx.caller()).accountId) return guard;
  return guard.forAccount(account);
}

const ACCOUNT_OPTION = [
  '--account <id>',
  "a member account's guard (organisation deployments: each account has its own); default: this account's",
] as const;

/** A 12-digit account id, or a usage error naming the option. */
function checkAccount(account: string | undefined): string | undefined {
  if (account !== undefined && !/^\d{12}$/.test(account)) {
    throw new UsageError(`--account must be a 12-digit account id, not "${account}"`);
  }
  return account;
}

/** `guard status` for a person: tripped or not, and how full the sliding window is. */
export function guardStatusLines(status: GuardStatus, where: string): string[] {
  const window = `${status.counted} of ${status.threshold} remediation(s) counted in the sliding ${status.windowMinutes}-minute window`;
  const lines = status.tripped
    ? [
        `blast-radius guard TRIPPED in ${where} since ${status.trippedAt}: the responder only notifies until a person resets it`,
        `  why:    ${status.reason}`,
        `  window: ${window}`,
        '  reset:  compliance-responder guard reset --reason "..." (once you know why so much changed)',
      ]
    : [
        `blast-radius guard not tripped in ${where}: the responder remediates`,
        `  window: ${window}; more than ${status.threshold} trips it`,
      ];
  const last = status.lastReset;
  if (last) lines.push(`  last reset: ${last.resetAt} by ${last.resetBy}: ${last.reason}`);
  return lines;
}

/** `compliance-responder guard ...`: the blast-radius guard's state, and resetting it. */
export function registerGuard(program: Command, io: Io, withContext: WithContext): void {
  const guard = program
    .command('guard')
    .description(
      'the blast-radius guard: too many remediations in a window switch the responder to notify-only',
    );

  const statusCommand = guard
    .command('status')
    .description(
      'whether the guard is tripped (since when, why) and the remediations in the current window; exits 4 while tripped',
    )
    .option(...ACCOUNT_OPTION)
    .option('--json', 'print the status as JSON')
    .action((options: { json?: boolean; account?: string }, command: Command) =>
      withContext(command, async (ctx) => {
        const account = checkAccount(options.account);
        const guard = await guardFor(ctx, account);
        const status = await inTable(ctx, () => guard.status());
        const where = `${ctx.tableName} (${tableRegion(ctx)})${guard.account ? ` for account ${guard.account}` : ''}`;
        if (options.json)
          io.out(JSON.stringify({ ...status, ...(guard.account && { account: guard.account }) }, null, 2));
        else for (const line of guardStatusLines(status, where)) io.out(line);
        // Non-zero while tripped, so a script or a health check can tell without parsing.
        if (status.tripped) throw new Answered(ExitCode.GuardTripped);
      }),
    );

  checkOptions<{ account?: string }>(statusCommand, (options) => checkAccount(options.account));

  const resetCommand = guard
    .command('reset')
    .description(
      'clear a trip and the window counts so the responder remediates again; recorded with who and why',
    )
    .requiredOption('--reason <text>', 'why it is safe to remediate again (a ticket or a sentence); recorded')
    .option(...ACCOUNT_OPTION)
    .option('--json', 'print the recorded reset as JSON')
    .action((options: { reason: string; json?: boolean; account?: string }, command: Command) => {
      const reason = checkReason(options.reason);
      const account = checkAccount(options.account);
      return withContext(command, async (ctx) => {
        const caller = await ctx.caller();
        const onCall = await ctx.onCall();
        const guard = await guardFor(ctx, account);
        const reset = await inTable(ctx, () => guard.reset(caller.arn, reason));
        if (reset) {
          const where = { account: guard.account ?? caller.accountId, region: tableRegion(ctx) };
          await tellOnCall(onCall, buildGuardResetAlert(reset, where), 'the guard was reset (recorded)');
        }
        if (options.json) return io.out(JSON.stringify({ reset: reset !== undefined, ...reset }, null, 2));
        if (!reset) {
          io.out(
            `the blast-radius guard is not tripped in ${ctx.tableName} (${tableRegion(ctx)}): nothing was changed`,
          );
          return;
        }
        io.out(
          `reset the blast-radius guard (tripped at ${reset.trippedAt}); the next remediation is allowed; recorded as reset by ${reset.resetBy} at ${reset.resetAt}; on-call alerted`,
        );
      });
    });
  checkOptions<{ reason?: string; account?: string }>(
    resetCommand,
    (options) => options.reason !== undefined && checkReason(options.reason),
    (options) => checkAccount(options.account),
  );
}
