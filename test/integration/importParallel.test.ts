/**
 * Import under concurrency: PostgreSQL imports on parallel connections (fingerprint-partitioned
 * lanes, optimistic plain INSERT falling back to ON CONFLICT DO NOTHING, deadlocks retried, idle
 * lanes committing), checked against the database: every distinct key stored once, counts that add
 * up, nothing lost — also when three workers import overlapping key sets at the same time, in
 * different orders (without the idle commit this hangs: a wait cycle through JavaScript).
 */
import { KeyStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { type DbKind, describeDb, dropStore, storeConfig, useStore } from '../helpers/db';

const key = (i: number) => `IMP-${String(i).padStart(7, '0')}-KEY`;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => key(from + i));

async function storedKeys(store: KeyStore, sku: string): Promise<{ rows: number; distinct: number; seqs: number }> {
	const r = (await internals(store).db(internals(store).t.keys).where({ sku }).select(
		internals(store).db.raw('count(*) AS n'),
		internals(store).db.raw('count(DISTINCT fingerprint) AS f'),
		internals(store).db.raw('count(DISTINCT seq) AS s'),
	).first()) as { n: number | string; f: number | string; s: number | string };
	return { rows: Number(r.n), distinct: Number(r.f), seqs: Number(r.s) };
}

/** PostgreSQL: the server processes that ran import statements. */
function spyOnImportConnections() {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const pg = require('pg') as { Client: { prototype: Record<string, unknown> } };
	const query = pg.Client.prototype.query as (...a: unknown[]) => unknown;
	const backends = new Set<number>();
	pg.Client.prototype.query = function (this: { processID?: number }, ...a: unknown[]) {
		const q = a[0] as { name?: string } | undefined;
		if (q && typeof q === 'object' && String(q.name ?? '').startsWith('ad_import_')) backends.add(Number(this.processID));
		return query.apply(this, a);
	};
	return {
		backends,
		restore() {
			pg.Client.prototype.query = query;
		},
	};
}

const suite = (kind: DbKind) =>
	describeDb(kind, 'parallel and concurrent imports', () => {
		const cfg = storeConfig(kind);
		let store: KeyStore;
		useStore(cfg, (s) => (store = s));

		it('counts duplicates within the input (across chunks and lanes) and against the store', async () => {
			// 23,000 lines: 20,000 distinct keys, every 7th key repeated much later (another chunk)
			const input = range(0, 20000);
			for (let i = 0; i < 20000; i += 7) input.push(key(i));
			const spy = kind === 'postgres' ? spyOnImportConnections() : null;
			let first;
			try {
				first = await store.importKeys({ sku: 'IMP-A', keys: input });
			} finally {
				spy?.restore();
			}
			// PostgreSQL: the parts went over two connections (lanes) at once
			if (spy) expect(spy.backends.size).toBe(2);
			const repeats = Math.ceil(20000 / 7);
			expect(first).toMatchObject({ received: 20000 + repeats, imported: 20000, duplicate: repeats, invalid: 0, blank: 0 });
			// against the store: half old, half new — the optimistic insert meets old keys and falls back
			const second = await store.importKeys({ sku: 'IMP-A', keys: [...range(10000, 20000), ...range(20000, 30000)] });
			expect(second).toMatchObject({ received: 20000, imported: 10000, duplicate: 10000 });
			expect(await storedKeys(store, 'IMP-A')).toEqual({ rows: 30000, distinct: 30000, seqs: 30000 });
			// the same keys under another sku are not duplicates
			const other = await store.importKeys({ sku: 'IMP-B', keys: range(0, 6000) });
			expect(other).toMatchObject({ imported: 6000, duplicate: 0 });
			expect(await store.countAvailable('IMP-A')).toBe(30000);
		});

		it('three workers importing overlapping keys at once, in different orders: each key once, counts add up', async () => {
			// other workers: their own pools (on PostgreSQL two import connections each)
			const others = [await KeyStore.open(cfg), await KeyStore.open(cfg)];
			try {
				const a = range(0, 24000);
				const b = range(8000, 32000).reverse();
				const c = range(4000, 28000);
				for (let i = c.length - 1, x = 17; i > 0; i--) {
					x = (x * 1103515245 + 12345) & 0x7fffffff;
					const j = x % (i + 1);
					[c[i], c[j]] = [c[j], c[i]];
				}
				const rs = await Promise.all([
					store.importKeys({ sku: 'IMP-C', keys: a }),
					others[0].importKeys({ sku: 'IMP-C', keys: b }),
					others[1].importKeys({ sku: 'IMP-C', keys: c }),
				]);
				expect(rs.reduce((n, r) => n + r.imported, 0)).toBe(32000);
				expect(rs.reduce((n, r) => n + r.duplicate, 0)).toBe(72000 - 32000);
				for (const r of rs) expect(r.imported + r.duplicate).toBe(24000);
				expect(await storedKeys(store, 'IMP-C')).toMatchObject({ rows: 32000, distinct: 32000 });
				// every key is claimable exactly once
				const claimed = await store.claim({ orderId: 'imp-o1', sku: 'IMP-C', quantity: 1000 });
				if (!claimed.delivered) throw new Error('not delivered');
				expect(new Set(claimed.delivery.keys.map((k) => k.id)).size).toBe(1000);
				expect(await store.countAvailable('IMP-C')).toBe(31000);
			} finally {
				for (const o of others) await o.close();
			}
		});

		it('imports on a pool of two connections (one lane, claims keep one)', async () => {
			const small = storeConfig(kind, { poolMax: 2 });
			const s = await KeyStore.open(kind === 'sqlite' ? small : { ...small, tablePrefix: cfg.tablePrefix });
			try {
				const r = await s.importKeys({ sku: 'IMP-D', keys: [...range(0, 12000), ...range(0, 3000)] });
				expect(r).toMatchObject({ imported: 12000, duplicate: 3000 });
				expect(await storedKeys(s, 'IMP-D')).toMatchObject({ rows: 12000, distinct: 12000 });
			} finally {
				await s.close();
				if (kind === 'sqlite') await dropStore(small);
			}
		});
	});

suite('sqlite');
suite('postgres');
