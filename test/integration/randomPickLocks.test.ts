/**
 * Random picks at scale (issue point 8). On MySQL/MariaDB the old random pick — one
 * `rand >= ? ORDER BY rand, id … FOR UPDATE SKIP LOCKED` scan — locked hundreds of thousands of rows
 * once many claims ran at once (MariaDB 10.11 with a 128 MB buffer pool aborted: "Over 95 percent of
 * the buffer pool is occupied by lock heaps"). Here 4 OS processes × 32 claims in flight, half of
 * them random, drain a 90,000-key pool with 100,000 claims on every database: each key is delivered
 * once, exactly the shortfall is out of stock, nothing is lost — and on MySQL/MariaDB the rows InnoDB
 * holds locked (information_schema.innodb_trx.trx_rows_locked, summed over this store's
 * transactions, sampled every 200 ms from a connection of its own) stay O(claims in flight ×
 * quantity). The test prints the figures (time, claims/s, lock peak) per database.
 *
 * Run time: the three races are ~100 k claims each; on 2 busy cores SQLite took ~110 s, PostgreSQL
 * ~250 s and MariaDB ~490 s for the race alone (each has its own timeout below).
 *
 * AD_RANDOM_RACE_POOL=<n> runs the race on a smaller pool (n keys, n / 9 × 10 claims), e.g. to watch
 * the old code fail without taking the server down.
 */
import { createKnexFor, type StoreConfig } from '../../nodes/core/store';
import { KeyStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { assertStoreConsistent } from '../helpers/consistency';
import { type DbKind, describeDb, dropStore, makeKeys, storeConfig } from '../helpers/db';
import { raceInProcesses, type WorkerOrder, type WorkerResult } from '../helpers/processes';

const POOL = Number(process.env.AD_RANDOM_RACE_POOL ?? 90000);
const CLAIMS = Math.round((POOL * 10) / 9); // 100,000 on the 90,000 pool: 10 % out of stock
const PROCESSES = 4;
const IN_FLIGHT = 32;
/**
 * Rows locked at once, summed over this store's InnoDB transactions (at most 4 processes × 10
 * pooled connections open at once). Each locks the key it takes (quantity 1), a few records of its
 * delivery and event, and counts the rows of other claims its pick skipped. Measured: ≤ 150 with
 * the candidate-then-lock pick; the old random scan reached 97,000–223,500 on a 10,000-key pool
 * (and crashed the server on 90,000).
 */
const MAX_ROWS_LOCKED = 3000;
const fmt = (n: number) => n.toLocaleString('en-US');

interface LockSamples {
	/** Largest sum of trx_rows_locked over the transactions of this store's connections in one sample. */
	peak: number;
	/** The same over every transaction on the server (other tests' too, when they share it). */
	peakAll: number;
	/** Largest trx_rows_locked of a single transaction of this store. */
	peakOne: number;
	/** Most transactions of this store open at once. */
	peakTrx: number;
	samples: number;
	failed: number;
}

/**
 * Samples InnoDB's row locks every `everyMs` from a connection of its own until stop() is called.
 * A connection counts as this store's once it was seen running a statement on its tables (its
 * table prefix is unique), so other tests on a shared server do not blur the figure.
 */
function sampleRowLocks(cfg: StoreConfig, everyMs = 200): { stop(): Promise<LockSamples> } {
	const db = createKnexFor({ ...cfg, poolMax: 1 });
	const prefix = cfg.tablePrefix as string;
	const ours = new Set<number>();
	const s: LockSamples = { peak: 0, peakAll: 0, peakOne: 0, peakTrx: 0, samples: 0, failed: 0 };
	let stopped = false;
	const loop = (async () => {
		while (!stopped) {
			try {
				const [rows] = (await db.raw(
					`SELECT p.ID AS id, p.INFO AS info, t.trx_rows_locked AS locked
					 FROM information_schema.PROCESSLIST p LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID
					 WHERE p.ID <> CONNECTION_ID()`,
				)) as [Array<{ id: unknown; info: string | null; locked: unknown }>];
				for (const r of rows) if (r.info?.includes(prefix)) ours.add(Number(r.id));
				let sum = 0;
				let all = 0;
				let open = 0;
				for (const r of rows) {
					if (r.locked === null) continue;
					const n = Number(r.locked);
					all += n;
					if (!ours.has(Number(r.id))) continue;
					sum += n;
					open++;
					s.peakOne = Math.max(s.peakOne, n);
				}
				s.peak = Math.max(s.peak, sum);
				s.peakAll = Math.max(s.peakAll, all);
				s.peakTrx = Math.max(s.peakTrx, open);
				s.samples++;
			} catch {
				s.failed++; // e.g. the server went away; the race itself reports that
			}
			await new Promise((r) => setTimeout(r, everyMs));
		}
	})();
	return {
		async stop() {
			stopped = true;
			await loop;
			await db.destroy();
			return s;
		},
	};
}

function ordersFor(proc: number, count: number, sku: string): WorkerOrder[] {
	return Array.from({ length: count }, (_, i) => ({ orderId: `p${proc}-o${i}`, sku, quantity: 1, strategy: i % 2 ? 'random' : 'sequential' }));
}

function keyIdsOnce(results: WorkerResult[]): Set<number> {
	const seen = new Set<number>();
	const twice: number[] = [];
	for (const r of results) {
		if (!r.delivered || r.alreadyDelivered) continue;
		for (const id of r.keyIds) {
			if (seen.has(id)) twice.push(id);
			seen.add(id);
		}
	}
	expect(twice).toEqual([]);
	return seen;
}

/** Per database: the race's time budget (ms). */
const TIMEOUT: Record<DbKind, number> = { sqlite: 600000, postgres: 600000, mysql: 900000 };

for (const kind of ['sqlite', 'postgres', 'mysql'] as DbKind[]) {
	describeDb(kind, 'random picks at scale', () => {
		const cfg = storeConfig(kind);
		afterAll(() => dropStore(cfg));

		it(
			`${PROCESSES} processes × ${IN_FLIGHT} in flight, ${fmt(CLAIMS)} claims (half random) on ${fmt(POOL)} keys: ${fmt(POOL)} delivered once each, ${fmt(CLAIMS - POOL)} out of stock` +
				(kind === 'mysql' ? `, InnoDB rows locked at once < ${fmt(MAX_ROWS_LOCKED)}` : ''),
			async () => {
				const store = await KeyStore.open(cfg);
				try {
					const imported = await store.importKeys({ sku: 'RND', keys: makeKeys(POOL) });
					expect(imported.imported).toBe(POOL);
					const per = Math.ceil(CLAIMS / PROCESSES);
					const procs = Array.from({ length: PROCESSES }, (_, p) => ordersFor(p, Math.min(per, CLAIMS - p * per), 'RND'));
					const locks = kind === 'mysql' ? sampleRowLocks(cfg) : null;
					const t0 = Date.now();
					let all: WorkerResult[];
					try {
						all = (await raceInProcesses(cfg, procs, IN_FLIGHT)).flat();
					} finally {
						const s = await locks?.stop();
						const secs = (Date.now() - t0) / 1000;
						// eslint-disable-next-line no-console
						console.log(
							`[${kind}] ${fmt(CLAIMS)} claims (half random) on ${fmt(POOL)} keys, ${PROCESSES} × ${IN_FLIGHT} in flight: ${secs.toFixed(1)} s, ${fmt(Math.round(CLAIMS / secs))} claims/s` +
								(s ? `; InnoDB rows locked at once: peak ${fmt(s.peak)} (one transaction ${fmt(s.peakOne)}, ${s.peakTrx} transactions open; whole server ${fmt(s.peakAll)}; ${s.samples} samples every 200 ms${s.failed ? `, ${s.failed} failed` : ''})` : ''),
						);
						if (s) {
							expect(s.failed).toBe(0);
							expect(s.samples).toBeGreaterThan(0);
							expect(s.peak).toBeLessThan(MAX_ROWS_LOCKED);
						}
					}
					expect(all.filter((r) => r.error).slice(0, 5)).toEqual([]);
					expect(all).toHaveLength(CLAIMS);
					expect(all.filter((r) => r.delivered && !r.alreadyDelivered)).toHaveLength(POOL);
					expect(all.filter((r) => !r.delivered && r.reason === 'out_of_stock')).toHaveLength(CLAIMS - POOL);
					expect(keyIdsOnce(all).size).toBe(POOL);
					expect(await assertStoreConsistent(store, 'RND', POOL)).toEqual({ assigned: POOL, available: 0, deliveries: POOL });
				} finally {
					await store.close();
				}
			},
			TIMEOUT[kind],
		);

		it('random picks spread over the whole pool (4 processes × 32 in flight, 2,000 claims on 20,000 keys)', async () => {
			const store = await KeyStore.open(cfg);
			try {
				await store.importKeys({ sku: 'SPREAD', keys: makeKeys(20000, 'S') });
				const procs = Array.from({ length: PROCESSES }, (_, p) =>
					Array.from({ length: 500 }, (_, i): WorkerOrder => ({ orderId: `s${p}-${i}`, sku: 'SPREAD', quantity: 1, strategy: 'random' })),
				);
				const all = (await raceInProcesses(cfg, procs, IN_FLIGHT)).flat();
				expect(all.filter((r) => !r.delivered || r.error)).toEqual([]);
				const ids = [...keyIdsOnce(all)];
				expect(ids).toHaveLength(2000);
				// seq is the import order, rand is independent of it: every tenth of the pool gets ~200 picks
				const seqs: number[] = [];
				for (let i = 0; i < ids.length; i += 500) {
					const rows = (await internals(store).db(internals(store).t.keys).whereIn('id', ids.slice(i, i + 500)).select('seq')) as Array<{ seq: unknown }>;
					for (const r of rows) seqs.push(Number(r.seq));
				}
				const [{ m }] = (await internals(store).db(internals(store).t.keys).where({ sku: 'SPREAD' }).min({ m: 'seq' })) as Array<{ m: unknown }>;
				const min = Number(m);
				const tenths = new Array(10).fill(0);
				for (const s of seqs) tenths[Math.min(9, Math.floor(((s - min) / 20000) * 10))]++;
				for (const n of tenths) {
					expect(n).toBeGreaterThan(120);
					expect(n).toBeLessThan(280);
				}
				const c = await assertStoreConsistent(store, 'SPREAD', 20000);
				expect(c).toEqual({ assigned: 2000, available: 18000, deliveries: 2000 });
			} finally {
				await store.close();
			}
		}, 120000);
	});
}
