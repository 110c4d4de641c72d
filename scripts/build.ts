import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import { options } from './lib/esbuild-options';

/** Writes one bundle per function: dist/functions/<name>.js, exporting `handler`. */

const root = join(__dirname, '..');
const functionsDir = join(root, 'functions');
const entryPoints = readdirSync(functionsDir)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => join(functionsDir, file));

export async function buildFunctions(): Promise<string[]> {
  await Promise.all(
    entryPoints.map((entry) =>
      build({
        ...options,
        entryPoints: [entry],
        outfile: join(root, 'dist', 'functions', `${basename(entry, '.ts')}.js`),
      }),
    ),
  );
  return entryPoints.map((entry) => basename(entry, '.ts'));
}

/** The command line as one bundle, dist/cli/compliance-responder.js (bin/ runs it when it is fresh). */
export async function buildCli(): Promise<void> {
  await build({
    ...options,
    entryPoints: [join(root, 'cli', 'index.ts')],
    outfile: join(root, 'dist', 'cli', 'compliance-responder.js'),
  });
}

if (require.main === module) {
  Promise.all([buildFunctions(), buildCli()])
    .then(([names]) =>
      console.error(
        `built ${names.length} function bundle(s) into dist/functions/ (${names.join(', ')}) and the command line into dist/cli/`,
      ),
    )
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
