import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';

/** Writes one bundle per function: dist/functions/<name>.js, exporting `handler`. */
const { options } = require('../esbuild.config.cjs') as { options: Parameters<typeof build>[0] };

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

if (require.main === module) {
  buildFunctions()
    .then((names) =>
      console.error(`built ${names.length} function bundle(s) into dist/functions/: ${names.join(', ')}`),
    )
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
