/**
 * Races that prove DESIGN §1 promises 1 and 2 on real databases: many claims in flight, several
 * OS processes on one store, duplicate submissions of one order line.
 */
import { KeyStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { assertStoreConsistent } from '../helpers/consistency';
import { type DbKind, describeDb, dropStore, makeKeys, storeConfig } from '../helpers/db';
import { raceInProcesses, type WorkerOrder, type WorkerResult } from '../helpers/processes';

function assertNoKeyTwice(results: WorkerResult[]) {
	const seen = new Set<number>();
	for (const r of results) {
		if (!r.delivered || r.alreadyDelivered) continue;
		for (const id of r.keyIds) {
			expect(seen.has(id)).toBe(false);
			seen.add(id);
		}
	}
	return seen.size;
}

describeDb('sqlite', 'claim race in one process', () => {
	it('2,000 claims with 64 in flight on 1,500 keys: 1,500 delivered once each, 500 out of stock', async () => {
		const cfg = storeConfig('sqlite');
		const store = await KeyStore.open(cfg);
		try {
			await store.importKeys({ sku: 'RACE', keys: makeKeys(1500) });
			const results: WorkerResult[] = [];
			let next = 0;
			const lane = async () => {
				while (next < 2000) {
					const i = next++;
					const r = await store.claim({ orderId: `o-${i}`, sku: 'RACE', quantity: 1, strategy: i % 2 ? 'random' : 'sequential' });
					results.push(r.delivered
						? { orderId: `o-${i}`, delivered: true, alreadyDelivered: r.alreadyDelivered, keyIds: r.delivery.keys.map((k) => k.id as number) }
						: { orderId: `o-${i}`, delivered: false, reason: r.reason, keyIds: [] });
				}
			};
			await Promise.all(Array.from({ length: 64 }, lane));
			expect(results.filter((r) => r.delivered).length).toBe(1500);
			expect(results.filter((r) => !r.delivered && r.reason === 'out_of_stock').length).toBe(500);
			expect(assertNoKeyTwice(results)).toBe(1500);
			expect(await assertStoreConsistent(store, 'RACE', 1500)).toEqual({ assigned: 1500, available: 0, deliveries: 1500 });
		} finally {
			await store.close();
			await dropStore(cfg);
		}
	});

	it('mixed quantities 1–3 with 32 in flight are all-or-nothing', async () => {
		const cfg = storeConfig('sqlite');
		const store = await KeyStore.open(cfg);
		try {
			await store.importKeys({ sku: 'MIX', keys: makeKeys(500) });
			let next = 0;
			let delivered = 0;
			const lane = async () => {
				while (next < 400) {
					const i = next++;
					const q = (i % 3) + 1;
					const r = await store.claim({ orderId: `m-${i}`, sku: 'MIX', quantity: q, strategy: 'random' });
					if (r.delivered) {
						expect(r.delivery.keys).toHaveLength(q);
						delivered += q;
					} else {
						expect(r.reason).toBe('out_of_stock');
						expect(r.available).toBeLessThan(q);
					}
				}
			};
			await Promise.all(Array.from({ length: 32 }, lane));
			const c = await assertStoreConsistent(store, 'MIX', 500);
			expect(c.assigned).toBe(delivered);
			expect(c.available).toBeLessThan(3); // it only stops when no order fits any more
		} finally {
			await store.close();
			await dropStore(cfg);
		}
	});
});

function ordersFor(proc: number, count: number, sku: string): WorkerOrder[] {
	return Array.from({ length: count }, (_, i) => ({ orderId: `p${proc}-o${i}`, sku, quantity: 1, strategy: i % 2 ? 'random' : 'sequential' }));
}

const multiProcess = (kind: DbKind, perProcess: number, inFlight: number, pool: number) => {
	describeDb(kind, 'claim race across OS processes', () => {
		const cfg = storeConfig(kind);
		afterAll(() => dropStore(cfg));

		it(`4 processes × ${inFlight} in flight, ${perProcess * 4} claims on ${pool} keys, opening a fresh store together`, async () => {
			// The workers open (and migrate) the brand-new store concurrently; keys are imported after.
			const seedStore = async () => {
				const s = await KeyStore.open(cfg);
				await s.importKeys({ sku: 'MP', keys: makeKeys(pool) });
				return s;
			};
			const procs = [0, 1, 2, 3].map((p) => ordersFor(p, perProcess, 'MP'));
			// open concurrently with the workers: the seeding opener races the workers' migrations too
			const storeP = seedStore();
			const store = await storeP;
			const all = (await raceInProcesses(cfg, procs, inFlight)).flat();
			try {
				expect(all.filter((r) => r.error)).toEqual([]);
				const delivered = all.filter((r) => r.delivered);
				expect(delivered.length).toBe(Math.min(pool, perProcess * 4));
				expect(all.filter((r) => r.reason === 'out_of_stock').length).toBe(Math.max(0, perProcess * 4 - pool));
				expect(assertNoKeyTwice(all)).toBe(Math.min(pool, perProcess * 4));
				const c = await assertStoreConsistent(store, 'MP', pool);
				expect(c.assigned).toBe(Math.min(pool, perProcess * 4));
				expect(c.deliveries).toBe(Math.min(pool, perProcess * 4));
			} finally {
				await store.close();
			}
		});

		it('the same order line submitted 20× at once from 4 processes: one delivery, the same keys every time', async () => {
			const store = await KeyStore.open(cfg);
			try {
				await store.importKeys({ sku: 'DUP', keys: makeKeys(50, 'D') });
				const same: WorkerOrder = { orderId: 'T20261123001', sku: 'DUP', quantity: 3, strategy: 'random' };
				const all = (await raceInProcesses(cfg, [0, 1, 2, 3].map(() => Array(5).fill(same)), 5)).flat();
				expect(all).toHaveLength(20);
				expect(all.every((r) => r.delivered && !r.error)).toBe(true);
				expect(all.filter((r) => !r.alreadyDelivered)).toHaveLength(1);
				const first = JSON.stringify([...all[0].keyIds].sort());
				for (const r of all) expect(JSON.stringify([...r.keyIds].sort())).toBe(first);
				expect(all[0].keyIds).toHaveLength(3);
				const rows = await internals(store).db(internals(store).t.deliveries).where({ order_id: 'T20261123001' });
				expect(rows).toHaveLength(1);
				const c = await assertStoreConsistent(store, 'DUP', 50);
				expect(c).toEqual({ assigned: 3, available: 47, deliveries: 1 });
			} finally {
				await store.close();
			}
		});
	});
};

multiProcess('sqlite', 150, 16, 500);
multiProcess('postgres', 400, 32, 1000);
multiProcess('mysql', 400, 32, 1000);
