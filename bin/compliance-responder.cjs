#!/usr/bin/env node
// `npx compliance-responder ...`: the on-call command line (cli/index.ts), run through tsx.
require('tsx/cjs');
require('../cli/index.ts')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
