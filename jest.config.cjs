/** Three suites, run in this order by `npm test`: unit (mocked SDK), integration (moto), contract (template). */
// ts-jest transpiles only (`npm run typecheck` type-checks); allowJs compiles @middy's ES modules.
const transform = {
  '^.+\\.(ts|js|mjs)$': [
    'ts-jest',
    {
      isolatedModules: true,
      tsconfig: { allowJs: true, module: 'commonjs', esModuleInterop: true, target: 'ES2022' },
    },
  ],
};
const common = {
  transform,
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  setupFiles: ['<rootDir>/test/support/quiet-sdk.ts'],
  // @middy/core ships ES modules only; compile it to CommonJS like our own code.
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
};

module.exports = {
  // A global option in jest: integration tests talk to moto and spawn Node processes.
  testTimeout: 60_000,
  // Test files mostly wait on moto and on child processes, so two workers halve the integration and
  // reliability runs even on two CPUs (jest's default there is one). Each worker has its own moto.
  maxWorkers: Math.max(2, require('node:os').availableParallelism() - 1),
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/test/corpus/**/*.test.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/moto-global-setup.ts',
      globalTeardown: '<rootDir>/test/support/moto-global-teardown.ts',
      setupFiles: ['<rootDir>/test/support/quiet-sdk.ts', '<rootDir>/test/support/moto-account.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/moto-clean-account.ts'],
    },
    {
      // Faults, bad input, concurrency and leaks; `npm run test:reliability` renders docs/reliability.md.
      ...common,
      displayName: 'reliability',
      testMatch: ['<rootDir>/test/reliability/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/moto-global-setup.ts',
      globalTeardown: '<rootDir>/test/support/moto-global-teardown.ts',
      setupFiles: ['<rootDir>/test/support/quiet-sdk.ts', '<rootDir>/test/support/moto-account.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/moto-clean-account.ts'],
    },
    { ...common, displayName: 'contract', testMatch: ['<rootDir>/test/contract/**/*.test.ts'] },
  ],
};
