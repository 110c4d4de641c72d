import { execFile } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(__dirname, '..', '..', 'bin', 'compliance-responder.cjs');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The command line as on-call runs it (`npx compliance-responder ...`): its own process, stdin not
 * a terminal, credentials, endpoint and settings from the environment.
 */
export function runCli(
  args: readonly string[],
  env: Record<string, string> = {},
  options: { cwd?: string } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, ...env }, ...options },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
