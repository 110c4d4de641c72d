#!/usr/bin/env node
// `npx compliance-responder ...`: the on-call command line. It runs from its bundle
// (dist/cli/compliance-responder.js, written by `npm run build`), or through tsx from cli/index.ts
// when there is no bundle or a source file changed since it was built.
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const bundle = join(root, 'dist', 'cli', 'compliance-responder.js');

/** The newest modification time of the TypeScript the bundle is built from. */
function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const fresh =
  existsSync(bundle) &&
  statSync(bundle).mtimeMs >= Math.max(newestSource(join(root, 'cli')), newestSource(join(root, 'shared')));
if (!fresh) require('tsx/cjs');
const cli = require(fresh ? bundle : '../cli/index.ts');
cli.endQuietlyOnClosedPipe();
cli.main(process.argv).then((code) => {
  process.exitCode = code;
});
