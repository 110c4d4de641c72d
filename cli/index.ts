import { CommanderError } from 'commander';
import { version } from '../package.json';
import { createContext, type GlobalOptions, type Io } from './context';
import { Answered, ExitCode, explainError } from './errors';
import { registerExemptions } from './exemptions';
import { registerGuard } from './guard';
import { registerIncidents } from './incidents';
import { CheckedCommand, checkOptions, OptionProblems, refuseOptionProblems } from './option-checks';
import { checkRegion } from './regions';
import { registerReport } from './report';
import { registerScan } from './scan';
import { registerSsh, type WithContext } from './ssh';
import { parseStage, parseTableName } from './stack';
import { registerStack } from './stack-command';
import { terminalLayout } from './table';
import { askOnTerminal } from './undo-prompt';

/**
 * compliance-responder: the on-call command line. `npx tsx cli/index.ts --help`.
 * AWS credentials, profile, region and AWS_ENDPOINT_URL are found as the AWS CLI finds them.
 * Exit codes: 0 ok, 1 error (AWS, refused by policy, not found), 2 usage mistake, 3 drift found (scan).
 */

// The SDK's Node 20 end-of-support notice would print on every command; the engines field says which Node runs.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const terminal: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  layout: terminalLayout(),
  // Only a person at a terminal can confirm; scripts pass --yes.
  ...(process.stdin.isTTY ? { ask: askOnTerminal } : {}),
};

/** Commander's own outcomes: help and version are fine, everything else is a usage mistake. */
function commanderExit(error: CommanderError): ExitCode {
  return error.code === 'commander.helpDisplayed' || error.code === 'commander.version'
    ? ExitCode.Ok
    : ExitCode.Usage;
}

export function buildProgram(io: Io, withContext: WithContext, argv: readonly string[] = []): CheckedCommand {
  const program = new CheckedCommand('compliance-responder')
    .description('HIPAA compliance responder for AWS: on-call commands')
    .version(version, '--version', 'print the version')
    .option(
      '--stage <stage>',
      "the deployed stack's stage: its outputs (compliance-responder-<stage>) name the table, topic, key and roles",
      'dev',
    )
    .option('--table <name>', "the incidents table (default: INCIDENT_TABLE, else the stage's stack)")
    .option(
      '--region <region>',
      "the AWS region (default: AWS_REGION, then your profile); the home stack's table is in HOME_REGION, else this one",
    )
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.trimEnd()),
      writeErr: (text) => io.err(text.trimEnd()),
    });
  // Every command's options, and these, are checked together before its action builds a context.
  checkOptions<GlobalOptions>(
    program,
    (options) => options.stage !== undefined && parseStage(options.stage),
    (options) => options.region !== undefined && checkRegion(options.region),
    (options) => options.table !== undefined && parseTableName(options.table),
  );
  program.hook('preAction', refuseOptionProblems);
  registerSsh(program, io, withContext);
  registerExemptions(program, io, withContext);
  registerIncidents(program, io, withContext);
  registerGuard(program, io, withContext);
  registerScan(program, io, withContext, argv.slice(2));
  registerReport(program, withContext);
  registerStack(program, io, withContext);
  return program;
}

/** Runs one command line and returns its exit code (never calls process.exit: tests call this). */
export async function main(argv: readonly string[], io: Io = terminal, env = process.env): Promise<ExitCode> {
  let where: { table?: string; region?: string } = {};
  const withContext: WithContext = async (command, work) => {
    const ctx = await createContext(command.optsWithGlobals<GlobalOptions>(), io, env);
    where = { table: ctx.tableName, region: ctx.settings.homeRegion };
    return work(ctx);
  };
  const program = buildProgram(io, withContext, argv);
  try {
    await program.parseAsync([...argv]);
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander stopped at a mistake of its own: say what else it had noted before.
      for (const problem of program.noted) io.err(`error: ${problem.message}`);
      return commanderExit(error);
    }
    // The command printed its result; the exit code is its answer (scan: drift found).
    if (error instanceof Answered) return error.exitCode;
    if (error instanceof OptionProblems) {
      for (const problem of error.problems) io.err(`error: ${problem.message}`);
      return error.exitCode;
    }
    const explained = explainError(error, where);
    io.err(`error: ${explained.message}`);
    return explained.exitCode;
  }
}

/**
 * A reader that stops early (`compliance-responder incidents list | head`) closes the pipe: the
 * command then ends quietly with success, as Unix tools do, instead of dying on EPIPE.
 */
export function endQuietlyOnClosedPipe(
  stream: Pick<NodeJS.WriteStream, 'on'> = process.stdout,
  exit: (code: number) => void = process.exit,
): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    exit(ExitCode.Ok);
  });
}

if (require.main === module) {
  endQuietlyOnClosedPipe();
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
