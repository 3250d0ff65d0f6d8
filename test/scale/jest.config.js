/**
 * `npm run test:scale`: the bundled workflow in a real n8n 2.41.1 cluster in queue mode (main,
 * webhook process, 2 workers, Redis, n8n's database on PostgreSQL), the key store on PostgreSQL
 * and on MariaDB, 1,000 orders with faults. Not part of `npm test`; see docs/scaling.md.
 * Uses the e2e globalSetup: the cached runtime (installed on first use) and the packed package.
 */
/** @type {import('jest').Config} */
module.exports = {
	rootDir: '../..',
	preset: 'ts-jest',
	testEnvironment: 'node',
	roots: ['<rootDir>/test/scale'],
	testMatch: ['**/*.test.ts'],
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'test/tsconfig.json', diagnostics: false }] },
	globalSetup: '<rootDir>/test/e2e/globalSetup.ts',
	globalTeardown: '<rootDir>/test/e2e/globalTeardown.ts',
	maxWorkers: 1,
	testTimeout: 40 * 60_000,
	slowTestThreshold: 600,
	// The cluster's processes are stopped by the test itself (each by its pid); fetch's keep-alive sockets to them must not hold jest.
	forceExit: true,
};
