import { copyFileSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import { cliOptions, options } from './lib/esbuild-options';

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

/**
 * The command line: its bundle, dist/cli/cli.bundle.js, and its entry, dist/cli/compliance-responder.js
 * (bin/ runs it when it is fresh), which runs the bundle through V8's code cache
 * (scripts/lib/cli-loader.cjs). Stale caches are removed; the first run writes the new one.
 */
export async function buildCli(): Promise<void> {
  const dir = join(root, 'dist', 'cli');
  await build({
    ...cliOptions,
    entryPoints: [join(root, 'cli', 'index.ts')],
    outfile: join(dir, 'cli.bundle.js'),
    // The SDK's import('node:http') as require: Node 20 cannot import() from code its cache compiled.
    supported: { 'dynamic-import': false },
  });
  for (const file of readdirSync(dir)) if (file.endsWith('.v8cache')) rmSync(join(dir, file));
  const entry = join(dir, 'compliance-responder.js');
  copyFileSync(join(root, 'scripts', 'lib', 'cli-loader.cjs'), entry);
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
