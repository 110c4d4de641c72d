import { ciKinds, describeFaults, KINDS } from './fault-suite';
import { ACCESS_AUDIT, SCENARIOS, STORAGE_TENANCY } from './scenarios';

it('plans every fault kind at least once in a CI run, across both halves', () => {
  // Assess
  expect(new Set(SCENARIOS.flatMap((_, index) => ciKinds(index)))).toEqual(new Set(KINDS));
});

it('splits the rules between the two halves, each rule once', () => {
  // Assess
  expect([...STORAGE_TENANCY, ...ACCESS_AUDIT].sort()).toEqual(SCENARIOS.map((s) => s.rule).sort());
});

describeFaults('storage-tenancy', STORAGE_TENANCY);
