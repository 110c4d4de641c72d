import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Prints one closing line for the whole of npm test, from the JSON results of each jest run. */
const dir = join(__dirname, '..', '.local', 'test-results');
let passed = 0;
let failed = 0;
let skipped = 0;
for (const suite of ['unit', 'integration', 'reliability', 'contract']) {
  const file = join(dir, `${suite}.json`);
  if (!existsSync(file)) continue;
  const result = JSON.parse(readFileSync(file, 'utf8')) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
  };
  passed += result.numPassedTests;
  failed += result.numFailedTests;
  skipped += result.numPendingTests;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed > 0 ? 1 : 0;
