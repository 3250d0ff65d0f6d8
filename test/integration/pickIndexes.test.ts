/**
 * Migration 004: on SQLite and PostgreSQL the pick indexes hold available keys only. These tests
 * ask each database's planner whether the queries that pick and count available keys can use them
 * (a bound `status = ?` could not prove the index condition), and check that claiming a key takes it
 * out of those indexes while counts per status stay right.
 */
import type { Knex } from 'knex';

import { KeyStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { KeyStoreMigrations } from '../../nodes/core/store/schema';
import { describeDb, dropStore, makeKeys, storeConfig, type DbKind } from '../helpers/db';

const SKU = 'PICK-IX';

/** The SQL (with bindings) of every query on the keys table that knex runs while `fn` runs. */
async function capture(store: KeyStore, fn: () => Promise<unknown>): Promise<Array<{ sql: string; bindings: readonly unknown[] }>> {
	const seen: Array<{ sql: string; bindings: readonly unknown[] }> = [];
	const on = (q: { sql: string; bindings?: readonly unknown[] }) => {
		if (q.sql.includes(internals(store).t.keys) && /status = 'available'/.test(q.sql)) seen.push({ sql: q.sql, bindings: q.bindings ?? [] });
	};
	internals(store).db.on('query', on);
	try {
		await fn();
	} finally {
		internals(store).db.removeListener('query', on);
	}
	return seen;
}

async function plan(store: KeyStore, sql: string, bindings: readonly unknown[]): Promise<string> {
	if (store.kind === 'sqlite') {
		const rows = (await internals(store).db.raw(`EXPLAIN QUERY PLAN ${sql}`, bindings as Knex.RawBinding[])) as Array<{ detail: string }>;
		return rows.map((r) => r.detail).join(' / ');
	}
	let out = '';
	await internals(store).db
		.transaction(async (trx) => {
			await trx.raw('SET LOCAL enable_seqscan = off'); // a tiny table would be scanned anyway; ask whether the index CAN serve
			// As a prepared statement with a generic plan: the index must be provable without the values.
			await trx.raw('SET LOCAL plan_cache_mode = force_generic_plan');
			const pgSql = sql.includes('$1') ? sql : sql.replace(/\?/g, ((n) => () => `$${++n}`)(0));
			await trx.raw(`PREPARE ad_pick_ix_probe AS ${pgSql}`);
			const args = bindings.length ? `(${bindings.map((b) => trx.raw('?', [b as Knex.Value]).toQuery()).join(', ')})` : '';
			const res = await trx.raw(`EXPLAIN EXECUTE ad_pick_ix_probe${args}`);
			await trx.raw('DEALLOCATE ad_pick_ix_probe');
			out = (res.rows as Array<{ 'QUERY PLAN': string }>).map((r) => r['QUERY PLAN']).join(' / ');
			throw new Error('rollback');
		})
		.catch((err: Error) => {
			if (err.message !== 'rollback') throw err;
		});
	return out;
}

async function indexNames(store: KeyStore, table: string): Promise<string[]> {
	if (store.kind === 'sqlite') return ((await internals(store).db.raw(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?`, [table])) as Array<{ name: string }>).map((r) => r.name);
	if (store.kind === 'postgres') return ((await internals(store).db.raw(`SELECT indexname AS name FROM pg_indexes WHERE tablename = ?`, [table])).rows as Array<{ name: string }>).map((r) => r.name);
	const [rows] = (await internals(store).db.raw(`SHOW INDEX FROM ??`, [table])) as [Array<{ Key_name: string }>];
	return [...new Set(rows.map((r) => r.Key_name))];
}

for (const kind of ['sqlite', 'postgres', 'mysql'] as DbKind[]) {
	describeDb(kind, 'migration 004 on a store that holds keys and deliveries', () => {
		test('down to 003 and up again keeps every key and delivery, and claims go on', async () => {
			const cfg = storeConfig(kind);
			try {
				let store = await KeyStore.open(cfg);
				await store.importKeys({ sku: SKU, keys: makeKeys(50) });
				expect((await store.claim({ orderId: 'MIG-1', sku: SKU, quantity: 2 })).delivered).toBe(true);
				const opts = { migrationSource: new KeyStoreMigrations(internals(store).t), tableName: internals(store).t.migrations };
				// undo every migration after 004 (005 order identity, 006 buyer side, …), then 004
				const last = async () => ((await internals(store).db.migrate.list(opts)) as [Array<{ name: string }>, unknown])[0].map((m) => m.name).pop();
				while ((await last()) !== '004_lean_indexes') await internals(store).db.migrate.down(opts);
				await internals(store).db.migrate.down(opts);
				expect(await last()).toBe('003_sqlite_one_statement_claim');
				expect(await indexNames(store, internals(store).t.events)).toContain(`${internals(store).t.events}_at_ix`);
				const keysIx = await indexNames(store, internals(store).t.keys);
				expect(keysIx).toContain(`${internals(store).t.keys}_pick_seq_ix`);
				expect(keysIx).not.toContain(`${internals(store).t.keys}_avail_seq_ix`);
				await store.close();
				store = await KeyStore.open(cfg); // applies 004 again, as an upgrade would
				expect(await indexNames(store, internals(store).t.events)).not.toContain(`${internals(store).t.events}_at_ix`);
				if (kind !== 'mysql') expect(await indexNames(store, internals(store).t.keys)).toContain(`${internals(store).t.keys}_avail_rand_ix`);
				const again = await store.claim({ orderId: 'MIG-1', sku: SKU, quantity: 2 });
				expect(again.delivered && again.alreadyDelivered).toBe(true);
				expect((await store.claim({ orderId: 'MIG-2', sku: SKU, quantity: 3, strategy: 'random' })).delivered).toBe(true);
				const [stock] = await store.stock(SKU);
				expect(stock).toMatchObject({ available: 45, assigned: 5, total: 50 });
				await store.close();
			} finally {
				await dropStore(cfg);
			}
		});
	});
}

for (const kind of ['sqlite', 'postgres'] as DbKind[]) {
	describeDb(kind, 'available-only pick indexes', () => {
		const cfg = storeConfig(kind);
		let store: KeyStore;

		beforeAll(async () => {
			store = await KeyStore.open(cfg);
			await store.importKeys({ sku: SKU, keys: makeKeys(300) });
		});
		afterAll(async () => {
			await store.close();
			await dropStore(cfg);
		});

		test('the partial indexes exist and the old (sku, status, …) ones are gone', async () => {
			const names =
				kind === 'sqlite'
					? ((await internals(store).db.raw(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?`, [internals(store).t.keys])) as Array<{ name: string; sql: string | null }>).map((r) => `${r.name} ${r.sql ?? ''}`)
					: ((await internals(store).db.raw(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ?`, [internals(store).t.keys])).rows as Array<{ indexname: string; indexdef: string }>).map((r) => `${r.indexname} ${r.indexdef}`);
			const seq = names.find((n) => n.startsWith(`${internals(store).t.keys}_avail_seq_ix`));
			const rand = names.find((n) => n.startsWith(`${internals(store).t.keys}_avail_rand_ix`));
			expect(seq).toMatch(/WHERE.*status.*=.*'available'/);
			expect(rand).toMatch(/WHERE.*status.*=.*'available'/);
			expect(names.some((n) => n.includes('_pick_seq_ix') || n.includes('_pick_rand_ix'))).toBe(false);
			expect(await indexNames(store, internals(store).t.events)).not.toContain(`${internals(store).t.events}_at_ix`);
		});

		test('counting and voiding available keys can use the available-only index', async () => {
			const queries = await capture(store, async () => {
				await store.countAvailable(SKU);
				await store.voidKeys({ sku: SKU, batchId: 'no-such-batch' });
			});
			expect(queries.length).toBeGreaterThanOrEqual(2);
			for (const q of queries) expect(await plan(store, q.sql, q.bindings)).toMatch(/_avail_(seq|rand)_ix/);
		});

		test('the pick of a claim by seq and by rand can use the available-only indexes', async () => {
			const k = internals(store).t.keys;
			const bySeq = await plan(store, `SELECT id FROM ${k} WHERE sku = ? AND status = 'available' ORDER BY seq, id LIMIT ?`, [SKU, 1]);
			const byRand = await plan(store, `SELECT id FROM ${k} WHERE sku = ? AND status = 'available' AND rand >= ? ORDER BY rand, id LIMIT ?`, [SKU, 12345, 1]);
			expect(bySeq).toContain(`${k}_avail_seq_ix`);
			expect(byRand).toContain(`${k}_avail_rand_ix`);
		});

		test('claimed keys leave the available-only index; counts per status stay right', async () => {
			const a = await store.claim({ orderId: 'PIX-1', sku: SKU, quantity: 3, strategy: 'sequential' });
			const b = await store.claim({ orderId: 'PIX-2', sku: SKU, quantity: 2, strategy: 'random' });
			expect(a.delivered && b.delivered).toBe(true);
			const [stock] = await store.stock(SKU);
			expect(stock).toMatchObject({ available: 295, assigned: 5, total: 300 });
			expect(await store.countAvailable(SKU)).toBe(295);
			// Read through each index alone: the assigned keys are not in it.
			const k = internals(store).t.keys;
			const hint = (ix: string) => (kind === 'sqlite' ? `INDEXED BY ${ix}` : '');
			for (const ix of [`${k}_avail_seq_ix`, `${k}_avail_rand_ix`]) {
				const rows = await internals(store).db.raw(`SELECT count(*) AS c FROM ${k} ${hint(ix)} WHERE sku = ? AND status = 'available'`, [SKU]);
				const c = kind === 'sqlite' ? (rows as Array<{ c: number }>)[0].c : (rows.rows as Array<{ c: string }>)[0].c;
				expect(Number(c)).toBe(295);
			}
		});
	});
}
