import type { Command } from 'commander';
import type { CliContext, Io } from './context';
import type { WithContext } from './ssh';

/** What `stack` prints: where the command line will read and write, and where that came from. */
function stackView(ctx: CliContext) {
  return {
    source: ctx.tableSource ?? '--table',
    ...(ctx.stack ?? { tableName: ctx.tableName, homeRegion: ctx.settings.homeRegion }),
  };
}

const LABELS: Record<string, string> = {
  source: 'found from',
  stackName: 'stack',
  stage: 'stage',
  homeRegion: 'home region',
  tableName: 'table',
  alertTopicArn: 'alert topic',
  keyArn: 'key',
  onCallRoleArn: 'on-call role',
  approverRoleArn: 'approver role',
};

/**
 * `compliance-responder stack`: the stack the other commands work on. The roles are the ones to
 * assume for changes (docs/security.md): on-call for undo, guard reset, lockdown and revoke;
 * approver for exemptions and grants.
 */
export function registerStack(program: Command, io: Io, withContext: WithContext): void {
  program
    .command('stack')
    .description(
      "the stack the commands work on: its stage, home region, table, alert topic, key and the on-call and approver roles, from the stack's outputs (or what --table / INCIDENT_TABLE named)",
    )
    .option('--json', 'print it as JSON')
    .action((options: { json?: boolean }, command: Command) =>
      withContext(command, async (ctx) => {
        const view = stackView(ctx);
        if (options.json) {
          io.out(JSON.stringify(view, null, 2));
          return;
        }
        const rows = Object.entries(view).map(([key, value]) => [LABELS[key] ?? key, String(value)] as const);
        const width = Math.max(...rows.map(([label]) => label.length));
        for (const [label, value] of rows) io.out(`${label.padEnd(width)}  ${value}`);
        if (ctx.tableSource !== 'stack') {
          io.out(
            `(named by ${ctx.tableSource ?? '--table'}; no stack looked up: unset it to use --stage's stack)`,
          );
        }
      }),
    );
}
