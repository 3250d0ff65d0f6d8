/**
 * Stock Alert's core (nodes/core/alerts.ts) against real databases: thresholds, alert once per
 * crossing (also when checks run at the same time, in one process and across OS processes),
 * re-arming after a restock, and deliveries whose records do not match reality.
 */
import { checkStock, stuckDeliveries } from '../../nodes/core/alerts';
import { KeyStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { type DbKind, describeDb, dropStore, makeKeys, storeConfig, useStore } from '../helpers/db';
import { type Op, raceOps } from './workers/opsWorker';

const MIN = 60000;

for (const kind of ['sqlite', 'postgres', 'mysql'] as DbKind[]) {
	describeDb(kind, 'stock alerts', () => {
		const cfg = storeConfig(kind);
		let store: KeyStore;
		let n = 0;
		const claim = async (sku: string, quantity = 1) => {
			const r = await store.claim({ orderId: `SA-${kind}-${++n}`, sku, quantity });
			if (!r.delivered) throw new Error(r.reason);
			return r.delivery;
		};
		useStore(cfg, (s) => (store = s));

		it('alerts once when a sku crosses into low, once more into empty, re-arms after a restock', async () => {
			await store.importKeys({ sku: 'CROSS', keys: makeKeys(5, 'CR'), productName: 'Crossing' });
			await store.upsertProduct({ sku: 'CROSS', lowStockThreshold: 3 });
			expect(await checkStock(store, { defaultThreshold: 10, skus: ['CROSS'] })).toEqual([]); // 5 > 3 (the product's threshold wins)
			await claim('CROSS', 2); // 3 left: low
			const low = await checkStock(store, { defaultThreshold: 10, skus: ['CROSS'] });
			expect(low).toEqual([
				{ sku: 'CROSS', name: 'Crossing', available: 3, threshold: 3, thresholdSource: 'product', state: 'low', previousState: 'ok', alert: true, message: 'Crossing (CROSS) is running low: 3 key(s) left (threshold 3).' },
			]);
			expect(await checkStock(store, { defaultThreshold: 10, skus: ['CROSS'] })).toEqual([]); // once per crossing
			await claim('CROSS');
			expect(await checkStock(store, { defaultThreshold: 10, skus: ['CROSS'] })).toEqual([]); // still low: no new crossing
			await claim('CROSS', 2); // 0 left
			const empty = await checkStock(store, { defaultThreshold: 10, skus: ['CROSS'] });
			expect(empty).toEqual([expect.objectContaining({ state: 'empty', previousState: 'low', alert: true, available: 0, message: expect.stringMatching(/out of stock/) })]);
			expect(await checkStock(store, { defaultThreshold: 10, skus: ['CROSS'] })).toEqual([]);
			// restock to 2 (still low): recorded silently, no alert
			await store.importKeys({ sku: 'CROSS', keys: makeKeys(2, 'CR2') });
			expect(await checkStock(store, { defaultThreshold: 10, skus: ['CROSS'] })).toEqual([]);
			// restock above the threshold: re-armed
			await store.importKeys({ sku: 'CROSS', keys: makeKeys(10, 'CR3') });
			const report = await checkStock(store, { defaultThreshold: 10, skus: ['CROSS'], reportAll: true });
			expect(report).toEqual([expect.objectContaining({ state: 'ok', previousState: 'low', alert: false })]);
			await claim('CROSS', 9); // 3 left: low again
			expect(await checkStock(store, { defaultThreshold: 10, skus: ['CROSS'] })).toEqual([expect.objectContaining({ state: 'low', previousState: 'ok', alert: true })]);
			const events = await store.listEvents({ sku: 'CROSS', type: 'alert' });
			expect(events.map((e) => e.details?.state)).toEqual(['low', 'empty', 'low']);
		});

		it('uses the default threshold when the product has none; Report Every SKU lists all; fixed content never runs out', async () => {
			await store.importKeys({ sku: 'DEF-A', keys: makeKeys(4, 'DA') });
			await store.importKeys({ sku: 'DEF-B', keys: makeKeys(20, 'DB') });
			await store.upsertProduct({ sku: 'DEF-C', name: 'No keys yet' });
			await store.upsertProduct({ sku: 'DEF-LINK', name: 'Link', fixedContent: 'https://example.com/x' });
			const skus = ['DEF-A', 'DEF-B', 'DEF-C', 'DEF-LINK'];
			const first = await checkStock(store, { defaultThreshold: 5, skus });
			expect(first.map((r) => [r.sku, r.state, r.thresholdSource, r.alert])).toEqual([['DEF-A', 'low', 'default', true], ['DEF-C', 'empty', 'default', true]]);
			const all = await checkStock(store, { defaultThreshold: 5, skus, reportAll: true });
			expect(all.map((r) => [r.sku, r.state, r.alert])).toEqual([['DEF-A', 'low', false], ['DEF-B', 'ok', false], ['DEF-C', 'empty', false]]);
			expect(all[1].message).toBe('DEF-B (DEF-B): 20 key(s) available (threshold 5).');
			await expect(checkStock(store, { defaultThreshold: -1 })).rejects.toThrow(/whole number of at least 0/);
		});

		it('ten checks at the same moment after a crossing: exactly one alert per sku', async () => {
			await store.importKeys({ sku: 'RACE-A', keys: makeKeys(2, 'RA') });
			await store.importKeys({ sku: 'RACE-B', keys: makeKeys(1, 'RB') });
			await store.upsertProduct({ sku: 'RACE-B', lowStockThreshold: 0 });
			await claim('RACE-B'); // empty
			const results = await Promise.all(Array.from({ length: 10 }, () => checkStock(store, { defaultThreshold: 5, skus: ['RACE-A', 'RACE-B'] })));
			const alerts = results.flat().filter((r) => r.alert);
			expect(alerts.map((a) => `${a.sku}:${a.state}`).sort()).toEqual(['RACE-A:low', 'RACE-B:empty']);
			expect(await store.listEvents({ sku: 'RACE-A', type: 'alert' })).toHaveLength(1);
			expect(await store.listEvents({ sku: 'RACE-B', type: 'alert' })).toHaveLength(1);
		});

		it('deliveries claimed but not sent for N minutes, and sent but not shipped for M minutes', async () => {
			await store.importKeys({ sku: 'STUCK', keys: makeKeys(10, 'ST') });
			const fresh = await claim('STUCK');
			const oldClaim = await claim('STUCK');
			const oldSent = await claim('STUCK');
			const shipped = await claim('STUCK');
			const refunded = await claim('STUCK');
			const t = internals(store).t;
			const now = Date.now();
			// age them in the database
			for (const d of [oldClaim, oldSent, shipped, refunded]) await internals(store).db(t.deliveries).where({ id: d.id }).update({ created_at: now - 240 * MIN });
			const send = async (id: number) => {
				const b = await store.beginSend(id);
				if (b.kind !== 'go') throw new Error(b.kind);
				await store.markSent(id, b.token, { channel: 'email' });
			};
			// a failed send on the old claim: its (scrubbed) error is reported
			const b = await store.beginSend(oldClaim.id);
			if (b.kind !== 'go') throw new Error(b.kind);
			await store.markSendFailed(oldClaim.id, b.token, { channel: 'email', error: `SMTP 451 for ${b.delivery.keys[0].key}` });
			await send(oldSent.id);
			await send(shipped.id);
			const s = await store.beginShip(shipped.id);
			if (s.kind !== 'go') throw new Error(s.kind);
			await store.markShipped(shipped.id, s.token, { shopReference: 'R' });
			await store.revoke({ orderId: refunded.orderId });
			await store.revoke({ orderId: `never-paid-${kind}` }); // tombstone
			for (const d of [oldSent, shipped]) await internals(store).db(t.deliveries).where({ id: d.id }).update({ sent_at: now - 90 * MIN });

			const stuck = (await stuckDeliveries(store, { notSentMinutes: 30, notShippedMinutes: 60 })).filter((x) => x.sku === 'STUCK');
			expect(stuck.map((x) => [x.problem, x.deliveryId])).toEqual([['not_sent', oldClaim.id], ['not_shipped', oldSent.id]]);
			expect(stuck[0]).toMatchObject({ orderId: oldClaim.orderId, status: 'claimed', quantity: 1, sentAt: null, lastError: expect.stringContaining('SMTP 451') });
			expect(stuck[0].ageMinutes).toBeGreaterThanOrEqual(240);
			expect(stuck[0].message).toMatch(/keys claimed \d+ min ago but never sent to the buyer \(last error: SMTP 451/);
			expect(stuck[0].lastError).not.toContain(b.delivery.keys[0].key as string);
			expect(stuck[1]).toMatchObject({ status: 'sent', ageMinutes: expect.any(Number) });
			expect(stuck[1].ageMinutes).toBeGreaterThanOrEqual(90);
			expect(stuck[1].message).toMatch(/sent \d+ min ago but not marked shipped on the shop/);
			// only one check, or thresholds not reached yet
			expect((await stuckDeliveries(store, { notSentMinutes: 30 })).filter((x) => x.sku === 'STUCK').map((x) => x.problem)).toEqual(['not_sent']);
			expect((await stuckDeliveries(store, { notSentMinutes: 300, notShippedMinutes: 120 })).filter((x) => x.sku === 'STUCK')).toEqual([]);
			expect(fresh.id).toBeGreaterThan(0);
			await expect(stuckDeliveries(store, { notSentMinutes: -5 })).rejects.toThrow(/at least 0/);
		});
	});

	describeDb(kind, 'stock alerts across OS processes', () => {
		it('4 processes × 3 checks at once after two skus crossed: exactly one alert per sku', async () => {
			const cfg = storeConfig(kind);
			const store = await KeyStore.open(cfg);
			try {
				await store.importKeys({ sku: 'MP-LOW', keys: makeKeys(3, 'ML') });
				await store.importKeys({ sku: 'MP-OK', keys: makeKeys(30, 'MO') });
				await store.upsertProduct({ sku: 'MP-EMPTY', name: 'Empty' });
				const ops: Op[] = [{ op: 'checkStock', defaultThreshold: 5 }, { op: 'checkStock', defaultThreshold: 5 }, { op: 'checkStock', defaultThreshold: 5 }];
				const per = await raceOps(cfg, [ops, ops, ops, ops], 3);
				const all = per.flat();
				expect(all.filter((r) => r.error)).toEqual([]);
				expect(all.flatMap((r) => r.alerts ?? []).map((a) => `${a.sku}:${a.state}`).sort()).toEqual(['MP-EMPTY:empty', 'MP-LOW:low']);
				expect(await store.listEvents({ type: 'alert' })).toHaveLength(2);
			} finally {
				await store.close();
				await dropStore(cfg);
			}
		});
	});
}
