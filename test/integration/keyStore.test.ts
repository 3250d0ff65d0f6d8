/**
 * The key store API against real databases: SQLite files and the PostgreSQL / MariaDB servers.
 */
import { ValidationError, WrongSecretError } from '../../nodes/core/errors';
import { KeyStore } from '../../nodes/core/store';
import { closeAllStores, getStore, openStoreCount } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { type DbKind, describeDb, dropStore, makeKeys, storeConfig, useStore } from '../helpers/db';

async function counts(store: KeyStore) {
	const c = async (t: string) => Number((await internals(store).db(t).count({ c: '*' }).first())?.c ?? 0);
	return { keys: await c(internals(store).t.keys), deliveries: await c(internals(store).t.deliveries), events: await c(internals(store).t.events), products: await c(internals(store).t.products) };
}

async function dumpTables(store: KeyStore): Promise<string> {
	const parts: string[] = [];
	for (const t of [internals(store).t.events, internals(store).t.deliveries, internals(store).t.products, internals(store).t.meta]) parts.push(JSON.stringify(await internals(store).db(t).select('*')));
	// keys table minus the sealed column
	parts.push(JSON.stringify(await internals(store).db(internals(store).t.keys).select('id', 'sku', 'seq', 'rand', 'fingerprint', 'status', 'batch_id', 'delivery_id')));
	return parts.join('\n');
}

for (const kind of ['sqlite', 'postgres', 'mysql'] as DbKind[]) {
	describeDb(kind, 'KeyStore', () => {
		const cfg = storeConfig(kind);
		let store: KeyStore;
		useStore(cfg, (s) => (store = s));

		it('opens again with the same secret and refuses a wrong one with a clear error', async () => {
			const again = await KeyStore.open(cfg);
			await again.close();
			await expect(KeyStore.open({ ...cfg, encryptionSecret: 'wrong secret' })).rejects.toThrow(WrongSecretError);
			await expect(KeyStore.open({ ...cfg, encryptionSecret: 'wrong secret' })).rejects.toThrow(/Encryption Secret does not match/);
		});

		it('eight concurrent opens of a brand-new store all succeed (migrations are race-safe)', async () => {
			const fresh = storeConfig(kind);
			try {
				const stores = await Promise.all(Array.from({ length: 8 }, () => KeyStore.open(fresh)));
				await stores[0].importKeys({ sku: 'X', keys: ['A-1'] });
				expect((await stores[7].stock('X'))[0].available).toBe(1);
				await Promise.all(stores.map((s) => s.close()));
			} finally {
				await dropStore(fresh);
			}
		});

		it('imports with dedup within the input and against the store, counting invalid and blank lines', async () => {
			const r1 = await store.importKeys({ sku: 'IMP', keys: ['AAA-111', ' AAA-111 ', 'BBB-222', '', '   ', 'bad\u0007key', 'x'.repeat(5000), 'CCC-333'], batchId: 'batch-1', productName: 'Import Test' });
			expect(r1).toMatchObject({ sku: 'IMP', batchId: 'batch-1', received: 8, imported: 3, duplicate: 1, invalid: 2, blank: 2 });
			const r2 = await store.importKeys({ sku: 'IMP', keys: ['CCC-333', 'DDD-444'] });
			expect(r2).toMatchObject({ imported: 1, duplicate: 1, invalid: 0 });
			expect(r2.batchId).toMatch(/^b-/);
			// the same key under another sku is a different key
			expect((await store.importKeys({ sku: 'IMP2', keys: ['AAA-111'] })).imported).toBe(1);
			const [row] = await store.stock('IMP');
			expect(row).toMatchObject({ sku: 'IMP', name: 'Import Test', available: 4, assigned: 0, total: 4, unlimited: false });
		});

		it('input without a single key (empty, blank, invalid, binary) is refused and writes nothing: no product, no event', async () => {
			const before = await dumpTables(store);
			const binary = Buffer.from([0, 0xff, 0xfe, 0, 0x1b, 0x5b, 0x80]).toString('latin1');
			for (const keys of [[], ['', '   '], ['bad\u0007key', 'x'.repeat(5000)], [binary], (async function* () {})()]) {
				await expect(store.importKeys({ sku: 'EMPTY-IMPORT', keys, productName: 'Never created' })).rejects.toThrow(ValidationError);
			}
			await expect(store.importKeys({ sku: 'EMPTY-IMPORT', keys: [] })).rejects.toThrow('No key to import: the input is empty.');
			await expect(store.importKeys({ sku: 'EMPTY-IMPORT', keys: ['', 'a\u0000b'] })).rejects.toThrow(/all 2 line\(s\) are blank or invalid/);
			expect(await dumpTables(store)).toBe(before);
			expect(await store.stock('EMPTY-IMPORT')).toEqual([]);
			// only duplicates still is an import (of nothing new)
			await store.importKeys({ sku: 'DUP-ONLY', keys: ['DUP-1'] });
			expect(await store.importKeys({ sku: 'DUP-ONLY', keys: ['DUP-1'] })).toMatchObject({ imported: 0, duplicate: 1 });
		});

		it('claims sequentially in import order, masked by default; a replay returns the same keys', async () => {
			await store.importKeys({ sku: 'SEQ', keys: ['SEQ-KEY-0001-AAAA', 'SEQ-KEY-0002-BBBB', 'SEQ-KEY-0003-CCCC', 'SEQ-KEY-0004-DDDD'] });
			const r = await store.claim({ orderId: 'O-SEQ-1', sku: 'SEQ', quantity: 2, buyer: { id: 'u1', name: '小明', email: 'b@example.com', ip: '203.0.113.7' }, amount: '100.50', shop: 'helloworld' });
			if (!r.delivered) throw new Error('not delivered');
			expect(r.alreadyDelivered).toBe(false);
			expect(r.delivery.keys.map((k) => k.masked)).toEqual(['SEQ-…AAAA', 'SEQ-…BBBB']);
			expect(r.delivery.keys.every((k) => k.key === undefined)).toBe(true);
			expect(r.delivery).toMatchObject({ orderId: 'O-SEQ-1', sku: 'SEQ', quantity: 2, status: 'claimed', amount: 100.5, shop: 'helloworld', buyer: { name: '小明' } });
			const again = await store.claim({ orderId: 'O-SEQ-1', sku: 'SEQ', quantity: 2, reveal: true, shop: 'helloworld' });
			if (!again.delivered) throw new Error('not delivered');
			expect(again.alreadyDelivered).toBe(true);
			expect(again.delivery.keys.map((k) => k.key)).toEqual(['SEQ-KEY-0001-AAAA', 'SEQ-KEY-0002-BBBB']);
			expect(again.delivery.id).toBe(r.delivery.id);
		});

		it('random picks spread over the pool and stay unique', async () => {
			await store.importKeys({ sku: 'RND', keys: makeKeys(200, 'R') });
			const firsts = new Set<number>();
			const seen = new Set<number>();
			for (let i = 0; i < 40; i++) {
				const r = await store.claim({ orderId: `O-RND-${i}`, sku: 'RND', quantity: 2, strategy: 'random' });
				if (!r.delivered) throw new Error('not delivered');
				for (const k of r.delivery.keys) {
					expect(seen.has(k.id as number)).toBe(false);
					seen.add(k.id as number);
				}
				firsts.add(r.delivery.keys[0].id as number);
			}
			expect(seen.size).toBe(80);
			// sequential would give ids 1..80 in order; random must not
			const ids = [...seen].sort((a, b) => a - b);
			expect(ids[ids.length - 1] - ids[0]).toBeGreaterThan(100);
		});

		it('is all-or-nothing: out of stock claims nothing and says how many are left', async () => {
			await store.importKeys({ sku: 'FEW', keys: ['FEW-1', 'FEW-2'] });
			const before = await counts(store);
			const r = await store.claim({ orderId: 'O-FEW', sku: 'FEW', quantity: 3 });
			expect(r).toMatchObject({ delivered: false, reason: 'out_of_stock', available: 2, quantity: 3 });
			const after = await counts(store);
			expect(after.deliveries).toBe(before.deliveries);
			expect((await store.stock('FEW'))[0].available).toBe(2);
			// the same order can still be delivered once stock arrives
			await store.importKeys({ sku: 'FEW', keys: ['FEW-3'] });
			const ok = await store.claim({ orderId: 'O-FEW', sku: 'FEW', quantity: 3 });
			expect(ok.delivered).toBe(true);
		});

		it('answers unknown_sku for a product that does not exist', async () => {
			expect(await store.claim({ orderId: 'O-UNK', sku: 'NOPE' })).toMatchObject({ delivered: false, reason: 'unknown_sku' });
		});

		it('refuses a tombstoned order line and an order-wide refund tombstone', async () => {
			await store.importKeys({ sku: 'TMB', keys: ['TOMB-KEY-1', 'TOMB-KEY-2'] });
			const now = Date.now();
			const tomb = (order_id: string, sku: string) => ({ shop: '', order_id, sku, quantity: 0, status: 'revoked', created_at: now, updated_at: now, revoked_at: now, revoke_reason: 'refund before delivery' });
			await internals(store).db(internals(store).t.deliveries).insert([tomb('O-TMB-1', 'TMB'), tomb('O-TMB-2', '*')]);
			expect(await store.claim({ orderId: 'O-TMB-1', sku: 'TMB' })).toMatchObject({ delivered: false, reason: 'revoked' });
			expect(await store.claim({ orderId: 'O-TMB-2', sku: 'TMB' })).toMatchObject({ delivered: false, reason: 'revoked' });
			expect((await store.stock('TMB'))[0].available).toBe(2);
		});

		it('delivers a product\'s fixed content without touching the pool', async () => {
			const p = await store.upsertProduct({ sku: 'FIX', name: 'Course link', lowStockThreshold: 5, fixedContent: 'https://dl.example.com/course?token=FIXED-SECRET-1' });
			expect(p).toMatchObject({ sku: 'FIX', name: 'Course link', lowStockThreshold: 5, hasFixedContent: true });
			const r = await store.claim({ orderId: 'O-FIX', sku: 'FIX', quantity: 2, reveal: true });
			if (!r.delivered) throw new Error('not delivered');
			expect(r.delivery.fixedContent).toBe(true);
			expect(r.delivery.keys).toEqual([{ id: null, status: 'assigned', masked: 'http…ET-1', key: 'https://dl.example.com/course?token=FIXED-SECRET-1' }]);
			// changing the product later does not change what was delivered
			await store.upsertProduct({ sku: 'FIX', fixedContent: 'https://dl.example.com/new' });
			const [d] = await store.getDeliveries({ orderId: 'O-FIX', reveal: true });
			expect(d.keys[0].key).toBe('https://dl.example.com/course?token=FIXED-SECRET-1');
			expect((await store.stock('FIX'))[0]).toMatchObject({ unlimited: true, total: 0 });
			const cleared = await store.upsertProduct({ sku: 'FIX', fixedContent: null, name: null });
			expect(cleared).toMatchObject({ hasFixedContent: false, name: 'Course link', lowStockThreshold: 5 });
		});

		it('rejects bad claim input with the field named and writes nothing', async () => {
			const before = await counts(store);
			const bad: Array<[Record<string, unknown>, string]> = [
				[{ orderId: '', sku: 'SEQ' }, 'orderId'],
				[{ orderId: 'O-BAD', sku: '' }, 'sku'],
				[{ orderId: 'O-BAD', sku: 'SEQ', quantity: 0 }, 'quantity'],
				[{ orderId: 'O-BAD', sku: 'SEQ', quantity: -1 }, 'quantity'],
				[{ orderId: 'O-BAD', sku: 'SEQ', quantity: 1.5 }, 'quantity'],
				[{ orderId: 'O-BAD', sku: 'SEQ', quantity: 100000 }, 'quantity'],
				[{ orderId: 'x'.repeat(300), sku: 'SEQ' }, 'orderId'],
				[{ orderId: 'O-BAD', sku: 'SEQ', strategy: 'lifo' }, 'strategy'],
				[{ orderId: 'O-BAD', sku: 'SEQ', amount: -5 }, 'amount'],
			];
			for (const [input, field] of bad) {
				const err = await store.claim(input as never).catch((e) => e);
				expect(err).toBeInstanceOf(ValidationError);
				expect((err as ValidationError).field).toBe(field);
			}
			expect(await counts(store)).toEqual(before);
		});

		it('lists keys masked, voids only available keys, exports decrypted', async () => {
			await store.importKeys({ sku: 'LST', keys: ['LIST-KEY-AAAA-0001', 'LIST-KEY-BBBB-0002', 'LIST-KEY-CCCC-0003', 'LIST-KEY-DDDD-0004'], batchId: 'lst-b1' });
			await store.importKeys({ sku: 'LST', keys: ['LIST-KEY-EEEE-0005', 'LIST-KEY-FFFF-0006'], batchId: 'lst-b2' });
			const claimed = await store.claim({ orderId: 'O-LST', sku: 'LST' });
			if (!claimed.delivered) throw new Error('not delivered');
			const listed = await store.listKeys({ sku: 'LST' });
			expect(listed).toHaveLength(6);
			expect(listed[0]).toMatchObject({ status: 'assigned', masked: 'LIST…0001', orderId: 'O-LST', batchId: 'lst-b1' });
			expect(JSON.stringify(listed)).not.toContain('LIST-KEY');
			expect(await store.listKeys({ sku: 'LST', status: 'available', limit: 2, offset: 1 })).toHaveLength(2);

			await expect(store.voidKeys({ sku: 'LST' })).rejects.toThrow(/Say which keys to void/);
			// an assigned key is never voided
			expect(await store.voidKeys({ sku: 'LST', ids: [listed[0].id, listed[1].id] })).toMatchObject({ voided: 1, requested: 2 });
			expect(await store.voidKeys({ sku: 'LST', keys: ['LIST-KEY-CCCC-0003', ' LIST-KEY-CCCC-0003 ', 'NOT-A-KEY'] })).toMatchObject({ voided: 1 });
			expect(await store.voidKeys({ sku: 'LST', batchId: 'lst-b2', reason: 'supplier recall' })).toMatchObject({ voided: 2 });
			expect(await store.voidKeys({ sku: 'LST', all: true })).toMatchObject({ voided: 1 });
			expect((await store.stock('LST'))[0]).toMatchObject({ available: 0, assigned: 1, void: 5, total: 6 });
			// a voided key is never claimed
			expect(await store.claim({ orderId: 'O-LST-2', sku: 'LST' })).toMatchObject({ delivered: false, reason: 'out_of_stock' });

			const exported = [];
			for await (const k of store.exportKeys({ sku: 'LST', pageSize: 2 })) exported.push(k);
			expect(exported.map((k) => k.key)).toEqual(['LIST-KEY-AAAA-0001', 'LIST-KEY-BBBB-0002', 'LIST-KEY-CCCC-0003', 'LIST-KEY-DDDD-0004', 'LIST-KEY-EEEE-0005', 'LIST-KEY-FFFF-0006']);
			expect(exported[0]).toMatchObject({ status: 'assigned', orderId: 'O-LST' });
			const onlyVoid = [];
			for await (const k of store.exportKeys({ sku: 'LST', status: 'void' })) onlyVoid.push(k);
			expect(onlyVoid).toHaveLength(5);
		});

		it('records an append-only audit trail without any key text', async () => {
			const events = await store.listEvents({ limit: 1000 });
			const types = new Set(events.map((e) => e.type));
			for (const t of ['imported', 'claimed', 'out_of_stock', 'voided', 'product_upserted']) expect(types.has(t)).toBe(true);
			const claimed = events.find((e) => e.type === 'claimed' && e.orderId === 'O-SEQ-1');
			expect(claimed).toMatchObject({ sku: 'SEQ', count: 2 });
			expect((claimed?.details as { keyIds: number[] }).keyIds).toHaveLength(2);
			const dump = await dumpTables(store);
			for (const secret of ['SEQ-KEY-0001', 'LIST-KEY', 'FIXED-SECRET-1', 'AAA-111', 'TOMB-KEY', 'FEW-1', 'dl.example.com']) {
				expect({ secret, leaked: dump.includes(secret) }).toEqual({ secret, leaked: false });
			}
			// sealed column holds ciphertext only: "v1." + standard base64 (no "-", which every test key has).
			// (Checking for the letters "KEY" failed about once in 30 runs: random base64 contains them by chance.)
			const sealed = (await internals(store).db(internals(store).t.keys).select('secret')) as Array<{ secret: string }>;
			expect(sealed.length).toBeGreaterThan(0);
			expect(sealed.filter((r) => !/^v1\.[A-Za-z0-9+/]+={0,2}$/.test(r.secret))).toEqual([]);
		});
	});
}

describe('store registry', () => {
	afterAll(() => closeAllStores());
	it('keeps one pooled store per distinct credential and reopens after a failed open', async () => {
		const a = storeConfig('sqlite');
		const b = storeConfig('sqlite');
		const s1 = await getStore(a);
		const s2 = await getStore({ ...a });
		const s3 = await getStore(b);
		expect(s1).toBe(s2);
		expect(s3).not.toBe(s1);
		expect(openStoreCount()).toBe(2);
		await expect(getStore({ ...a, encryptionSecret: 'wrong' })).rejects.toThrow(/Encryption Secret does not match/);
		expect(openStoreCount()).toBe(2); // the failed open is not cached
		await closeAllStores();
		expect(openStoreCount()).toBe(0);
		await dropStore(a);
		await dropStore(b);
	});
});
