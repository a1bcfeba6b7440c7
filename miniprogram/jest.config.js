// The journeys run in one process against one backend (started once by tests/support/backend.js).
module.exports = {
  testEnvironment: 'jsdom',
  testMatch: ['<rootDir>/tests/**/*.test.js'],
  globalSetup: '<rootDir>/tests/support/global-setup.js',
  globalTeardown: '<rootDir>/tests/support/global-teardown.js',
  setupFiles: ['<rootDir>/tests/support/wx-shim.js'],
  testTimeout: 180000,
  maxWorkers: 1,
}
