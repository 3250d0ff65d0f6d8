/**
 * End-to-end tests against a real n8n 2.41.1 (Node 24), run with `npm run test:e2e`.
 * Not part of `npm test` (test/jest.config.js ignores test/e2e). See docs/testing.md.
 *
 * globalSetup installs the cached runtime on first use (~5 min, once) and packs the package once;
 * the tests then run one file at a time (each n8n instance is a heavy process).
 */
/** @type {import('jest').Config} */
module.exports = {
	rootDir: '../..',
	preset: 'ts-jest',
	testEnvironment: 'node',
	roots: ['<rootDir>/test/e2e'],
	testMatch: ['**/*.e2e.test.ts'],
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'test/tsconfig.json', diagnostics: false }] },
	globalSetup: '<rootDir>/test/e2e/globalSetup.ts',
	globalTeardown: '<rootDir>/test/e2e/globalTeardown.ts',
	maxWorkers: 1,
	// n8n start ~15 s, each CLI step ~8 s; a file with several instances needs minutes.
	testTimeout: 10 * 60_000,
	slowTestThreshold: 120,
};
