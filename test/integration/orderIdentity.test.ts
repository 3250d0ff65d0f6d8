/**
 * An order line's identity is (shop, orderId, sku), ids compared byte for byte (DESIGN §3), on every
 * database: two shops' order 1001 are two orders; `ORD-X1` and `ord-x1`, `ord-e` and `ord-é` are
 * different orders (MariaDB's default collation said otherwise until migration 005); a store made
 * before 005 keeps its deliveries, and 005 refuses — changing nothing — when existing rows would
 * collide under the new identity.
 */
import * as fs from 'fs';
import * as path from 'path';

import type { Knex } from 'knex';

import { createKnexFor } from '../../nodes/core/store';
import { type ClaimResult, type DeliveryWithKeys, KeyStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { addToBlocklist, approveHeld, evaluateRisk } from '../../nodes/core/risk';
import { KeyStoreMigrations, tableNames } from '../../nodes/core/store/schema';
import { type DbKind, describeDb, dropStore, makeKeys, storeConfig, useStore } from '../helpers/db';

const delivered = (r: ClaimResult): DeliveryWithKeys => {
	if (!r.delivered) throw new Error(`not delivered: ${r.reason}`);
	return r.delivery;
};
const keyIds = (d: DeliveryWithKeys) => d.keys.map((k) => k.id);

for (const kind of ['sqlite', 'postgres', 'mysql'] as DbKind[]) {
	describeDb(kind, 'order identity (shop, orderId, sku)', () => {
		const cfg = storeConfig(kind);
		let store: KeyStore;

		useStore(cfg, (s) => (store = s));

		it('the same order ID and SKU from two shops (and the default shop) are three orders: own keys, own replays, own refunds', async () => {
			await store.importKeys({ sku: 'TWO-SHOPS', keys: makeKeys(10, 'TS') });
			const a = delivered(await store.claim({ shop: 'taobao:a', orderId: '1001', sku: 'TWO-SHOPS', buyer: { email: 'a@example.com' } }));
			const b = delivered(await store.claim({ shop: 'woocommerce:b', orderId: '1001', sku: 'TWO-SHOPS', buyer: { email: 'b@example.com' } }));
			const none = delivered(await store.claim({ orderId: '1001', sku: 'TWO-SHOPS', buyer: { email: 'c@example.com' } }));
			expect([a.shop, b.shop, none.shop]).toEqual(['taobao:a', 'woocommerce:b', null]);
			expect(new Set([a.id, b.id, none.id]).size).toBe(3);
			expect(new Set([...keyIds(a), ...keyIds(b), ...keyIds(none)]).size).toBe(3);
			expect(b.buyer.email).toBe('b@example.com');

			// replays answer each shop's own delivery
			const againB = await store.claim({ shop: 'woocommerce:b', orderId: '1001', sku: 'TWO-SHOPS' });
			expect(againB).toMatchObject({ delivered: true, alreadyDelivered: true, delivery: { id: b.id, buyer: { email: 'b@example.com' } } });
			const againNone = await store.claim({ shop: '', orderId: '1001', sku: 'TWO-SHOPS' });
			expect(againNone).toMatchObject({ delivered: true, alreadyDelivered: true, delivery: { id: none.id } });

			// lookups by order are per shop
			expect((await store.findDelivery({ shop: 'taobao:a', orderId: '1001' })).id).toBe(a.id);
			expect((await store.getDeliveries({ orderId: '1001' })).map((d) => d.id)).toEqual([none.id]);
			await expect(store.findDelivery({ shop: 'jd:c', orderId: '1001' })).rejects.toThrow(/No delivery for order 1001 of shop jd:c .*exists in .*"taobao:a"/);

			// a refund in shop A touches shop A only
			const [revoked] = await store.revoke({ shop: 'taobao:a', orderId: '1001' });
			expect(revoked).toMatchObject({ shop: 'taobao:a', deliveryId: a.id, previousStatus: 'claimed', alreadyRevoked: false });
			expect((await store.getDeliveryById(b.id))?.status).toBe('claimed');
			expect((await store.getDeliveryById(none.id))?.status).toBe('claimed');
			expect((await store.getDeliveryById(b.id))?.keys.every((k) => k.status === 'assigned')).toBe(true);

			// a refund before payment blocks that shop's order only
			await store.revoke({ shop: 'taobao:a', orderId: '2002' });
			expect(await store.claim({ shop: 'taobao:a', orderId: '2002', sku: 'TWO-SHOPS' })).toMatchObject({ delivered: false, reason: 'revoked', shop: 'taobao:a' });
			expect((await store.claim({ shop: 'woocommerce:b', orderId: '2002', sku: 'TWO-SHOPS' })).delivered).toBe(true);

			// the audit trail tells them apart
			const events = await store.listEvents({ shop: 'woocommerce:b', orderId: '1001' });
			expect(events.map((e) => e.type)).toEqual(['claimed']);
			expect(events[0]).toMatchObject({ shop: 'woocommerce:b', deliveryId: b.id });
		});

		it('19-digit order ids that are one double apart are three orders, stored and answered with their exact digits', async () => {
			const ids = ['2840188394502391201', '2840188394502391202', '2840188394502391250'];
			await store.importKeys({ sku: 'LONG-ID', keys: makeKeys(3, 'LI') });
			const ds = await Promise.all(ids.map((orderId) => store.claim({ orderId, sku: 'LONG-ID' }).then(delivered)));
			expect(ds.map((d) => d.orderId)).toEqual(ids);
			expect(new Set(ds.map((d) => d.id)).size).toBe(3);
			for (const id of ids) expect((await store.findDelivery({ orderId: id })).orderId).toBe(id);
			const raw = (await internals(store).db(internals(store).t.deliveries).whereIn('order_id', ids).select('order_id')) as Array<{ order_id: unknown }>;
			expect(raw.map((r) => r.order_id).sort()).toEqual(ids);
		});

		it('the send and ship leases, resend and stuck lists follow the delivery of the right shop', async () => {
			await store.importKeys({ sku: 'LEASE', keys: makeKeys(4, 'LS') });
			const a = delivered(await store.claim({ shop: 'A', orderId: 'L-1', sku: 'LEASE' }));
			const b = delivered(await store.claim({ shop: 'B', orderId: 'L-1', sku: 'LEASE' }));
			const go = await store.beginSend(a.id);
			if (go.kind !== 'go') throw new Error(go.kind);
			await store.markSent(a.id, go.token, { channel: 'email' });
			expect((await store.beginShip(b.id)).kind).toBe('not_sent'); // B was never sent: no fake shipping for B
			const ship = await store.beginShip(a.id);
			expect(ship.kind).toBe('go');
			if (ship.kind === 'go') await store.markShipped(a.id, ship.token, { shopReference: 'R-A' });
			expect((await store.findDelivery({ shop: 'A', orderId: 'L-1' })).status).toBe('shipped');
			expect((await store.findDelivery({ shop: 'B', orderId: 'L-1' })).status).toBe('claimed');
		});

		it('Risk Check counts (shop, order) as one order, records and approves per shop', async () => {
			const rules = { perBuyer: { max: 2, windowMinutes: 60, action: 'review' as const }, amount: { threshold: 500, action: 'review' as const } };
			const buyerId = `buyer-${kind}-${Date.now()}`;
			// the same order ID in two shops is two orders of this buyer; each line of an order counts once
			expect((await evaluateRisk(store, { shop: 'A', orderId: 'R-1', line: 'X', buyerId }, rules)).decision).toBe('pass');
			expect((await evaluateRisk(store, { shop: 'A', orderId: 'R-1', line: 'Y', buyerId }, rules)).decision).toBe('pass');
			expect((await evaluateRisk(store, { shop: 'B', orderId: 'R-1', line: 'X', buyerId }, rules)).decision).toBe('pass');
			const third = await evaluateRisk(store, { shop: 'C', orderId: 'R-1', line: 'X', buyerId }, rules);
			expect(third).toMatchObject({ decision: 'review', shop: 'C', replayed: false });
			expect(third.reasons[0].message).toMatch(/3 within 60 minutes/);
			// held in shop C only: approving it in shop B (or the default shop) is refused, in C it works
			await expect(approveHeld(store, { shop: 'B', orderId: 'R-1', line: 'X' })).rejects.toThrow(/passed Risk Check/);
			await expect(approveHeld(store, { orderId: 'R-1', line: 'X' })).rejects.toThrow(/never checked/);
			expect(await approveHeld(store, { shop: 'C', orderId: 'R-1', line: 'X' })).toMatchObject({ shop: 'C', orderId: 'R-1', sku: 'X', risk: { approved: true } });
		});

		it('ids differing only in case, accents or width are different orders, products and blocklist entries — raced at once', async () => {
			const variants = ['ORD-X1', 'ord-x1', 'Ord-X1', 'ord-e', 'ord-é', 'ord-è', 'ORD-É', 'ord-ｅ', 'straße', 'strasse', 'ab12', 'AB12'];
			await store.importKeys({ sku: 'CASE', keys: makeKeys(variants.length + 5, 'CS') });
			// every variant 4 times, all at once
			const claims = variants.flatMap((orderId) => Array.from({ length: 4 }, () => ({ orderId, sku: 'CASE' })));
			const results = await Promise.all(claims.map((c) => store.claim({ ...c, reveal: true })));
			const byOrder = new Map<string, Set<number>>();
			for (const [i, r] of results.entries()) {
				const d = delivered(r);
				expect(d.orderId).toBe(claims[i].orderId); // never another variant's delivery
				const set = byOrder.get(d.orderId) ?? new Set<number>();
				set.add(d.id);
				byOrder.set(d.orderId, set);
			}
			expect(byOrder.size).toBe(variants.length);
			for (const ids of byOrder.values()) expect(ids.size).toBe(1); // replays of one order share one delivery
			const keys = new Set(results.map((r) => delivered(r).keys[0].id));
			expect(keys.size).toBe(variants.length); // a different key per variant
			expect((await store.stock('CASE'))[0]).toMatchObject({ assigned: variants.length, available: 5 });

			// a refund of AB12 leaves ab12 alone
			await store.revoke({ orderId: 'AB12' });
			expect((await store.findDelivery({ orderId: 'ab12' })).status).toBe('claimed');
			expect((await store.findDelivery({ orderId: 'AB12' })).status).toBe('revoked');

			// SKUs too: sku-a and SKU-A are two products with their own stock
			await store.importKeys({ sku: 'sku-a', keys: makeKeys(1, 'lower') });
			await store.importKeys({ sku: 'SKU-A', keys: makeKeys(2, 'UPPER') });
			expect((await store.stock('sku-a'))[0].available).toBe(1);
			expect((await store.stock('SKU-A'))[0].available).toBe(2);
			expect(await store.claim({ orderId: 'S-1', sku: 'Sku-A' })).toMatchObject({ delivered: false, reason: 'unknown_sku' });

			// blocklisted buyer "Mallory" does not block buyer "mallory"
			await addToBlocklist(store, { kind: 'buyer', value: 'Mallory' });
			const rules = { blocklist: { action: 'reject' as const } };
			expect((await evaluateRisk(store, { orderId: 'BL-1', buyerId: 'Mallory' }, rules)).decision).toBe('reject');
			expect((await evaluateRisk(store, { orderId: 'BL-2', buyerId: 'mallory' }, rules)).decision).toBe('pass');
		});
	});

	describeDb(kind, 'migration 005 (order identity) on a store made before it', () => {
		const cfg = storeConfig(kind);
		const t = tableNames(cfg.tablePrefix ?? 'ad_');
		const source = new KeyStoreMigrations(t);
		let db: Knex;

		/** The store as 004 left it: identity (order_id, sku), shop NULL where none was given. */
		async function storeAt004(): Promise<void> {
			if (cfg.sqlitePath) fs.mkdirSync(path.dirname(cfg.sqlitePath), { recursive: true }); // afterEach removed it
			db = createKnexFor(cfg);
			for (let i = 0; i < 4; i++) await db.migrate.up({ migrationSource: source, tableName: t.migrations });
			const [, pending] = (await db.migrate.list({ migrationSource: source, tableName: t.migrations })) as [unknown[], Array<{ name: string }>];
			expect(pending.map((m) => m.name)).toEqual(['005_order_identity', '006_buyer_side', '007_external_api_claim']);
		}

		afterEach(async () => {
			await db?.destroy();
			await dropStore(cfg);
		});

		it('keeps every delivery: rows without a shop join the default shop, replays find them, new shops are separate', async () => {
			await storeAt004();
			const now = Date.now();
			const row = (order_id: string, sku: string, shop: string | null) => ({ order_id, sku, shop, quantity: 1, status: 'sent', created_at: now, updated_at: now, sent_at: now });
			await db(t.deliveries).insert([row('OLD-1', 'P', null), row('OLD-2', 'P', 'helloworld')]);
			if (kind === 'mysql') {
				// what issue point 1 was about: before 005 MariaDB's default collation calls these equal
				await expect(db(t.deliveries).insert(row('old-1', 'P', null))).rejects.toThrow(/Duplicate entry/);
				await expect(db(t.deliveries).insert(row('OLD-1', 'p', null))).rejects.toThrow(/Duplicate entry/);
			}
			await db.destroy();

			const store = await KeyStore.open(cfg);
			try {
				await store.importKeys({ sku: 'P', keys: makeKeys(3, 'P') });
				const old1 = await store.claim({ orderId: 'OLD-1', sku: 'P' });
				expect(old1).toMatchObject({ delivered: true, alreadyDelivered: true, delivery: { shop: null, status: 'sent' } });
				const old2 = await store.claim({ shop: 'helloworld', orderId: 'OLD-2', sku: 'P' });
				expect(old2).toMatchObject({ delivered: true, alreadyDelivered: true, delivery: { shop: 'helloworld', status: 'sent' } });
				expect(await store.claim({ orderId: 'old-1', sku: 'P' })).toMatchObject({ delivered: true, alreadyDelivered: false });
				expect(await store.claim({ shop: 'other', orderId: 'OLD-2', sku: 'P' })).toMatchObject({ delivered: true, alreadyDelivered: false });
				const nulls = await internals(store).db(internals(store).t.deliveries).whereNull('shop').count({ c: '*' }).first();
				expect(Number(nulls?.c)).toBe(0);
				if (kind === 'mysql') {
					const [cols] = (await internals(store).db.raw(
						`SELECT TABLE_NAME AS tn, COLUMN_NAME AS cn, COLLATION_NAME AS coll FROM information_schema.COLUMNS
						 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE ? AND COLLATION_NAME IS NOT NULL`,
						[`${cfg.tablePrefix}%`],
					)) as [Array<{ tn: string; cn: string; coll: string }>];
					const ours = cols.filter((c) => !c.tn.startsWith(t.migrations));
					expect(ours.length).toBeGreaterThan(20);
					expect(ours.filter((c) => !/_bin$/.test(c.coll))).toEqual([]);
				}
			} finally {
				await store.close();
			}
		});

		it('refuses, naming the rows and changing nothing, when existing rows would collide under the new identity', async () => {
			await storeAt004();
			// Two rows that only the old key told apart: (NULL shop, 'DUP', 'P') and ('' shop, 'DUP', 'P') — possible
			// only without the old unique index (e.g. a hand-edited store), but 005 must not merge them silently.
			await db.schema.alterTable(t.deliveries, (tb) => tb.dropUnique(['order_id', 'sku'], `${t.deliveries}_order_sku_uq`));
			const now = Date.now();
			await db(t.deliveries).insert([
				{ order_id: 'DUP', sku: 'P', shop: null, quantity: 1, status: 'claimed', created_at: now, updated_at: now },
				{ order_id: 'DUP', sku: 'P', shop: '', quantity: 1, status: 'claimed', created_at: now, updated_at: now },
			]);
			await db.destroy();
			const refused = await KeyStore.open(cfg).then(
				async (s) => {
					await s.close();
					return null;
				},
				(e: Error) => e.message,
			);
			expect(refused).toContain('cannot switch to exact');
			expect(refused).toContain(`${t.deliveries} (shop, order_id, sku) = ("", "DUP", "P")`);
			expect(refused).toContain('Nothing was changed');
			db = createKnexFor(cfg);
			const [, pending] = (await db.migrate.list({ migrationSource: source, tableName: t.migrations })) as [unknown[], Array<{ name: string }>];
			expect(pending.map((m) => m.name)).toEqual(['005_order_identity', '006_buyer_side', '007_external_api_claim']);
			expect(Number((await db(t.deliveries).where({ order_id: 'DUP' }).count({ c: '*' }).first())?.c)).toBe(2);
			expect(Number((await db(t.deliveries).whereNull('shop').count({ c: '*' }).first())?.c)).toBe(1);
		});
	});
}
