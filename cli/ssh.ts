import type { Command } from 'commander';
import { ACCOUNT_ID_PATTERN } from '../shared/ssh/grant-ledger';
import { parseAccounts } from './account-option';
import type { CliContext, Io } from './context';
import { formatMinutes, parseMinutes } from './duration';
import { CliError, UsageError } from './errors';
import { checkOptions } from './option-checks';
import { checkGrantCidr, checkReason, grantSecurityGroupRule, grantUser, type Recorded } from './ssh-grant';
import { describeTarget, grantsTable, listLiveGrants } from './ssh-grants';
import { LockdownOutcome, type LockdownReport, type LockdownRun, lockdown } from './ssh-lockdown';
import { checkGrantId, revokeGrant } from './ssh-revoke';
import { formatTable } from './table';
import { isYes } from './undo-prompt';

interface GrantOptions {
  user?: string;
  securityGroup?: string;
  cidr?: string;
  port?: string;
  for?: string;
  key?: string[];
  ttl?: string;
  reason: string;
  account?: string;
  json?: boolean;
}

/** Builds the context from the global options, then runs the command's work with it. */
export type WithContext = <T>(command: Command, work: (ctx: CliContext) => Promise<T>) => Promise<T>;

function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65_535) throw new UsageError(`invalid --port '${text}'`);
  return Number(text);
}

function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

/** What to grant: one target, and only the options that go with it. */
function checkGrantTarget(options: GrantOptions): void {
  if (Boolean(options.user) === Boolean(options.securityGroup)) {
    throw new UsageError(
      'say what to grant: either --user <iam-user> or --security-group <sg-id> --cidr <ip>/32',
    );
  }
}

function checkGrantPairing(options: GrantOptions): void {
  if (options.user) {
    const misplaced = (['cidr', 'port', 'for'] as const).filter((flag) => options[flag] !== undefined);
    if (misplaced.length > 0) {
      throw new UsageError(
        `${misplaced.map((flag) => `--${flag}`).join(', ')} ${misplaced.length > 1 ? 'go' : 'goes'} with --security-group; an IAM key grant is for the user it names`,
      );
    }
  }
  if (options.securityGroup) {
    if (!options.cidr) throw new UsageError('--security-group needs --cidr <ip>/32 (the address to let in)');
    if (options.key) throw new UsageError('--key goes with --user');
  }
}

function checkAccount(account: string): string {
  if (!ACCOUNT_ID_PATTERN.test(account))
    throw new UsageError(`--account must be a 12-digit account id, not "${account}"`);
  return account;
}

/** Every option of `ssh grant`, checked before any is reported (option-checks.ts). */
const GRANT_CHECKS = [
  (options: GrantOptions) => options.account !== undefined && checkAccount(options.account),
  checkGrantTarget,
  checkGrantPairing,
  (options: GrantOptions) => options.reason !== undefined && checkReason(options.reason),
  (options: GrantOptions) => options.ttl !== undefined && parseMinutes('--ttl', options.ttl),
  (options: GrantOptions) => options.cidr !== undefined && checkGrantCidr(options.cidr),
  (options: GrantOptions) => options.port !== undefined && parsePort(options.port),
];

/** Runs after GRANT_CHECKS passed: the values parse, and the target and its options agree. */
async function grantCommand(ctx: CliContext, options: GrantOptions): Promise<void> {
  const { io } = ctx;
  const reason = checkReason(options.reason);
  const requestedTtl = options.ttl ? parseMinutes('--ttl', options.ttl) : undefined;
  // Defaults as the stack was deployed, like its caps (the caller's environment may say otherwise).
  const deployed = () => ctx.deployedSettings();
  if (options.user) {
    const ttlMinutes = requestedTtl ?? (await deployed()).ssh.grantTtlMinutes;
    const result = await grantUser(ctx, {
      userName: options.user,
      ttlMinutes,
      reason,
      keyIds: options.key,
      account: options.account,
    });
    if (options.json) return printJson(io, result);
    const { grant } = result;
    io.out(
      `granted ${grant.grantId}: SSH keys of IAM user ${options.user} in account ${grant.account} until ${grant.expiresAt} (${formatMinutes(ttlMinutes)})`,
    );
    if (result.activated.length > 0) io.out(`  activated: ${result.activated.join(', ')}`);
    if (result.alreadyActive.length > 0) io.out(`  already active: ${result.alreadyActive.join(', ')}`);
    if (result.activated.length + result.alreadyActive.length === 0) {
      io.out(
        `  ${options.user} has no SSH public key yet: upload one (aws iam upload-ssh-public-key); this grant covers it`,
      );
    }
    io.out(
      `  the responder sets them Inactive when the grant ends; end it sooner with: ssh revoke ${grant.grantId}`,
    );
    io.out(recordedLine(result));
    return;
  }
  const cidr = checkGrantCidr(String(options.cidr));
  const requestedPort = options.port ? parsePort(options.port) : undefined;
  const { ssh } = await deployed();
  const ttlMinutes = requestedTtl ?? ssh.grantTtlMinutes;
  const port = requestedPort ?? ssh.ports[0] ?? 22;
  const result = await grantSecurityGroupRule(ctx, {
    groupId: String(options.securityGroup),
    cidr,
    port,
    ttlMinutes,
    reason,
    grantedTo: options.for,
    account: options.account,
  });
  if (options.json) return printJson(io, result);
  const { grant } = result;
  io.out(
    `granted ${grant.grantId}: ${cidr.text} → ${options.securityGroup} port ${port} (rule ${result.ruleId ?? 'unknown'}) in account ${grant.account} for ${grant.grantedTo} until ${grant.expiresAt} (${formatMinutes(ttlMinutes)})`,
  );
  io.out(
    `  the responder revokes the rule when the grant ends; end it sooner with: ssh revoke ${grant.grantId}`,
  );
  io.out(recordedLine(result));
}

const recordedLine = (recorded: Recorded) =>
  `  recorded as incident ${recorded.incidentId} (incidents show ${recorded.incidentId}); on-call alerted (message ${recorded.alertMessageId})`;

const where = (report: LockdownReport) =>
  `account ${report.accountId}${report.readSession ? ` (as ${report.readSession.split('/')[1]})` : ''}, ${report.region} (and IAM, which is global)`;

/** The guard's answer to a lockdown of `paths` paths, in one line. */
function guardLine(report: LockdownReport, paths: number): string {
  const { guard } = report;
  if (!guard.refusal) {
    return `blast-radius guard: room for ${guard.room} more (${guard.counted} of ${guard.threshold} counted in ${guard.windowMinutes} minutes); each closed path is counted`;
  }
  return report.emergency
    ? `blast-radius guard: would refuse (${guard.refusal}); --emergency closes all ${paths} past it, each counted`
    : `blast-radius guard: would refuse it (${guard.refusal}); --emergency closes them anyway`;
}

/** What a lockdown is about to do, shown before it asks. */
function lockdownPlanLines(report: LockdownReport, reason: string): string[] {
  const toClose = report.entries.filter((entry) => entry.outcome === LockdownOutcome.WouldClose);
  const exempt = report.entries.filter((entry) => entry.outcome === LockdownOutcome.Exempt);
  return [
    `lockdown of ${where(report)}: ${toClose.length} SSH path(s) to close ${report.readSession ? 'as its member on-call role, under a session named after each incident' : 'with your credentials'}, each recorded as an incident; on-call gets one alert for the lockdown of the account:`,
    ...formatTable([
      ['RULE', 'RESOURCE', 'REGION', 'WHAT'],
      ...toClose.map((entry) => [entry.ruleId, entry.resourceId, entry.region, entry.detail ?? entry.plan]),
    ]).map((line) => `  ${line}`),
    ...(exempt.length > 0 ? [`  left as they are: ${exempt.length} exempt path(s)`] : []),
    `  ${guardLine(report, toClose.length)}`,
    `  why: ${reason}`,
  ];
}

function printLockdown(io: Io, report: LockdownReport): void {
  const { entries, dryRun } = report;
  const rows = entries.map((entry) => [
    entry.outcome,
    entry.ruleId,
    entry.resourceId,
    entry.region,
    entry.incidentId ?? '-',
    entry.detail ?? (dryRun ? entry.plan : entry.reason),
  ]);
  if (rows.length > 0)
    for (const line of formatTable(
      [['OUTCOME', 'RULE', 'RESOURCE', 'REGION', 'INCIDENT', 'WHAT'], ...rows],
      io.layout,
    ))
      io.out(line);
  const count = (outcome: LockdownOutcome) => entries.filter((entry) => entry.outcome === outcome).length;
  if (dryRun) {
    const paths = count(LockdownOutcome.WouldClose);
    io.out(
      `dry run: would close ${paths} SSH path(s) in ${where(report)}; ${count(LockdownOutcome.Exempt)} exempt; nothing was changed`,
    );
    if (paths > 0) io.out(guardLine(report, paths));
    return;
  }
  io.out(
    `lockdown: closed ${count(LockdownOutcome.Closed)} SSH path(s) in ${where(report)}; ${count(LockdownOutcome.Exempt)} exempt; ${count(LockdownOutcome.Failed)} failed; each is an incident (incidents show <incident-id>)`,
  );
}

interface LockdownFlags {
  account?: string;
  dryRun?: boolean;
  ignoreExemptions?: boolean;
  emergency?: boolean;
  reason?: string;
  yes?: boolean;
  json?: boolean;
}

/** Options checked before any AWS call, each on its own: why, and who confirms. */
function lockdownChecks(io: Io) {
  return [
    (options: LockdownFlags) => {
      if (!options.dryRun && options.reason === undefined) {
        throw new UsageError(
          '--reason is required: say why you lock down (a ticket or a sentence); it is recorded in each incident and sent to on-call (--dry-run needs none)',
        );
      }
    },
    (options: LockdownFlags) => options.reason !== undefined && checkReason(options.reason),
    (options: LockdownFlags) => options.account !== undefined && parseAccounts(options.account),
    (options: LockdownFlags) => {
      if (!options.dryRun && !options.yes && !io.ask) {
        throw new UsageError(
          'stdin is not a terminal, so nobody can confirm: pass --yes to lock down without a prompt',
        );
      }
    },
  ];
}

const toCloseIn = (report: LockdownReport) =>
  report.entries.filter((entry) => entry.outcome === LockdownOutcome.WouldClose).length;

async function lockdownCommand(ctx: CliContext, io: Io, options: LockdownFlags, reason?: string) {
  const ask = io.ask;
  // With --json, everything but the result goes to stderr.
  const say = options.json ? io.err : io.out;
  const run: LockdownRun = await lockdown(ctx, {
    dryRun: options.dryRun === true,
    ignoreExemptions: options.ignoreExemptions === true,
    emergency: options.emergency === true,
    reason,
    ...(options.account !== undefined && { accounts: parseAccounts(options.account) ?? 'all' }),
    progress: (line) => io.err(line),
    async confirm(plan) {
      for (const report of plan.accounts) {
        if (toCloseIn(report) > 0) for (const line of lockdownPlanLines(report, reason ?? '')) say(line);
      }
      for (const account of plan.unreached)
        say(`not reached: account ${account.accountId}: ${account.reason}`);
      if (options.yes || !ask) return true;
      const paths = plan.accounts.reduce((sum, report) => sum + toCloseIn(report), 0);
      return isYes(await ask(`close ${paths} SSH path(s)? [y/N] `));
    },
  });
  if (!options.dryRun) io.err('');
  // Without --account, the one account's report, as before the option existed.
  const [only] = run.accounts;
  if (options.json) printJson(io, options.account === undefined && only ? only : run);
  else {
    for (const report of run.accounts) printLockdown(io, report);
    for (const account of run.unreached)
      io.out(`NOT reached: account ${account.accountId}: ${account.reason}`);
  }
  const entries = run.accounts.flatMap((report) => report.entries);
  // A path that could not be closed, or closed without on-call hearing, is a failure scripts must see.
  const failed = entries.filter((entry) => entry.outcome === LockdownOutcome.Failed);
  if (failed.length > 0) {
    throw new CliError(
      `${failed.length} SSH path(s) could not be closed: see FAILED above and their incidents, and retry`,
    );
  }
  // An account not reached may still hold open paths: never a clean exit.
  if (run.unreached.length > 0) {
    throw new CliError(
      `account(s) ${run.unreached.map((account) => account.accountId).join(', ')} not reached: nothing was read or changed there (see NOT reached above)`,
    );
  }
  const unheard = entries.filter((entry) => entry.incidentId && !entry.alertMessageId);
  if (unheard.length > 0) {
    throw new CliError(
      `${unheard.length} path(s) were closed and recorded, but on-call could not be alerted (the alerts are pending; the rules' sweeps send them): tell them yourself`,
    );
  }
}

/** `compliance-responder ssh ...`: grants, their listing, revocation and the lockdown. */
export function registerSsh(program: Command, io: Io, withContext: WithContext): void {
  const ssh = program
    .command('ssh')
    .description('deny-by-default SSH: short grants to named people, recorded in the grant ledger');

  const grant = ssh
    .command('grant')
    .description(
      "grant SSH for a short time: an IAM user's SSH keys, or one address to a security group; recorded as an incident, on-call alerted",
    )
    .option('--user <iam-user>', 'the IAM user whose SSH keys are granted (Inactive keys are set Active)')
    .option(
      '--key <ssh-public-key-id...>',
      "with --user: set only these Inactive keys Active (default: all; the grant covers the user's keys)",
    )
    .option('--security-group <sg-id>', 'the security group to open SSH on')
    .option(
      '--cidr <ip/prefix>',
      'with --security-group: the address to let in (IPv4 /24 or narrower, IPv6 /64 or narrower)',
    )
    .option('--port <port>', 'with --security-group: the SSH port (default: the first of SSH_PORTS)')
    .option('--for <person>', 'with --security-group: who the grant is for (default: you)')
    .option(
      '--account <id>',
      'the account of the user or group (default: yours); in an organisation deployment an ACTIVE member, opened as its <stack>-member-approver role',
    )
    .option(
      '--ttl <duration>',
      'how long: 30m, 1h, 90m (default SSH_GRANT_TTL_MINUTES, capped by SSH_GRANT_MAX_TTL_MINUTES)',
    )
    .requiredOption(
      '--reason <text>',
      'why (a ticket or a sentence); recorded in the ledger and the incident, and sent to on-call',
    )
    .option('--json', 'print the grant as JSON')
    .action((options: GrantOptions, command: Command) =>
      withContext(command, (ctx) => grantCommand(ctx, options)),
    );
  checkOptions(grant, ...GRANT_CHECKS);

  const grants = ssh
    .command('grants')
    .description('list live grants, each with its account')
    .option('--account <id>', 'only the grants of this account')
    .option('--json', 'print them as JSON')
    .action((options: { account?: string; json?: boolean }, command: Command) =>
      withContext(command, async (ctx) => {
        const { accountId: own } = await ctx.caller();
        // A grant naming no account is the security account's (recorded before grants named one).
        const live = (await listLiveGrants(ctx))
          .map((grant) => ({ ...grant, account: grant.account ?? own }))
          .filter((grant) => options.account === undefined || grant.account === options.account);
        if (options.json) return printJson(io, live);
        if (live.length === 0)
          return io.out(`no live SSH grants${options.account ? ` in account ${options.account}` : ''}`);
        for (const line of grantsTable(live, ctx.now(), io.layout)) io.out(line);
      }),
    );
  checkOptions<{ account?: string }>(
    grants,
    (options) => options.account !== undefined && checkAccount(options.account),
  );

  const revoke = ssh
    .command('revoke')
    .description(
      "end a grant now: the ledger records who, when and why, then its rule is revoked or the user's keys set Inactive; recorded as an incident, on-call alerted",
    )
    .argument('<grant-id>', 'the grant to end (see ssh grants)')
    .requiredOption(
      '--reason <text>',
      'why it ends early (a ticket or a sentence); recorded in the ledger and the incident, and sent to on-call',
    )
    .option('--json', 'print the result as JSON')
    .action((grantId: string, options: { reason: string; json?: boolean }, command: Command) => {
      const reason = checkReason(options.reason);
      return withContext(command, async (ctx) => {
        const result = await revokeGrant(ctx, grantId, reason);
        if (options.json) return printJson(io, result);
        io.out(
          `revoked ${result.grant.grantId} (${describeTarget(result.grant)}) at ${result.grant.revokedAt}`,
        );
        for (const line of result.closed) io.out(`  closed: ${line}`);
        for (const line of result.notes) io.out(`  note: ${line}`);
        io.out(recordedLine(result));
      });
    });
  checkOptions<{ reason?: string }>(
    revoke,
    (_options, [grantId]) => checkGrantId(String(grantId)),
    (options) => options.reason !== undefined && checkReason(options.reason),
  );

  const lockdownCommandLine = ssh
    .command('lockdown')
    .description(
      "close every SSH path without a live grant now, with your credentials (the SSH rules' logic); each closed path is an incident, counted by the blast-radius guard; on-call gets one alert for the lockdown",
    )
    .option('--dry-run', 'list what would close and whether the blast-radius guard has room; change nothing')
    .option(
      '--reason <text>',
      'why (a ticket or a sentence); required unless --dry-run; recorded in each incident and sent to on-call',
    )
    .option('--yes', 'do not ask (required when stdin is not a terminal)')
    .option(
      '--emergency',
      'close past the blast-radius guard (tripped, or more paths than it has room for); each counted and recorded as an emergency',
    )
    .option('--ignore-exemptions', 'close exempted paths too (each incident names the exemption it overrode)')
    .option(
      '--account <ids>',
      'organisation deployment: lock down these ACTIVE accounts (12-digit ids, comma-separated), or all; a member through its member on-call role (default: your own account)',
    )
    .option('--json', "print the report as JSON (with --account: every account's, and those not reached)")
    .action((options: LockdownFlags, command: Command) => {
      const reason = options.reason === undefined ? undefined : checkReason(options.reason);
      return withContext(command, (ctx) => lockdownCommand(ctx, io, options, reason));
    });
  checkOptions(lockdownCommandLine, ...lockdownChecks(io));
}
