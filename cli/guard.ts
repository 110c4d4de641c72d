import type { Command } from 'commander';
import { BlastRadiusGuard, type GuardStatus } from '../shared/pipeline/guards';
import { buildGuardResetAlert } from '../shared/pipeline/human-alerts';
import type { CliContext, Io } from './context';
import { Answered, ExitCode } from './errors';
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

  guard
    .command('status')
    .description(
      'whether the guard is tripped (since when, why) and the remediations in the current window; exits 4 while tripped',
    )
    .option('--json', 'print the status as JSON')
    .action((options: { json?: boolean }, command: Command) =>
      withContext(command, async (ctx) => {
        const status = await inTable(ctx, () => guardOf(ctx).status());
        if (options.json) io.out(JSON.stringify(status, null, 2));
        else
          for (const line of guardStatusLines(status, `${ctx.tableName} (${tableRegion(ctx)})`)) io.out(line);
        // Non-zero while tripped, so a script or a health check can tell without parsing.
        if (status.tripped) throw new Answered(ExitCode.GuardTripped);
      }),
    );

  const resetCommand = guard
    .command('reset')
    .description(
      'clear a trip and the window counts so the responder remediates again; recorded with who and why',
    )
    .requiredOption('--reason <text>', 'why it is safe to remediate again (a ticket or a sentence); recorded')
    .option('--json', 'print the recorded reset as JSON')
    .action((options: { reason: string; json?: boolean }, command: Command) => {
      const reason = checkReason(options.reason);
      return withContext(command, async (ctx) => {
        const caller = await ctx.caller();
        const onCall = await ctx.onCall();
        const reset = await inTable(ctx, () => guardOf(ctx).reset(caller.arn, reason));
        if (reset) {
          const where = { account: caller.accountId, region: tableRegion(ctx) };
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
  checkOptions<{ reason?: string }>(
    resetCommand,
    (options) => options.reason !== undefined && checkReason(options.reason),
  );
}
