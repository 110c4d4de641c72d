/**
 * The command line's entry, dist/cli/compliance-responder.js (`npm run build` copies it there): runs
 * the bundle beside it (cli.bundle.js) through V8's code cache, so a run does not compile 1.4 MB of
 * JavaScript again (as Python keeps .pyc files). The cache is named by the bundle's hash: V8 itself
 * checks only the source's length. A cache this Node lacks or rejects (another version) is written
 * at the end of the run, so it holds the functions a run compiled, not only the top level; best
 * effort: the bundle runs the same either way.
 */
'use strict';
const { createHash } = require('node:crypto');
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const { wrap } = require('node:module');
const { join } = require('node:path');
const { Script } = require('node:vm');

const bundle = join(__dirname, 'cli.bundle.js');
const source = readFileSync(bundle, 'utf8');
const cacheFile = join(
  __dirname,
  `cli.bundle.${createHash('sha256').update(source).digest('hex').slice(0, 16)}.v8cache`,
);
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // not written yet
}
const script = new Script(wrap(source), {
  filename: bundle,
  cachedData,
});
if (cachedData === undefined || script.cachedDataRejected) {
  process.once('exit', () => {
    try {
      const partial = `${cacheFile}.${process.pid}`;
      writeFileSync(partial, script.createCachedData());
      renameSync(partial, cacheFile);
    } catch {
      // a read-only install runs without it
    }
  });
}
// The bundle runs as this module: its exports are ours, and `require.main === module` still says
// whether the command line was run directly.
script.runInThisContext().call(module.exports, module.exports, require, module, bundle, __dirname);
