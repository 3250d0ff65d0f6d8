/**
 * loadSqlite3: n8n's Community Nodes installer runs `npm install --ignore-scripts`, so the
 * package's own sqlite3 can lack its native binding. The store then uses the sqlite3 that n8n itself
 * runs on, found from the running program's folder (real module resolution on a temp tree here).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { loadSqlite3 } from '../../nodes/core/store';
import { StoreError } from '../../nodes/core/errors';

const missingBinding = () => {
	throw new Error('Could not locate the bindings file. Tried:\n → /x/build/node_sqlite3.node');
};

describe('loadSqlite3', () => {
	let root: string;
	let program: string;
	beforeAll(() => {
		// <root>/node_modules/n8n/bin/n8n and <root>/node_modules/sqlite3/index.js, like an n8n install
		root = fs.mkdtempSync(path.join(os.tmpdir(), 'ad-sqlite-driver-'));
		const bin = path.join(root, 'node_modules', 'n8n', 'bin');
		fs.mkdirSync(bin, { recursive: true });
		program = path.join(bin, 'n8n');
		fs.writeFileSync(program, '#!/usr/bin/env node\n');
		const driver = path.join(root, 'node_modules', 'sqlite3');
		fs.mkdirSync(driver, { recursive: true });
		fs.writeFileSync(path.join(driver, 'package.json'), JSON.stringify({ name: 'sqlite3', main: 'index.js' }));
		fs.writeFileSync(path.join(driver, 'index.js'), 'module.exports = { whose: "n8n" };');
	});
	afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

	it("uses the package's own sqlite3 when it loads", () => {
		const driver = loadSqlite3();
		expect(typeof (driver as { Database?: unknown }).Database).toBe('function');
	});

	it("falls back to the sqlite3 n8n runs on when ours has no native binding", () => {
		const load = (id: string) => (id === 'sqlite3' ? missingBinding() : require(id));
		expect(loadSqlite3(load, undefined, [program])).toEqual({ whose: 'n8n' });
	});

	it('says how to fix it when no working sqlite3 is found', () => {
		const load = (id: string) => (id === 'sqlite3' ? missingBinding() : require(id));
		const err = (() => {
			try {
				loadSqlite3(load, undefined, [path.join(os.tmpdir(), 'no-such-program'), undefined]);
			} catch (e) {
				return e;
			}
			return null;
		})();
		expect(err).toBeInstanceOf(StoreError);
		expect((err as Error).message).toMatch(/Could not locate the bindings file\..*npm rebuild sqlite3.*PostgreSQL/);
	});
});
