import type { Command } from 'commander';
import type { IncidentFilter } from '../shared/pipeline/incident-store';
import { IncidentStatus } from '../shared/pipeline/lifecycle';
import { parseAccounts } from './account-option';
import type { Io } from './context';
import { LONGEST_EXEMPTION, parseMinutes, parseSince } from './duration';
import { UsageError } from './errors';
import { incidentLines, incidentsTable, parseRule, parseStatus, undoPlanLines } from './incidents-format';
import { checkIncidentId, findIncident, incidentStore } from './incidents-store';
import { checkOptions } from './option-checks';
import { checkMitigation, resolveIncident } from './resolve';
import type { WithContext } from './ssh';
import { checkReason } from './ssh-grant';
import { undoIncident } from './undo';
import { isYes } from './undo-prompt';

interface ListOptions {
  status?: string;
  rule?: string;
  account?: string;
  since: string;
  limit?: string;
  json?: boolean;
}

interface UndoOptions {
  yes?: boolean;
  reason: string;
  exemptFor?: string;
  json?: boolean;
}

const printJson = (io: Io, value: unknown) => io.out(JSON.stringify(value, null, 2));

function parseLimit(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1) {
    throw new UsageError(`invalid --limit '${text}': a number from 1 to 99999`);
  }
  return Number(text);
}

const exemptFor = (text: string) => parseMinutes('--exempt-for', text, LONGEST_EXEMPTION);

const anIncidentId = (_options: unknown, [incidentId]: readonly string[]) =>
  checkIncidentId(String(incidentId));

/** `compliance-responder incidents ...`: the documented incidents, and undoing one. */
export function registerIncidents(program: Command, io: Io, withContext: WithContext): void {
  const incidents = program
    .command('incidents')
    .description('the documented incidents in the table: list, show, undo, resolve');

  const list = incidents
    .command('list')
    .description('incidents newest first (through the table index that fits the filter)')
    .option('--status <status>', `only this status (${Object.values(IncidentStatus).join(', ')})`)
    .option('--rule <rule-id>', 'only this rule')
    .option('--account <ids>', 'only these accounts: 12-digit ids, comma-separated, or all (default)')
    .option('--since <when>', 'detected since: 30d, 12h, 90m or an ISO date', '30d')
    .option('--limit <n>', 'at most this many (default 1000)')
    .option('--json', 'print the incidents as JSON')
    .action((options: ListOptions, command: Command) => {
      // Checked before any AWS call (below); these parse.
      const filter: IncidentFilter = {
        status: options.status === undefined ? undefined : parseStatus(options.status),
        ruleId: options.rule === undefined ? undefined : parseRule(options.rule),
        accounts: options.account === undefined ? undefined : parseAccounts(options.account),
        since: parseSince(options.since, new Date()).toISOString(),
        limit: options.limit === undefined ? undefined : parseLimit(options.limit),
      };
      return withContext(command, async (ctx) => {
        const found = await incidentStore(ctx).list(filter);
        if (options.json) return printJson(io, found);
        const filters = [
          filter.status,
          filter.ruleId,
          ...(filter.accounts ?? []).map((id) => `account ${id}`),
        ]
          .filter(Boolean)
          .join(', ');
        const scope = `in ${ctx.tableName} (${ctx.region}) since ${filter.since}${filters ? ` (${filters})` : ''}`;
        if (found.length === 0) return io.out(`no incidents ${scope}`);
        for (const line of incidentsTable(found, io.layout)) io.out(line);
        io.out(`${found.length} incident(s) ${scope}; details: incidents show <incident-id>`);
      });
    });
  checkOptions<ListOptions>(
    list,
    (options) => options.status !== undefined && parseStatus(options.status),
    (options) => options.rule !== undefined && parseRule(options.rule),
    (options) => options.account !== undefined && parseAccounts(options.account),
    (options) => parseSince(options.since, new Date()),
    (options) => options.limit !== undefined && parseLimit(options.limit),
  );

  const show = incidents
    .command('show')
    .description(
      'the whole documented incident: what, who, when, evidence, steps and their undo, HIPAA, runbook',
    )
    .argument('<incident-id>', 'the incident (see incidents list)')
    .option('--json', 'print the stored record as JSON')
    .action((incidentId: string, options: { json?: boolean }, command: Command) =>
      withContext(command, async (ctx) => {
        const incident = await findIncident(ctx, incidentId);
        if (options.json) return printJson(io, incident);
        for (const line of incidentLines(incident, ctx.settings.runbookBaseUrl)) io.out(line);
      }),
    );
  checkOptions(show, anIncidentId);

  const undo = incidents
    .command('undo')
    .description(
      "replay the recorded undo calls of an incident's changes (last first), with your credentials, after a confirmation; recorded in the incident",
    )
    .argument('<incident-id>', 'the incident (see incidents list)')
    .requiredOption(
      '--reason <text>',
      'why the remediation is reversed (a ticket or a sentence); recorded and sent to on-call',
    )
    .option('--yes', 'do not ask (required when stdin is not a terminal)')
    .option(
      '--exempt-for <duration>',
      "exempt the resource this long so the responder does not revert the undo: 90m, 24h, 7d (default: the rule's shortest, 1h for SSH, at most 24h)",
    )
    .option('--json', 'print the recorded undo as JSON')
    .action((incidentId: string, options: UndoOptions, command: Command) => {
      const reason = checkReason(options.reason);
      const exemptForMinutes = options.exemptFor === undefined ? undefined : exemptFor(options.exemptFor);
      const ask = io.ask;
      // With --json, everything but the result goes to stderr.
      const say = options.json ? io.err : io.out;
      return withContext(command, async (ctx) => {
        const result = await undoIncident(ctx, incidentId, {
          reason,
          exemptForMinutes,
          progress: (line) => say(line),
          async confirm(plan, exemptFor) {
            for (const line of undoPlanLines(plan, exemptFor)) say(line);
            if (options.yes || !ask) return true;
            return isYes(await ask(`undo ${plan.calls.length} change(s) of ${incidentId}? [y/N] `));
          },
        });
        say(`note: ${result.exemption.note}`);
        if (options.json) return printJson(io, result);
        io.out(
          `undone ${incidentId}: ${result.undo.calls.length} call(s) succeeded; recorded in the incident as undone by ${result.undo.by}; on-call alerted (message ${result.undo.alert?.messageId})`,
        );
      });
    });
  checkOptions<UndoOptions>(
    undo,
    anIncidentId,
    (options) => options.reason !== undefined && checkReason(options.reason),
    (options) => options.exemptFor !== undefined && exemptFor(options.exemptFor),
    (options) => {
      if (!options.yes && !io.ask) {
        throw new UsageError(
          'stdin is not a terminal, so nobody can confirm: pass --yes to undo without a prompt',
        );
      }
    },
  );

  const resolve = incidents
    .command('resolve')
    .description(
      "document how an open incident's risk is mitigated (a rule whose incidents end that way, e.g. image-findings-mitigated): records the text, who and when, resolves the incident and alerts on-call",
    )
    .argument('<incident-id>', 'the incident (see incidents list)')
    .requiredOption(
      '--mitigation <text>',
      'what reduces the risk and until when (a ticket or a sentence); recorded in the incident and the report',
    )
    .option('--json', 'print the resolved incident as JSON')
    .action((incidentId: string, options: { mitigation: string; json?: boolean }, command: Command) => {
      const text = checkMitigation(options.mitigation);
      return withContext(command, async (ctx) => {
        // With --json, stdout is the JSON alone: what it covers goes to stderr.
        const result = await resolveIncident(ctx, incidentId, text, (line) =>
          options.json ? io.err(line) : io.out(line),
        );
        if (options.json) return printJson(io, result.incident);
        const moved =
          result.status === IncidentStatus.Resolved
            ? `resolved ${incidentId}`
            : `recorded the mitigation of ${incidentId}, which another writer had already moved to ${result.status}`;
        io.out(
          `${moved}: mitigation recorded by ${result.mitigation.by} at ${result.mitigation.at}; on-call alerted (message ${result.messageId})`,
        );
      });
    });
  checkOptions<{ mitigation?: string }>(
    resolve,
    anIncidentId,
    (options) => options.mitigation !== undefined && checkMitigation(options.mitigation),
  );
}
