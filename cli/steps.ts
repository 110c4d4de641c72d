import { errorMessage } from '../shared/errors';
import type { Summary, UndoCall } from '../shared/model';
import type { StepRecorder } from '../shared/rules/rule';
import type { Io } from './context';

/** A change the command line made, with the call that reverses it (printed, and kept for --json). */
export interface CliStep {
  action: string;
  /** When the call started (ISO-8601 UTC). */
  at: string;
  result: 'succeeded' | 'failed';
  output?: Summary;
  undo?: UndoCall;
  error?: string;
}

const outputWords = (output: Summary | undefined) =>
  output
    ? Object.entries(output)
        .map(([key, value]) => `${key}=${value}`)
        .join(' ')
    : '';

/**
 * The rules' StepRecorder for a person at a terminal: each change runs once, is printed as it
 * happens (stderr, so --json output stays clean) with its undo, and is kept for the result.
 */
export function terminalSteps(
  io: Io,
  now: () => Date = () => new Date(),
): { step: StepRecorder; steps: CliStep[] } {
  const steps: CliStep[] = [];
  const step: StepRecorder = async (action, run, options = {}) => {
    const at = now().toISOString();
    try {
      const result = await run();
      const output = options.output?.(result);
      steps.push({ action, at, result: 'succeeded', output, undo: options.undo });
      io.err(`  done: ${action} ${outputWords(output)}`.trimEnd());
      if (options.undo) {
        io.err(
          `        undo: ${options.undo.service} ${options.undo.action} ${JSON.stringify(options.undo.input)}`,
        );
      }
      return result;
    } catch (error) {
      steps.push({ action, at, result: 'failed', undo: options.undo, error: errorMessage(error) });
      io.err(`  FAILED: ${action}: ${errorMessage(error)}`);
      throw error;
    }
  };
  return { step, steps };
}
