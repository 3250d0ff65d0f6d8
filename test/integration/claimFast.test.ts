/**
 * Races the SQLite one-statement claim (migration 003's trigger) and its group commit: many claims
 * in flight in one process — rounds of several claims in one BEGIN IMMEDIATE … COMMIT — and several
 * OS processes on one file, with replays, out-of-stock lines, refund tombstones (line and
 * order-wide), unknown skus and fixed content mixed in. Checks DESIGN §1 promises 1, 2 and 3 and the
 * audit trail from the results and from the database itself.
 */
import { KeyStore, type ClaimResult, type Strategy } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { dropStore, makeKeys, storeConfig } from '../helpers/db';
import { raceInProcesses, type WorkerOrder, type WorkerResult } from '../helpers/processes';

interface Outcome {
	orderId: string;
	sku: string;
	delivered: boolean;
	alreadyDelivered?: boolean;
	reason?: string;
	keyIds: number[];
	error?: string;
}

const POOL_SKU = 'FAST';
const FIXED_SKU = 'FAST-FIXED';
const OTHER_SKU = 'FAST-OTHER';

/** A deterministic shuffle (no flaky orderings between runs). */
function shuffle<T>(xs: T[], seed: number): T[] {
	const a = [...xs];
	let s = seed;
	for (let i = a.length - 1; i > 0; i--) {
		s = (s * 1103515245 + 12345) & 0x7fffffff;
		const j = s % (i + 1);
		[a[i], a[j]] = [a[j], a[i]];
	}
	return a;
}

interface Plan {
	/** Order lines and how often each is submitted. */
	lines: Array<{ orderId: string; sku: string; quantity: number; strategy: Strategy; times: number }>;
	lineTombstones: string[];
	orderTombstones: string[];
}

/** Order lines competing for a pool smaller than demand, with replays and refused lines. */
function makePlan(tag: string, n: number): Plan {
	const lines: Plan['lines'] = [];
	for (let i = 0; i < n; i++) {
		lines.push({ orderId: `${tag}-o${i}`, sku: POOL_SKU, quantity: (i % 3) + 1, strategy: i % 2 ? 'random' : 'sequential', times: (i % 4) + 1 });
	}
	for (let i = 0; i < 12; i++) lines.push({ orderId: `${tag}-fixed${i}`, sku: FIXED_SKU, quantity: 1, strategy: 'sequential', times: 2 });
	for (let i = 0; i < 8; i++) lines.push({ orderId: `${tag}-unknown${i}`, sku: 'NO-SUCH-SKU', quantity: 1, strategy: 'sequential', times: 2 });
	const lineTombstones: string[] = [];
	const orderTombstones: string[] = [];
	for (let i = 0; i < 10; i++) {
		lineTombstones.push(`${tag}-refundline${i}`);
		lines.push({ orderId: `${tag}-refundline${i}`, sku: POOL_SKU, quantity: 1, strategy: 'random', times: 3 });
		orderTombstones.push(`${tag}-refundorder${i}`);
		lines.push({ orderId: `${tag}-refundorder${i}`, sku: i % 2 ? POOL_SKU : FIXED_SKU, quantity: 2, strategy: 'sequential', times: 3 });
	}
	return { lines, lineTombstones, orderTombstones };
}

async function seed(store: KeyStore, plan: Plan, pool: number): Promise<void> {
	await store.importKeys({ sku: POOL_SKU, keys: makeKeys(pool, 'FAST') });
	await store.importKeys({ sku: OTHER_SKU, keys: makeKeys(20, 'OTHER') });
	await store.upsertProduct({ sku: FIXED_SKU, name: 'Fixed', fixedContent: 'https://dl.example.com/fast?token=FIXED-CONTENT-SECRET' });
	for (const o of plan.lineTombstones) await store.revoke({ orderId: o, sku: POOL_SKU, reason: 'refund before delivery' });
	for (const o of plan.orderTombstones) await store.revoke({ orderId: o, reason: 'refund before delivery' });
}

function submissions(plan: Plan): WorkerOrder[] {
	const out: WorkerOrder[] = [];
	for (const l of plan.lines) for (let i = 0; i < l.times; i++) out.push({ orderId: l.orderId, sku: l.sku, quantity: l.quantity, strategy: l.strategy });
	return out;
}

function outcomeOf(o: WorkerOrder, r: ClaimResult): Outcome {
	return r.delivered
		? { orderId: o.orderId, sku: o.sku, delivered: true, alreadyDelivered: r.alreadyDelivered, keyIds: r.delivery.keys.map((k) => k.id as number) }
		: { orderId: o.orderId, sku: o.sku, delivered: false, reason: r.reason, keyIds: [] };
}

/**
 * Promises 1–3 from the answers and from the database: per order line one answer kind, the same keys
 * on every replay and exactly one first delivery; no key in two lines; every assigned key belongs to
 * exactly one claimed delivery holding `quantity` keys; nothing lost; one `claimed` event per
 * delivery naming its keys, none for refused lines, none carrying a secret.
 */
async function assertConsistent(store: KeyStore, plan: Plan, outcomes: Outcome[], pool: number): Promise<{ deliveredLines: number; outOfStock: number }> {
	expect(outcomes.filter((o) => o.error)).toEqual([]);
	expect(outcomes).toHaveLength(plan.lines.reduce((s, l) => s + l.times, 0));
	const refused = new Set([...plan.lineTombstones, ...plan.orderTombstones]);
	const byLine = new Map<string, Outcome[]>();
	for (const o of outcomes) {
		const k = `${o.orderId}|${o.sku}`;
		byLine.set(k, [...(byLine.get(k) ?? []), o]);
	}
	const owner = new Map<number, string>();
	let deliveredLines = 0;
	let outOfStock = 0;
	for (const l of plan.lines) {
		const got = byLine.get(`${l.orderId}|${l.sku}`) ?? [];
		expect(got).toHaveLength(l.times);
		if (refused.has(l.orderId)) {
			for (const o of got) expect(o).toMatchObject({ delivered: false, reason: 'revoked' });
			continue;
		}
		if (l.sku === 'NO-SUCH-SKU') {
			for (const o of got) expect(o).toMatchObject({ delivered: false, reason: 'unknown_sku' });
			continue;
		}
		if (l.sku === FIXED_SKU) {
			for (const o of got) expect(o).toMatchObject({ delivered: true, keyIds: [null] });
			expect(got.filter((o) => !o.alreadyDelivered)).toHaveLength(1);
			continue;
		}
		// Stock only shrinks during the race: a line is either delivered on every submission or never.
		const delivered = got.filter((o) => o.delivered);
		if (delivered.length === 0) {
			for (const o of got) expect(o.reason).toBe('out_of_stock');
			outOfStock++;
			continue;
		}
		expect(delivered).toHaveLength(l.times);
		expect(delivered.filter((o) => !o.alreadyDelivered)).toHaveLength(1);
		const ids = [...delivered[0].keyIds].sort((a, b) => a - b);
		expect(ids).toHaveLength(l.quantity);
		for (const o of delivered) expect([...o.keyIds].sort((a, b) => a - b)).toEqual(ids);
		for (const id of ids) {
			expect(owner.get(id)).toBeUndefined(); // promise 1: no key in two order lines
			owner.set(id, l.orderId);
		}
		deliveredLines++;
	}

	// The database agrees.
	const t = internals(store).t;
	const keys = (await internals(store).db(t.keys).where({ sku: POOL_SKU }).select('id', 'status', 'delivery_id')) as Array<{ id: number; status: string; delivery_id: number | null }>;
	expect(keys).toHaveLength(pool); // none lost, none invented
	const deliveries = (await internals(store).db(t.deliveries).whereIn('sku', [POOL_SKU, FIXED_SKU, '*']).select('id', 'order_id', 'sku', 'quantity', 'status', 'content')) as Array<{ id: number; order_id: string; sku: string; quantity: number; status: string; content: string | null }>;
	const claimed = deliveries.filter((d) => d.status === 'claimed');
	const keysOf = new Map<number, number[]>();
	for (const k of keys) {
		if (k.status === 'available') {
			expect(k.delivery_id).toBeNull();
			continue;
		}
		expect(k.status).toBe('assigned');
		keysOf.set(Number(k.delivery_id), [...(keysOf.get(Number(k.delivery_id)) ?? []), Number(k.id)]);
		expect(owner.has(Number(k.id))).toBe(true); // every assigned key was handed to a line that was told so
	}
	expect(keys.filter((k) => k.status === 'assigned')).toHaveLength(owner.size);
	for (const d of claimed) {
		if (d.sku === FIXED_SKU) {
			expect(d.content).not.toBeNull();
			expect(keysOf.get(Number(d.id))).toBeUndefined();
		} else {
			expect((keysOf.get(Number(d.id)) ?? []).length).toBe(Number(d.quantity)); // all or nothing
			for (const id of keysOf.get(Number(d.id)) ?? []) expect(owner.get(id)).toBe(d.order_id);
		}
	}
	for (const id of keysOf.keys()) expect(claimed.some((d) => Number(d.id) === id)).toBe(true);
	expect(claimed.filter((d) => d.sku === POOL_SKU)).toHaveLength(deliveredLines);
	expect(claimed.filter((d) => d.sku === FIXED_SKU)).toHaveLength(12);
	// the refunded lines stayed tombstones; nothing was claimed for them
	for (const d of deliveries) if (refused.has(d.order_id)) expect(d).toMatchObject({ status: 'revoked', quantity: 0 });

	// Audit: exactly one `claimed` event per delivery, naming its keys; no secret in any event.
	const events = (await internals(store).db(t.events).select('type', 'order_id', 'sku', 'delivery_id', 'count', 'details')) as Array<{ type: string; order_id: string | null; sku: string | null; delivery_id: number | null; count: number | null; details: string | null }>;
	const claimedEvents = events.filter((e) => e.type === 'claimed');
	expect(claimedEvents).toHaveLength(claimed.length);
	for (const d of claimed) {
		const ev = claimedEvents.filter((e) => Number(e.delivery_id) === Number(d.id));
		expect(ev).toHaveLength(1);
		expect(ev[0]).toMatchObject({ order_id: d.order_id, sku: d.sku, count: Number(d.quantity) });
		const details = JSON.parse(ev[0].details as string) as { keyIds?: number[]; fixedContent?: boolean };
		if (d.sku === FIXED_SKU) expect(details).toEqual({ fixedContent: true });
		else expect([...(details.keyIds ?? [])].sort((a, b) => a - b)).toEqual([...(keysOf.get(Number(d.id)) ?? [])].sort((a, b) => a - b));
	}
	for (const e of events) expect(`${e.details ?? ''}`).not.toMatch(/FAST-\d|FIXED-CONTENT-SECRET/);
	return { deliveredLines, outOfStock };
}

/** Counts driver calls in this process: one-statement claims, and the group-commit BEGINs. */
function spyOnSqlite(view: string) {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const sqlite3 = require('sqlite3') as { Database: { prototype: Record<string, unknown> }; Statement: { prototype: Record<string, unknown> } };
	const stmtAll = sqlite3.Statement.prototype.all as (...a: unknown[]) => unknown;
	const dbRun = sqlite3.Database.prototype.run as (...a: unknown[]) => unknown;
	const counts = { claimStatements: 0, groupBegins: 0 };
	sqlite3.Statement.prototype.all = function (this: { sql?: string }, ...a: unknown[]) {
		if (String(this.sql).includes(`"${view}"`)) counts.claimStatements++;
		return stmtAll.apply(this, a);
	};
	sqlite3.Database.prototype.run = function (this: unknown, ...a: unknown[]) {
		if (a[0] === 'BEGIN IMMEDIATE') counts.groupBegins++;
		return dbRun.apply(this, a);
	};
	return {
		counts,
		restore() {
			sqlite3.Statement.prototype.all = stmtAll;
			sqlite3.Database.prototype.run = dbRun;
		},
	};
}

describe('SQLite one-statement claim with group commit [sqlite]', () => {
	it('96 claims in flight in one process: replays, out of stock, tombstones, unknown skus, fixed content', async () => {
		const cfg = storeConfig('sqlite');
		const store = await KeyStore.open(cfg);
		try {
			const pool = 300;
			const plan = makePlan('g', 240); // about 480 keys asked for 300
			await seed(store, plan, pool);
			const subs = shuffle(submissions(plan), 7);
			const spy = spyOnSqlite(`${internals(store).t.keys.slice(0, -'keys'.length)}claim`);
			const outcomes: Outcome[] = [];
			try {
				let next = 0;
				const lane = async () => {
					while (next < subs.length) {
						const o = subs[next++];
						try {
							outcomes.push(outcomeOf(o, await store.claim({ ...o, buyer: { id: 'b1', email: 'buyer@example.com' }, amount: 9.5 })));
						} catch (err) {
							outcomes.push({ orderId: o.orderId, sku: o.sku, delivered: false, keyIds: [], error: String(err) });
						}
					}
				};
				await Promise.all(Array.from({ length: 96 }, lane));
			} finally {
				spy.restore();
			}
			const r = await assertConsistent(store, plan, outcomes, pool);
			expect(r.outOfStock).toBeGreaterThan(0);
			expect(r.deliveredLines).toBeGreaterThan(0);
			// the race went through the one-statement claim, in rounds of several claims per transaction
			expect(spy.counts.claimStatements).toBeGreaterThan(subs.length / 2);
			expect(spy.counts.groupBegins).toBeGreaterThan(0);
			expect(spy.counts.groupBegins).toBeLessThan(spy.counts.claimStatements / 2);
			// untouched: the other sku's stock
			expect(await store.countAvailable(OTHER_SKU)).toBe(20);
			// buyer details made it through the trigger
			const one = (await internals(store).db(internals(store).t.deliveries).where({ sku: POOL_SKU, status: 'claimed' }).first()) as { buyer_id: string; buyer_email: string; amount: number; strategy: string };
			expect(one).toMatchObject({ buyer_id: 'b1', buyer_email: 'buyer@example.com', amount: 9.5 });
			expect(['sequential', 'random']).toContain(one.strategy);
		} finally {
			await store.close();
			await dropStore(cfg);
		}
	});

	it('4 OS processes × 24 in flight on one file, the same order lines submitted from several processes', async () => {
		const cfg = storeConfig('sqlite');
		const store = await KeyStore.open(cfg);
		try {
			const pool = 200;
			const plan = makePlan('p', 160);
			await seed(store, plan, pool);
			// submissions dealt out round-robin after a shuffle: replays of a line race across processes
			const all = shuffle(submissions(plan), 11);
			const perProcess = [0, 1, 2, 3].map((p) => all.filter((_, i) => i % 4 === p));
			const results = (await raceInProcesses(cfg, perProcess, 24)).flat() as WorkerResult[];
			const skuOf = new Map(plan.lines.map((l) => [l.orderId, l.sku]));
			const outcomes: Outcome[] = results.map((r) => ({ ...r, sku: skuOf.get(r.orderId) as string }));
			const r = await assertConsistent(store, plan, outcomes, pool);
			expect(r.outOfStock).toBeGreaterThan(0);
			expect(await store.countAvailable(OTHER_SKU)).toBe(20);
		} finally {
			await store.close();
			await dropStore(cfg);
		}
	});

	it('an aborted claim in a round leaves nothing behind and does not disturb the others', async () => {
		const cfg = storeConfig('sqlite');
		const store = await KeyStore.open(cfg);
		try {
			await store.importKeys({ sku: POOL_SKU, keys: makeKeys(5, 'FAST') });
			// one round: 3 + 3 keys asked for 5 → exactly one of the two is delivered; then 1 + 1 for the last key
			const rs = await Promise.all([
				store.claim({ orderId: 'a', sku: POOL_SKU, quantity: 3 }),
				store.claim({ orderId: 'b', sku: POOL_SKU, quantity: 3, strategy: 'random' }),
				store.claim({ orderId: 'c', sku: POOL_SKU, quantity: 1 }),
				store.claim({ orderId: 'd', sku: POOL_SKU, quantity: 1, strategy: 'random' }),
				store.claim({ orderId: 'a', sku: POOL_SKU, quantity: 3 }),
			]);
			const delivered = rs.filter((r) => r.delivered && !r.alreadyDelivered);
			const keyIds = delivered.flatMap((r) => (r.delivered ? r.delivery.keys.map((k) => k.id as number) : []));
			expect(new Set(keyIds).size).toBe(keyIds.length);
			expect(keyIds.length).toBeLessThanOrEqual(5);
			const failed = rs.filter((r) => !r.delivered);
			for (const f of failed) expect(f).toMatchObject({ reason: 'out_of_stock' });
			const orderA = [rs[0], rs[4]];
			expect(orderA[0].delivered).toBe(orderA[1].delivered);
			const deliveries = (await internals(store).db(internals(store).t.deliveries).select('order_id', 'quantity')) as Array<{ order_id: string; quantity: number }>;
			const events = (await internals(store).db(internals(store).t.events).where({ type: 'claimed' }).select('order_id')) as Array<{ order_id: string }>;
			expect(deliveries.map((d) => d.order_id).sort()).toEqual([...new Set(delivered.map((r) => (r.delivered ? r.delivery.orderId : '')))].sort());
			expect(events.map((e) => e.order_id).sort()).toEqual(deliveries.map((d) => d.order_id).sort());
			expect(await store.countAvailable(POOL_SKU)).toBe(5 - keyIds.length);
		} finally {
			await store.close();
			await dropStore(cfg);
		}
	});
});
