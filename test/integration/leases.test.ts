/**
 * Send and ship leases against real databases (SQLite files, PostgreSQL, MariaDB) — store/leases.ts,
 * DESIGN §1 promises 3 and 4: one sender at a time, failures scrubbed of keys, a delivery is
 * shipped only after a recorded send (or an explicit seller override, recorded as such).
 */
import { KeyStore } from '../../nodes/core/store';
import { type DbKind, describeDb, storeConfig, useStore } from '../helpers/db';
import { LIFE_KEY, allText, claimOne } from '../helpers/lifecycle';

for (const kind of ['sqlite', 'postgres', 'mysql'] as DbKind[]) {
	describeDb(kind, 'send and ship leases', () => {
		const cfg = storeConfig(kind);
		let store: KeyStore;
		let n = 0;
		useStore(cfg, (s) => (store = s), (s) => s.importKeys({ sku: 'LIFE', keys: Array.from({ length: 200 }, (_, i) => LIFE_KEY(i)), productName: 'Lifecycle' }));
		const order = () => `L-${kind}-${++n}`;
		it('send lease: one sender at a time, failures scrubbed of keys, sent recorded, resend counted', async () => {
			const d = await claimOne(store, order(), 'LIFE');
			const first = await store.beginSend(d.id, { leaseMs: 60000 });
			expect(first.kind).toBe('go');
			if (first.kind !== 'go') return;
			const plain = first.delivery.keys[0].key as string;
			expect(plain).toMatch(/^LIFE-/);
			// A second sender waits, then gives up while the lease is held.
			expect((await store.beginSend(d.id, { waitMs: 60 })).kind).toBe('busy');
			const failed = await store.markSendFailed(d.id, first.token, { channel: 'email', error: `550 mailbox full, message was: your key is ${plain}` });
			expect(failed.status).toBe('claimed');
			expect(failed.lastError).toContain('550 mailbox full');
			expect(failed.lastError).not.toContain(plain);
			const second = await store.beginSend(d.id);
			expect(second.kind).toBe('go');
			if (second.kind !== 'go') return;
			const sent = await store.markSent(d.id, second.token, { channel: 'email', messageId: '<m1@example.com>' });
			expect(sent).toMatchObject({ status: 'sent', sentChannel: 'email', sentMessageId: '<m1@example.com>', sendCount: 1, lastError: null });
			expect(sent.sentAt).not.toBeNull();
			const again = await store.beginSend(d.id);
			expect(again.kind).toBe('already_sent');
			expect(again.delivery.keys[0].key).toBeUndefined(); // not revealed when nothing is sent
			const resend = await store.beginSend(d.id, { resend: true });
			expect(resend.kind).toBe('go');
			if (resend.kind !== 'go') return;
			const resent = await store.markSent(d.id, resend.token, { channel: 'webhook', messageId: 'r2' });
			expect(resent).toMatchObject({ status: 'sent', sendCount: 2, sentAt: sent.sentAt, sentChannel: 'webhook' });
			const events = await store.listEvents({ orderId: d.orderId });
			expect(events.map((e) => e.type).sort()).toEqual(['claimed', 'send_failed', 'sent', 'sent']);
			expect(JSON.stringify(events)).not.toContain(plain);
			expect(await allText(store)).not.toContain(plain);
		});

		it('twenty concurrent senders of one delivery: exactly one sends, the others see already_sent', async () => {
			const d = await claimOne(store, order(), 'LIFE');
			let sends = 0;
			const outcomes = await Promise.all(
				Array.from({ length: 20 }, async () => {
					const b = await store.beginSend(d.id);
					if (b.kind === 'go') {
						sends++;
						await store.markSent(d.id, b.token, { channel: 'email', messageId: `m-${sends}` });
					}
					return b.kind;
				}),
			);
			expect(sends).toBe(1);
			expect(outcomes.filter((k) => k === 'go')).toHaveLength(1);
			expect(outcomes.filter((k) => k === 'already_sent')).toHaveLength(19);
			expect((await store.findDelivery({ deliveryId: d.id })).sendCount).toBe(1);
		});

		it('ship lease: refused before the send (fake shipping), one shop call per delivery, idempotent', async () => {
			const d = await claimOne(store, order(), 'LIFE');
			const early = await store.beginShip(d.id);
			expect(early.kind).toBe('not_sent');
			expect((await store.listEvents({ orderId: d.orderId, type: 'ship_refused' }))).toHaveLength(1);
			const s = await store.beginSend(d.id);
			if (s.kind !== 'go') throw new Error(s.kind);
			await store.markSent(d.id, s.token, { channel: 'email' });
			const ship = await store.beginShip(d.id, { reveal: true });
			expect(ship.kind).toBe('go');
			if (ship.kind !== 'go') return;
			const plain = ship.delivery.keys[0].key as string;
			expect((await store.beginShip(d.id, { waitMs: 60 })).kind).toBe('busy');
			const failed = await store.markShipFailed(d.id, ship.token, { error: `HTTP 502 echo ${plain}`, status: 502 });
			expect(failed.status).toBe('sent');
			expect(failed.lastError).toContain('HTTP 502');
			expect(failed.lastError).not.toContain(plain);
			// Ten concurrent shippers: exactly one gets to call the shop.
			let calls = 0;
			const kinds = await Promise.all(
				Array.from({ length: 10 }, async () => {
					const b = await store.beginShip(d.id);
					if (b.kind === 'go') {
						calls++;
						await store.markShipped(d.id, b.token, { shopReference: `SHIP-${calls}` });
					}
					return b.kind;
				}),
			);
			expect(calls).toBe(1);
			expect(kinds.filter((k) => k === 'already_shipped')).toHaveLength(9);
			const shipped = await store.findDelivery({ deliveryId: d.id });
			expect(shipped).toMatchObject({ status: 'shipped', shopReference: 'SHIP-1', shipAttempts: 2 });
			expect(shipped.sentAt).not.toBeNull();
			expect((await store.beginShip(d.id)).kind).toBe('already_shipped');
			// A shipped delivery is still sent: no second message without an explicit resend.
			expect((await store.beginSend(d.id)).kind).toBe('already_sent');
			expect(await allText(store)).not.toContain(plain);
		});

		it('shipping without a recorded send (seller override) is marked as such and the buyer can still be sent the keys', async () => {
			const d = await claimOne(store, order(), 'LIFE');
			const ship = await store.beginShip(d.id, { requireSent: false });
			if (ship.kind !== 'go') throw new Error(ship.kind);
			await store.markShipped(d.id, ship.token, { recordOnly: true });
			const ev = await store.listEvents({ orderId: d.orderId, type: 'shipped' });
			expect(ev[0].details).toMatchObject({ recordOnly: true, withoutRecordedSend: true });
			// Nothing was ever sent: the first send is not "already sent".
			const send = await store.beginSend(d.id);
			expect(send.kind).toBe('go');
			if (send.kind !== 'go') return;
			const after = await store.markSent(d.id, send.token, { channel: 'email' });
			expect(after).toMatchObject({ status: 'shipped', sendCount: 1 });
			expect((await store.beginSend(d.id)).kind).toBe('already_sent');
		});
	});
}
