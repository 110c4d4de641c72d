import { Command, type Option } from 'commander';
import { CliError, ExitCode, UsageError } from './errors';
import { nearestOf } from './regions';

/**
 * Every option is checked before any is reported: a person who typed three mistakes learns of all
 * three at once, and nothing (context, stack lookup, AWS call, file) is touched while any remains.
 *
 * A command declares its checks with `checkOptions`; the program's preAction hook runs those of the
 * command about to act and of its ancestors (the global --stage, --region, --table), each even when
 * another failed, and adds what commander itself found (a missing required option, an unknown one),
 * which commander would otherwise report alone, first.
 */

/** One check of a command's options (and arguments): throws a CliError saying what is wrong. */
export type OptionCheck<O> = (options: O, args: readonly string[]) => unknown;

const checksOf = new WeakMap<Command, OptionCheck<never>[]>();

/** Declares checks of `command`'s options; they run before its action, all of them. */
export function checkOptions<O>(command: Command, ...checks: OptionCheck<O>[]): Command {
  checksOf.set(command, [...(checksOf.get(command) ?? []), ...(checks as OptionCheck<never>[])]);
  return command;
}

/** Every problem found, one line each; exit 2, or 1 when all are refusals of well-formed values. */
export class OptionProblems extends UsageError {
  override name = 'OptionProblems';
  override readonly exitCode: ExitCode;
  constructor(readonly problems: readonly CliError[]) {
    super(problems.map((problem) => problem.message).join('\n'));
    this.exitCode = problems.every((problem) => problem.exitCode === ExitCode.Error)
      ? ExitCode.Error
      : ExitCode.Usage;
  }
}

const rootOf = (command: Command): Command => (command.parent ? rootOf(command.parent) : command);

/**
 * A command that reports commander's own "required option not specified" and "unknown option"
 * with the rest instead of alone, first (commander calls these two methods; everything else it finds
 * still stops the parse, with what was noted before printed after it).
 */
export class CheckedCommand extends Command {
  /** What commander found while parsing, on the root program, reported by the preAction hook. */
  readonly noted: CliError[] = [];
  private unknown: readonly string[] = [];

  override createCommand(name?: string): CheckedCommand {
    return new CheckedCommand(name);
  }

  override parseOptions(argv: string[]) {
    const parsed = super.parseOptions(argv);
    this.unknown = parsed.unknown;
    return parsed;
  }

  private note(problem: string): void {
    const root = rootOf(this);
    if (root instanceof CheckedCommand) root.noted.push(new UsageError(problem));
  }

  /** Called by commander for each mandatory option left without a value. */
  missingMandatoryOptionValue(option: Option): void {
    this.note(`required option '${option.flags}' not specified`);
  }

  /**
   * Called by commander with the first unknown flag, once every option is parsed: every unknown flag
   * is reported (with a suggestion) together with what the checks find, and the command stops here.
   */
  unknownOption(_first: string): never {
    const known = this.knownFlags();
    for (const flag of this.unknown.filter((arg) => /^--?[A-Za-z]/.test(arg))) {
      const name = flag.split('=')[0] ?? flag;
      const nearest = name.startsWith('--') ? nearestOf(name, known, 2) : undefined;
      this.note(`unknown option '${name}'${nearest ? ` (Did you mean ${nearest}?)` : ''}`);
    }
    throw new OptionProblems(optionProblems(this));
  }

  private knownFlags(): string[] {
    const flags: string[] = [];
    for (let command: Command | null = this; command; command = command.parent) {
      flags.push(...command.options.flatMap((option) => (option.long ? [option.long] : [])));
    }
    return flags;
  }
}

function runChecks(command: Command): CliError[] {
  const checks = checksOf.get(command) ?? [];
  const options = command.opts() as never;
  const args = command.args;
  return checks.flatMap((check) => {
    try {
      check(options, args);
      return [];
    } catch (error) {
      if (error instanceof CliError) return [error];
      throw error;
    }
  });
}

/** Everything wrong with the command line about to act, in the order given, each once. */
export function optionProblems(action: Command): CliError[] {
  const chain: Command[] = [];
  for (let command: Command | null = action; command; command = command.parent) chain.unshift(command);
  const root = chain[0];
  const found = [
    ...(root instanceof CheckedCommand ? root.noted : []),
    ...chain.flatMap((command) => runChecks(command)),
  ];
  const seen = new Set<string>();
  return found.filter((problem) => !seen.has(problem.message) && seen.add(problem.message));
}

/** The preAction hook: the action runs only when nothing is wrong. */
export function refuseOptionProblems(_program: Command, action: Command): void {
  const problems = optionProblems(action);
  if (problems.length > 0) throw new OptionProblems(problems);
}
