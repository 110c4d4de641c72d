#!/usr/bin/env node
// `npx compliance-responder ...`: the on-call command line (cli/index.ts), run through tsx.
require('tsx/cjs');
const cli = require('../cli/index.ts');
cli.endQuietlyOnClosedPipe();
cli.main(process.argv).then((code) => {
  process.exitCode = code;
});
