/**
 * Three projects: unit (no servers), workflow (Temporal's time-skipping test server + Postgres) and integration
 * (the real local stack). Workflow and integration runs get a private database, task queues, topics and Mongo
 * database (test/support/global-setup.ts), so two runs on one stack never see each other.
 */
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
};
const common = { transform, testEnvironment: '<rootDir>/test/support/node-environment.js', moduleFileExtensions: ['ts', 'js', 'json'] };
const withServers = {
  ...common,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFiles: ['<rootDir>/test/support/quiet-temporal.ts'],
};

module.exports = {
  // Global only (jest ignores it per project); a failing server surfaces as an error long before this.
  testTimeout: 90_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...withServers, displayName: 'workflow', testMatch: ['<rootDir>/test/workflow/**/*.test.ts'] },
    { ...withServers, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
  ],
};
