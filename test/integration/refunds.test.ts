/**
 * Refunds against real databases (SQLite files, PostgreSQL, MariaDB) — store/refunds.ts, DESIGN §1
 * promise 5 (refunded keys are never resold) with 3: revoke, return to stock, tombstones, and
 * refunds racing claims of the same order line, in one process and across OS processes.
 */
import { KeyStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { type DbKind, describeDb, dropStore, storeConfig, useStore } from '../helpers/db';
import { LIFE_KEY, allText, claimOne, keyRows } from '../helpers/lifecycle';
import { type Op, type OpResult, raceOps, runOps } from './workers/opsWorker';


function shuffle<T>(a: T[], seed: number): T[] {
	let s = seed;
	const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
	for (let i = a.length - 1; i > 0; i--) {
		const j = Math.floor(rnd() * (i + 1));
		[a[i], a[j]] = [a[j], a[i]];
	}
	return a;
}

/**
 * After a race of claims and refunds of the same order lines: no delivery of a refunded order is
 * left unrevoked, every key a claim handed out is revoked (or, with returnUnsent, back in stock
 * and unlinked), the refund reported exactly those keys, a claim that lost to the tombstone got
 * nothing, and a late "paid" retry is refused.
 */
async function assertRefundRaceOutcome(store: KeyStore, sku: string, orderIds: string[], results: OpResult[], pool: number, returnUnsent: boolean) {
	const t = internals(store).t;
	const errors = results.filter((r) => r.error);
	expect(errors).toEqual([]);
	let claimedFirst = 0;
	let tombstoneFirst = 0;
	let stragglers = 0;
	for (const orderId of orderIds) {
		const claims = results.filter((r) => r.op === 'claim' && r.orderId === orderId);
		const revokes = results.filter((r) => r.op === 'revoke' && r.orderId === orderId);
		let rows = (await internals(store).db(t.deliveries).where({ order_id: orderId }).select('id', 'sku', 'status', 'quantity')) as Array<{ id: number; sku: string; status: string; quantity: number }>;
		// The first attempt to hand a line over (Notify Buyer / Mark Shipped) is refused: the buyer never gets a refunded key.
		for (const r of rows.filter((x) => x.quantity > 0)) {
			if (r.status !== 'revoked') stragglers++;
			expect({ orderId, send: (await store.beginSend(Number(r.id), { resend: true })).kind, ship: (await store.beginShip(Number(r.id), { requireSent: false })).kind }).toEqual({ orderId, send: 'revoked', ship: 'revoked' });
		}
		rows = (await internals(store).db(t.deliveries).where({ order_id: orderId }).select('id', 'sku', 'status', 'quantity')) as typeof rows;
		// Never a delivery of a refunded order left claimed/sent.
		expect({ orderId, live: rows.filter((r) => r.status !== 'revoked') }).toEqual({ orderId, live: [] });
		// The keys a claim committed (from its audit event; the claim's own answer may already show them revoked or returned).
		const claimedEvents = await store.listEvents({ orderId, type: 'claimed' });
		const handedOut = claimedEvents.flatMap((e) => (e.details?.keyIds as number[] | undefined) ?? []);
		const revokeEvents = await store.listEvents({ orderId, type: 'revoked' });
		const revoked = revokeEvents.flatMap((e) => (e.details?.revokedKeyIds as number[] | undefined) ?? []);
		const returned = revokeEvents.flatMap((e) => (e.details?.returnedKeyIds as number[] | undefined) ?? []);
		const reportedByRefund = revokes.flatMap((r) => r.lines ?? []).flatMap((l) => (returnUnsent ? l.returnedKeyIds : l.revokedKeyIds));
		if (handedOut.length) {
			claimedFirst++;
			expect(claims.every((c) => c.delivered || c.reason === 'revoked')).toBe(true);
			// Every key the claim committed was revoked (or returned) exactly once, by the refund or at first use.
			expect({ orderId, recorded: [...(returnUnsent ? returned : revoked)].sort() }).toEqual({ orderId, recorded: [...handedOut].sort() });
			for (const id of reportedByRefund) expect(handedOut).toContain(id);
			const keys = await internals(store).db(t.keys).whereIn('id', handedOut).select('id', 'status', 'delivery_id');
			for (const k of keys) {
				if (returnUnsent) expect({ orderId, k: { status: k.status, delivery_id: k.delivery_id } }).toEqual({ orderId, k: { status: 'available', delivery_id: null } });
				else expect({ orderId, status: k.status, linked: rows.some((r) => Number(r.id) === Number(k.delivery_id)) }).toEqual({ orderId, status: 'revoked', linked: true });
			}
		} else {
			tombstoneFirst++;
			// The claim lost to the tombstone: it was refused and holds nothing.
			for (const c of claims) expect({ orderId, delivered: c.delivered, reason: c.reason }).toEqual({ orderId, delivered: false, reason: 'revoked' });
			expect(revoked).toEqual([]);
			expect(reportedByRefund).toEqual([]);
			expect(rows.some((r) => Number(r.quantity) === 0)).toBe(true);
		}
		// A late "paid" retry cannot deliver.
		const late = await store.claim({ orderId, sku });
		expect({ orderId, delivered: late.delivered, reason: late.delivered ? null : late.reason }).toEqual({ orderId, delivered: false, reason: 'revoked' });
	}
	// Nothing lost, nothing assigned: every key is available, or revoked and linked to a revoked delivery.
	const keys = await keyRows(store, { sku });
	expect(keys).toHaveLength(pool);
	expect(keys.filter((k) => k.status === 'assigned')).toEqual([]);
	const revokedDeliveries = new Set(((await internals(store).db(t.deliveries).where({ status: 'revoked' }).select('id')) as Array<{ id: number }>).map((r) => Number(r.id)));
	for (const k of keys.filter((x) => x.status === 'revoked')) expect(revokedDeliveries.has(Number(k.delivery_id))).toBe(true);
	for (const k of keys.filter((x) => x.status === 'available')) expect(k.delivery_id).toBeNull();
	return { claimedFirst, tombstoneFirst, stragglers };
}

/** AD_TEST_REPORT=1 prints how each race went (who won, how many lines slipped past a whole-order refund). */
function report(what: string, o: object) {
	// eslint-disable-next-line no-console
	if (process.env.AD_TEST_REPORT) console.log(`${what}: ${JSON.stringify(o)}`);
}

for (const kind of ['sqlite', 'postgres', 'mysql'] as DbKind[]) {
	describeDb(kind, 'refunds', () => {
		const cfg = storeConfig(kind);
		let store: KeyStore;
		let n = 0;
		useStore(cfg, (s) => (store = s), (s) => s.importKeys({ sku: 'LIFE', keys: Array.from({ length: 200 }, (_, i) => LIFE_KEY(i)), productName: 'Lifecycle' }));
		const order = () => `L-${kind}-${++n}`;

		it('refund of a delivered line: keys revoked and still linked, the buyer saw them, idempotent, never claimed again', async () => {
			const orderId = order();
			const d = await claimOne(store, orderId, 'LIFE', 2);
			const s = await store.beginSend(d.id);
			if (s.kind !== 'go') throw new Error(s.kind);
			await store.markSent(d.id, s.token, { channel: 'email' });
			const [r] = await store.revoke({ orderId, sku: 'LIFE', reason: 'buyer refund', returnUnsent: true });
			expect(r).toMatchObject({
				orderId, sku: 'LIFE', deliveryId: d.id, tombstone: false, alreadyRevoked: false, previousStatus: 'sent', buyerSaw: true,
				revokedKeyIds: d.keys.map((k) => k.id), returnedKeyIds: [], reason: 'buyer refund', quantity: 2,
				buyer: { id: `b-${orderId}`, email: `${orderId.toLowerCase()}@example.com` },
			});
			expect(r.keys.map((k) => k.masked)).toEqual(d.keys.map((k) => k.masked));
			expect(r.keys.every((k) => k.key === undefined && k.status === 'revoked')).toBe(true);
			// Revoked keys stay linked to the order.
			expect((await keyRows(store, { delivery_id: d.id })).map((k) => k.status)).toEqual(['revoked', 'revoked']);
			const again = await store.revoke({ orderId, sku: 'LIFE' });
			expect(again).toEqual([expect.objectContaining({ alreadyRevoked: true, revokedKeyIds: [], returnedKeyIds: [], reason: 'buyer refund', tombstone: false })]);
			expect(again[0].keys).toHaveLength(2);
			// Revealed only when asked.
			const shown = await store.revoke({ orderId, reveal: true });
			expect(shown[0].keys.map((k) => k.key)).toEqual(d.keys.map(() => expect.stringMatching(/^LIFE-/)));
			// The order is refused, the sender and the shipper too.
			const retry = await store.claim({ orderId, sku: 'LIFE', quantity: 2 });
			expect(retry).toMatchObject({ delivered: false, reason: 'revoked' });
			expect((await store.beginSend(d.id, { resend: true })).kind).toBe('revoked');
			expect((await store.beginShip(d.id)).kind).toBe('revoked');
			const events = await store.listEvents({ orderId, type: 'revoked' });
			expect(events).toHaveLength(2); // the line, and the order-wide tombstone of revoke({orderId})
		});

		it('Return Unsent Keys: keys nothing ever tried to hand over go back to stock, unlinked; others never', async () => {
			// never sent → returned
			const o1 = order();
			const d1 = await claimOne(store, o1, 'LIFE', 2);
			const [r1] = await store.revoke({ orderId: o1, sku: 'LIFE', returnUnsent: true });
			expect(r1).toMatchObject({ buyerSaw: false, revokedKeyIds: [], returnedKeyIds: d1.keys.map((k) => k.id), keys: [], previousStatus: 'claimed' });
			expect((await keyRows(store, {})).filter((k) => d1.keys.some((x) => x.id === k.id)).map((k) => [k.status, k.delivery_id])).toEqual([['available', null], ['available', null]]);
			expect((await store.findDelivery({ deliveryId: d1.id })).status).toBe('revoked');

			// a send in flight (lease held) → never returned, whatever markSent does afterwards
			const o2 = order();
			const d2 = await claimOne(store, o2, 'LIFE');
			const s2 = await store.beginSend(d2.id);
			if (s2.kind !== 'go') throw new Error(s2.kind);
			const [r2] = await store.revoke({ orderId: o2, sku: 'LIFE', returnUnsent: true });
			expect(r2).toMatchObject({ buyerSaw: true, returnedKeyIds: [], revokedKeyIds: [d2.keys[0].id] });
			const late = await store.markSent(d2.id, s2.token, { channel: 'email', messageId: 'late' });
			expect(late.status).toBe('revoked'); // the send is recorded, the status stays revoked
			expect(late.sentAt).not.toBeNull();
			expect((await store.listEvents({ orderId: o2, type: 'sent' }))[0].details).toMatchObject({ afterRevoke: true });
			expect((await keyRows(store, { delivery_id: d2.id })).map((k) => k.status)).toEqual(['revoked']);

			// a failed send (the message may have gone out) → never returned
			const o3 = order();
			const d3 = await claimOne(store, o3, 'LIFE');
			const s3 = await store.beginSend(d3.id);
			if (s3.kind !== 'go') throw new Error(s3.kind);
			await store.markSendFailed(d3.id, s3.token, { channel: 'email', error: 'timeout after DATA' });
			expect((await store.revoke({ orderId: o3, returnUnsent: true }))[0]).toMatchObject({ buyerSaw: true, returnedKeyIds: [] });

			// a sender that crashed mid-send (its lease expired, nothing recorded) → never returned
			const o4 = order();
			const d4 = await claimOne(store, o4, 'LIFE');
			const s4 = await store.beginSend(d4.id, { leaseMs: 1 });
			expect(s4.kind).toBe('go');
			await new Promise((r) => setTimeout(r, 10));
			expect((await store.revoke({ orderId: o4, returnUnsent: true }))[0]).toMatchObject({ buyerSaw: true, returnedKeyIds: [], revokedKeyIds: [d4.keys[0].id] });

			// a shop call (which may carry the content) → never returned
			const o5 = order();
			const d5 = await claimOne(store, o5, 'LIFE');
			const sh = await store.beginShip(d5.id, { requireSent: false });
			if (sh.kind !== 'go') throw new Error(sh.kind);
			await store.markShipFailed(d5.id, sh.token, { error: 'HTTP 500' });
			expect((await store.revoke({ orderId: o5, returnUnsent: true }))[0]).toMatchObject({ buyerSaw: true, returnedKeyIds: [] });
		});

		it('revoked keys are never claimed again; returned keys are', async () => {
			const revokedIds = new Set(((await keyRows(store, { sku: 'LIFE', status: 'revoked' })) as Array<{ id: number }>).map((k) => Number(k.id)));
			expect(revokedIds.size).toBeGreaterThan(0);
			const available = (await store.stock('LIFE'))[0].available;
			const got: number[] = [];
			for (let i = 0; i < available + 2; i++) {
				const r = await store.claim({ orderId: `drain-${kind}-${i}`, sku: 'LIFE' });
				if (r.delivered) got.push(...r.delivery.keys.map((k) => k.id as number));
				else expect(r.reason).toBe('out_of_stock');
			}
			expect(got).toHaveLength(available);
			expect(got.filter((id) => revokedIds.has(id))).toEqual([]);
			const stock = (await store.stock('LIFE'))[0];
			expect(stock).toMatchObject({ available: 0, revoked: revokedIds.size, total: 200 });
			// free the pool for the following tests
			for (let i = 0; i < available; i++) await store.revoke({ orderId: `drain-${kind}-${i}`, returnUnsent: true });
			expect((await store.stock('LIFE'))[0].available).toBe(available);
		});

		it('a refund before the order was paid writes a tombstone: the late "paid" answers revoked (per line and order-wide)', async () => {
			const o1 = order();
			const [t1] = await store.revoke({ orderId: o1, sku: 'LIFE', reason: 'cancelled before payment' });
			expect(t1).toMatchObject({ orderId: o1, sku: 'LIFE', tombstone: true, alreadyRevoked: false, previousStatus: null, buyerSaw: false, keys: [], quantity: 0 });
			const late = await store.claim({ orderId: o1, sku: 'LIFE' });
			expect(late).toMatchObject({ delivered: false, reason: 'revoked' });
			expect((await store.revoke({ orderId: o1, sku: 'LIFE' }))[0]).toMatchObject({ tombstone: true, alreadyRevoked: true, reason: 'cancelled before payment' });

			const o2 = order();
			const [t2] = await store.revoke({ orderId: o2 });
			expect(t2).toMatchObject({ sku: '*', tombstone: true, alreadyRevoked: false });
			expect(await store.claim({ orderId: o2, sku: 'LIFE' })).toMatchObject({ delivered: false, reason: 'revoked' });
			expect((await store.revoke({ orderId: o2 }))[0]).toMatchObject({ sku: '*', tombstone: true, alreadyRevoked: true });
			expect((await store.revoke({ orderId: o2, sku: 'LIFE' }))[0]).toMatchObject({ tombstone: true, alreadyRevoked: true });
			// nothing was taken from stock
			expect(await keyRows(store, { delivery_id: t2.deliveryId })).toEqual([]);
			// the tombstone is not a delivery: not found by order, not stuck
			await expect(store.findDelivery({ orderId: o2 })).rejects.toThrow(/No delivery for order/);
		});

		it('refund of a whole order revokes every line and blocks lines not claimed yet', async () => {
			await store.upsertProduct({ sku: 'LINK', name: 'Course link', fixedContent: 'https://example.com/course?token=FIXED-SECRET' });
			const orderId = order();
			const a = await claimOne(store, orderId, 'LIFE');
			const b = await claimOne(store, orderId, 'LINK');
			const res = await store.revoke({ orderId, reason: 'refund' });
			expect(res.map((r) => [r.sku, r.tombstone, r.alreadyRevoked, r.previousStatus])).toEqual([['LIFE', false, false, 'claimed'], ['LINK', false, false, 'claimed']]);
			expect(res[0].revokedKeyIds).toEqual([a.keys[0].id]);
			expect(res[1]).toMatchObject({ deliveryId: b.id, revokedKeyIds: [], keys: [{ id: null, status: 'revoked', masked: 'http…CRET' }] });
			await store.importKeys({ sku: 'OTHER', keys: ['OTHER-KEY-0001'] });
			expect(await store.claim({ orderId, sku: 'OTHER' })).toMatchObject({ delivered: false, reason: 'revoked' });
			expect((await store.stock('OTHER'))[0].available).toBe(1);
			expect(await allText(store)).not.toContain('FIXED-SECRET');
		});

		it('a line committed just after a whole-order refund is revoked at its first send or ship, never handed over', async () => {
			// The outcome of that race, made on purpose: a live line beside an order-wide tombstone.
			const orderId = order();
			const d = await claimOne(store, orderId, 'LIFE');
			const now = Date.now();
			await internals(store).db(internals(store).t.deliveries).insert({ order_id: orderId, sku: '*', quantity: 0, status: 'revoked', created_at: now, updated_at: now, revoked_at: now, revoke_reason: 'refund R-9' });
			expect((await store.beginSend(d.id)).kind).toBe('revoked');
			const after = await store.findDelivery({ deliveryId: d.id });
			expect(after).toMatchObject({ status: 'revoked', revokeReason: 'refund R-9' });
			expect((await keyRows(store, { delivery_id: d.id })).map((k) => k.status)).toEqual(['revoked']);
			expect((await store.listEvents({ orderId, type: 'revoked' }))[0]).toMatchObject({ sku: 'LIFE', deliveryId: d.id, count: 1 });
			// and the shipper
			const o2 = order();
			const d2 = await claimOne(store, o2, 'LIFE');
			await internals(store).db(internals(store).t.deliveries).insert({ order_id: o2, sku: '*', quantity: 0, status: 'revoked', created_at: now, updated_at: now, revoked_at: now, revoke_reason: 'refund' });
			expect((await store.beginShip(d2.id, { requireSent: false })).kind).toBe('revoked');
			expect((await keyRows(store, { delivery_id: d2.id })).map((k) => k.status)).toEqual(['revoked']);
		});

		it('markShipped after a refund keeps the delivery revoked', async () => {
			const orderId = order();
			const d = await claimOne(store, orderId, 'LIFE');
			const s = await store.beginSend(d.id);
			if (s.kind !== 'go') throw new Error(s.kind);
			await store.markSent(d.id, s.token, { channel: 'email' });
			const sh = await store.beginShip(d.id);
			if (sh.kind !== 'go') throw new Error(sh.kind);
			await store.revoke({ orderId });
			const after = await store.markShipped(d.id, sh.token, { shopReference: 'SHIP-LATE' });
			expect(after.status).toBe('revoked');
			expect((await store.listEvents({ orderId, type: 'shipped' }))[0].details).toMatchObject({ afterRevoke: true });
		});

		it('bad input changes nothing', async () => {
			const before = await internals(store).db(internals(store).t.events).count({ c: '*' }).first();
			await expect(store.revoke({ orderId: '' })).rejects.toThrow(/Order ID is required/);
			await expect(store.revoke({ orderId: 'x', sku: '*' })).rejects.toThrow(/leave the SKU empty/);
			await expect(store.revoke({ orderId: 'x', reason: 'r'.repeat(300) })).rejects.toThrow(/too long/);
			await expect(store.findDelivery({ deliveryId: 'abc' })).rejects.toThrow(/Delivery ID must be a whole number/);
			await expect(store.findDelivery({ deliveryId: 999999 })).rejects.toThrow(/No delivery with ID 999999/);
			await expect(store.beginSend(999999)).rejects.toThrow(/No delivery with ID/);
			await expect(store.markSent(999999, null, { channel: 'email' })).rejects.toThrow(/No delivery with ID/);
			const after = await internals(store).db(internals(store).t.events).count({ c: '*' }).first();
			expect(Number(after?.c)).toBe(Number(before?.c));
		});
	});

	describeDb(kind, 'refunds racing claims of the same order line', () => {
		const cases: Array<{ name: string; orderWide: boolean; returnUnsent: boolean }> = [
			{ name: 'per line', orderWide: false, returnUnsent: false },
			{ name: 'per line, returning unsent keys', orderWide: false, returnUnsent: true },
			{ name: 'whole order', orderWide: true, returnUnsent: false },
		];
		for (const c of cases) {
			it(`${c.name}: 120 orders, claim and refund of each at once (24 in flight), in one process`, async () => {
				const cfg = storeConfig(kind);
				const store = await KeyStore.open(cfg);
				try {
					const pool = 150;
					await store.importKeys({ sku: 'RR', keys: Array.from({ length: pool }, (_, i) => `RR-${i}-${LIFE_KEY(i)}`) });
					const orders = Array.from({ length: 120 }, (_, i) => `RR-${i}`);
					const ops: Op[] = shuffle(
						orders.flatMap((o): Op[] => [
							{ op: 'claim', orderId: o, sku: 'RR' },
							{ op: 'revoke', orderId: o, sku: c.orderWide ? null : 'RR', returnUnsent: c.returnUnsent },
						]),
						orders.length + (c.orderWide ? 1 : 0),
					);
					const results = await runOps(store, ops, 24);
					const outcome = await assertRefundRaceOutcome(store, 'RR', orders, results, pool, c.returnUnsent);
					expect(outcome.claimedFirst + outcome.tombstoneFirst).toBe(120);
					// A refund of the line itself meets the claim on the (order, sku) unique key: nothing slips through.
					if (!c.orderWide) expect(outcome.stragglers).toBe(0);
					report(`${kind} ${c.name}`, outcome);
				} finally {
					await store.close();
					await dropStore(cfg);
				}
			});
		}

		it('per line and whole order: 4 OS processes in two pairs, each pair claiming and refunding the same 60 orders at once', async () => {
			const cfg = storeConfig(kind);
			const store = await KeyStore.open(cfg);
			try {
				const pool = 200;
				await store.importKeys({ sku: 'RP', keys: Array.from({ length: pool }, (_, i) => `RP-${i}-${LIFE_KEY(i)}`) });
				const orders = Array.from({ length: 120 }, (_, i) => `RP-${i}`);
				// Processes pair up (0,1) and (2,3) on the same orders with the same mix of work, so the claim
				// and the refund of one order run at the same moment: 0 claims what 1 refunds and vice versa.
				const claim = (o: string): Op => ({ op: 'claim', orderId: o, sku: 'RP' });
				const refund = (o: string, i: number): Op => ({ op: 'revoke', orderId: o, sku: i % 3 ? 'RP' : null });
				const half = (start: number) => orders.slice(start, start + 60);
				const lists = [0, 60].flatMap((start) => [
					half(start).map((o, i) => (i % 2 ? refund(o, i) : claim(o))),
					half(start).map((o, i) => (i % 2 ? claim(o) : refund(o, i))),
				]);
				const per = await raceOps(cfg, lists, 4);
				const outcome = await assertRefundRaceOutcome(store, 'RP', orders, per.flat(), pool, false);
				expect(outcome.claimedFirst + outcome.tombstoneFirst).toBe(120);
				report(`${kind} 4 processes`, outcome);
			} finally {
				await store.close();
				await dropStore(cfg);
			}
		});
	});
}
