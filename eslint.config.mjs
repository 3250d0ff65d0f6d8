// @ts-check
import { defineConfig, globalIgnores } from 'eslint/config';
import { configs as n8nCommunityNodes } from '@n8n/eslint-plugin-community-nodes';
import tseslint from 'typescript-eslint';

/*
 * Why `recommendedWithoutN8nCloudSupport` and not `recommended`:
 * this package is for self-hosted n8n. It needs runtime dependencies (knex and
 * the sqlite3 / pg / mysql2 drivers, csv-parse, iconv-lite) and Node built-ins
 * such as `crypto`. The `recommended` (n8n Cloud) preset adds
 * `no-restricted-imports` (only an allow-list of modules may be imported) and
 * `no-restricted-globals`, which would forbid exactly that, so the package could
 * never lint clean under it. All the other community-node rules stay on.
 *
 * `no-runtime-dependencies` is in both presets, but it only inspects
 * package.json. It is switched off below for the same reason: this package
 * declares runtime dependencies on purpose, and it is not meant for n8n Cloud
 * verification.
 */
const communityNodes = n8nCommunityNodes.recommendedWithoutN8nCloudSupport;

/** The core rule (CONTRIBUTING.md): nodes/core imports no n8n package and nothing of the n8n glue or of a node folder. */
const coreImports = [
	{ group: ['n8n-workflow', 'n8n-workflow/*', 'n8n-core', 'n8n-core/*', '@n8n/*'], message: 'nodes/core does not import n8n (CONTRIBUTING.md, the core rule).' },
	{ group: ['**/shared/*', '**/shared', '../../*/*.node', '../*/*.node'], message: 'nodes/core does not import the n8n glue (nodes/shared) or node files.' },
];
/** The database belongs to the key store: outside nodes/core/store nothing imports knex or the store's internals. */
const storePrivate = {
	group: ['knex', 'knex/*', '**/store/internals', '**/store/context', '**/store/dialects', '**/store/dialects/*', '**/store/schema', '**/store/schema/*'],
	message: 'Only nodes/core/store talks to the database: use the KeyStore API (core/store) instead of knex, the dialects, the schema or the store internals.',
};

export default defineConfig(
	globalIgnores(['dist/**', 'node_modules/**', 'test/**', 'coverage/**']),
	{
		// typescript-eslint: the parser, plus its recommended rules (as in the
		// n8n node-cli config). This also registers the `@typescript-eslint`
		// plugin, which `eslint-disable` comments in the sources refer to.
		name: 'auto-delivery/typescript',
		files: ['nodes/**/*.ts', 'credentials/**/*.ts'],
		extends: [tseslint.configs.recommended],
		languageOptions: {
			parser: tseslint.parser,
			ecmaVersion: 2021,
			sourceType: 'module',
		},
		rules: {
			// n8n callback signatures are fixed; allow `_name` for unused parameters.
			'@typescript-eslint/no-unused-vars': [
				'error',
				{ argsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
			],
		},
	},
	{
		name: 'auto-delivery/community-nodes',
		files: ['nodes/**/*.ts', 'credentials/**/*.ts'],
		...communityNodes,
	},
	{
		// The domain core does not import n8n (DESIGN.md §2), so it cannot throw
		// NodeApiError/NodeOperationError. It throws its own StoreError family,
		// and nodes/shared maps those to n8n errors.
		name: 'auto-delivery/core',
		files: ['nodes/core/**/*.ts'],
		rules: {
			'@n8n/community-nodes/require-node-api-error': 'off',
			// The core rule as a check: no n8n package, and nothing of the n8n glue (nodes/shared) or
			// of a node folder, may be imported from nodes/core; nor knex or the store's internals
			// outside nodes/core/store (the next two blocks).
			'no-restricted-imports': ['error', { patterns: [...coreImports, storePrivate] }],
		},
	},
	{
		// The key store itself: the core rule only (it is where knex, the dialects and the schema live).
		name: 'auto-delivery/core-store',
		files: ['nodes/core/store/**/*.ts'],
		rules: {
			'no-restricted-imports': ['error', { patterns: coreImports }],
		},
	},
	{
		// Node folders and the n8n glue reach the database through the KeyStore API only.
		name: 'auto-delivery/nodes',
		files: ['nodes/**/*.ts'],
		ignores: ['nodes/core/**'],
		rules: {
			'no-restricted-imports': ['error', { patterns: [storePrivate] }],
		},
	},
	{
		// Run `npx eslint package.json` to lint package.json with the package-level rules.
		name: 'auto-delivery/package-json',
		files: ['package.json'],
		...communityNodes,
		languageOptions: {
			parser: tseslint.parser,
			parserOptions: { extraFileExtensions: ['.json'] },
		},
		rules: {
			...communityNodes.rules,
			'@n8n/community-nodes/no-runtime-dependencies': 'off',
		},
	},
);
