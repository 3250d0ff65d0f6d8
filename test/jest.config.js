/** @type {import('jest').Config} */
module.exports = {
	rootDir: '..',
	preset: 'ts-jest',
	testEnvironment: 'node',
	roots: ['<rootDir>/test'],
	testMatch: ['**/*.test.ts'],
	// End-to-end tests need a real n8n: `npm run test:e2e` (test/e2e/jest.config.js); the queue-mode
	// cluster: `npm run test:scale` (test/scale/jest.config.js).
	testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/', '<rootDir>/test/scale/'],
	// Type errors are caught by `npm run lint` (tsc -p test/tsconfig.json); tests only transpile.
	transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'test/tsconfig.json', diagnostics: false }] },
	testTimeout: 120000,
};
