import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ciKinds, describeFaults, KINDS } from './fault-suite';
import { FAMILIES } from './scenario';
import { scenarios } from './scenarios';

it('plans every fault kind at least once in a CI run, across both halves', () => {
  // Assess
  expect(new Set(scenarios().flatMap((_, index) => ciKinds(index)))).toEqual(new Set(KINDS));
});

it('runs every family its scenarios name in a test file of its own', () => {
  // Assess: a family without its faults-<family>.test.ts would run none of its rules' faults
  const used = new Set(scenarios().map((scenario) => scenario.family));
  expect([...used].filter((family) => !existsSync(join(__dirname, `faults-${family}.test.ts`)))).toEqual([]);
  expect([...used].sort()).toEqual([...FAMILIES].sort());
});

describeFaults('storage-tenancy');
