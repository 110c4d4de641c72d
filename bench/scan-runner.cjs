/**
 * Runs the bundled command line once, as `npx compliance-responder` would, and writes this process's
 * whole client CPU (user+system, load included) and peak RSS to the file BENCH_USAGE_FILE names, at exit.
 * argv[2]: the bundle (dist/cli/compliance-responder.js); the rest: the command line's arguments.
 */
const { writeFileSync } = require('node:fs');

process.on('exit', () => {
  const { userCPUTime, systemCPUTime, maxRSS } = process.resourceUsage();
  writeFileSync(
    process.env.BENCH_USAGE_FILE,
    JSON.stringify({ cpuMs: (userCPUTime + systemCPUTime) / 1000, maxRssKb: maxRSS }),
  );
});
const cli = require(process.argv[2]);
cli.main([process.argv[0], 'compliance-responder', ...process.argv.slice(3)]).then((code) => {
  process.exitCode = code;
});
