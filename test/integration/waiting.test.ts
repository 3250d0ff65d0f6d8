/**
 * Buyers hear about delays (issue 14 part 3) against real databases (SQLite files, PostgreSQL,
 * MariaDB) and a real SMTP peer: waiting order lines (store/waiting.ts), the completion of a SKU's
 * waiting lines in order of payment, the delay notice at most once per order (store/notices.ts,
 * delivery/delay.ts), refunds and rejections cancelling waiting lines.
 */
import { DelayNoticeError, sendDelayNotice, type DelayNoticeResult, type EmailChannel } from '../../nodes/core/delivery';
import { evaluateRisk, settleWaiting } from '../../nodes/core/risk';
import { KeyStore, type WaitingLine } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { type DbKind, describeDb, storeConfig, useStore } from '../helpers/db';
import { startSmtpServer, type SmtpPeer } from '../helpers/smtpServer';
import { raceDelays, type DelayWork } from './workers/delayWorker';

const key = (sku: string, i: number) => `${sku}-KEY-${String(i).padStart(4, '0')}-${(i * 7919 + sku.length).toString(36).toUpperCase()}X`;
const keys = (sku: string, from: number, n: number) => Array.from({ length: n }, (_, i) => key(sku, from + i));
const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);

let smtp: SmtpPeer;
beforeAll(async () => {
	smtp = await startSmtpServer();
});
afterAll(async () => {
	await smtp?.close();
});

const email = (over: Partial<EmailChannel> = {}): EmailChannel => ({ kind: 'email', smtp: { host: smtp.host, port: smtp.port, security: 'none', from: 'Shop <shop@example.com>' }, ...over });

for (const kind of ['sqlite', 'postgres', 'mysql'] as DbKind[]) {
	describeDb(kind, 'waiting lines, completion and delay notices', () => {
		const cfg = storeConfig(kind);
		let store: KeyStore;
		let n = 0;
		useStore(cfg, (s) => (store = s));
		const tag = () => `${kind}-${++n}`;
		const product = async (sku: string, delayNotice = true, expectedWithin: string | null = '2 小时 / 2 hours') =>
			store.upsertProduct({ sku, name: `Product ${sku}`, settings: { delayNotice, expectedWithin } });
		beforeEach(() => smtp.clear());

		it('holds an order line once, even when twenty holds of it race; a delivered or cancelled line stays so', async () => {
			const sku = `H-${tag()}`;
			await product(sku);
			const results = await Promise.all(
				Array.from({ length: 20 }, () => store.holdLine({ orderId: 'O1', sku, quantity: 2, reason: 'out_of_stock', buyer: { email: 'b@example.com' }, paidAt: T0 })),
			);
			expect(results.filter((r) => r.created)).toHaveLength(1);
			expect(new Set(results.map((r) => r.line.id)).size).toBe(1);
			const rows = await internals(store).db(internals(store).t.waiting).where({ sku });
			expect(rows).toHaveLength(1);
			expect((await store.listEvents({ orderId: 'O1', type: 'waiting' })).filter((e) => e.sku === sku)).toHaveLength(1);
			// the reason follows while it waits (approved, then out of stock)
			expect((await store.holdLine({ orderId: 'O1', sku, reason: 'review' })).line.reason).toBe('review');
			expect(await store.endWaiting({ orderId: 'O1', sku }, 'cancelled')).toBe(true);
			expect(await store.endWaiting({ orderId: 'O1', sku }, 'cancelled')).toBe(false);
			const again = await store.holdLine({ orderId: 'O1', sku, reason: 'out_of_stock' });
			expect(again).toMatchObject({ created: false, line: { status: 'cancelled', reason: 'review' } });
			// bad input changes nothing
			await expect(store.holdLine({ orderId: 'O2', sku, reason: 'out_of_stock', paidAt: 'yesterday' })).rejects.toThrow(/paidAt/);
			await expect(store.claimOrHold({ orderId: 'O2', sku, paidAt: 'soon' })).rejects.toThrow(/paidAt/);
			expect(await store.listWaiting({ orderId: 'O2' })).toEqual([]);
		});

		it('claimOrHold: out of stock waits; after an import the retry delivers and ends the waiting line', async () => {
			const sku = `C-${tag()}`;
			await product(sku);
			const first = await store.claimOrHold({ orderId: 'A', sku, quantity: 2, buyer: { email: 'a@example.com' }, paidAt: T0 });
			expect(first.result).toMatchObject({ delivered: false, reason: 'out_of_stock' });
			expect(first.waiting).toMatchObject({ orderId: 'A', sku, quantity: 2, reason: 'out_of_stock', status: 'waiting', paidAt: new Date(T0).toISOString() });
			expect((await store.claimOrHold({ orderId: 'A', sku, quantity: 2, paidAt: T0 })).waiting?.id).toBe(first.waiting?.id);
			await store.importKeys({ sku, keys: keys(sku, 0, 2) });
			const retry = await store.claimOrHold({ orderId: 'A', sku, quantity: 2, paidAt: T0 });
			expect(retry.result.delivered).toBe(true);
			expect(retry.waiting).toMatchObject({ id: first.waiting?.id, status: 'delivered' });
			expect(await store.listWaiting({ sku })).toEqual([]);
			const [ended] = await store.listWaiting({ sku, status: 'delivered' });
			expect(retry.result.delivered && ended.deliveryId).toBe(retry.result.delivered ? retry.result.delivery.id : -1);
			// a claim that needs no waiting line records none
			await store.importKeys({ sku, keys: keys(sku, 2, 1) });
			expect((await store.claimOrHold({ orderId: 'B', sku })).waiting).toBeNull();
		});

		it('completes waiting lines in order of payment and stops at the first the stock cannot fill', async () => {
			const sku = `Q-${tag()}`;
			await product(sku);
			// paid: C first (qty 1), A (qty 2), B (qty 1) — recorded in another order
			await store.holdLine({ orderId: 'A', sku, quantity: 2, reason: 'out_of_stock', buyer: { email: 'a@example.com', name: 'A' }, paidAt: T0 + 2000, amount: 20 });
			await store.holdLine({ orderId: 'B', sku, quantity: 1, reason: 'out_of_stock', buyer: { email: 'b@example.com' }, paidAt: T0 + 3000 });
			await store.holdLine({ orderId: 'C', sku, quantity: 1, reason: 'out_of_stock', buyer: { email: 'c@example.com' }, paidAt: T0 + 1000 });
			// held for review: new stock never completes it
			await store.holdLine({ orderId: 'R', sku, quantity: 1, reason: 'review', paidAt: T0 });
			expect((await store.completeWaiting({ sku })).delivered).toEqual([]);

			await store.importKeys({ sku, keys: keys(sku, 0, 2) }); // C (1) fits, A (2) does not: B (1) must wait behind A
			const first = await store.completeWaiting({ sku });
			expect(first.delivered.map((d) => d.line.orderId)).toEqual(['C']);
			expect(first.stoppedAt).toMatchObject({ line: { orderId: 'A' }, available: 1 });
			expect(first.stillWaiting).toBe(2);
			expect(await store.countAvailable(sku)).toBe(1);

			await store.importKeys({ sku, keys: keys(sku, 2, 2) });
			const second = await store.completeWaiting({ sku });
			expect(second.delivered.map((d) => [d.line.orderId, d.delivery.quantity, d.delivery.keys.length])).toEqual([['A', 2, 2], ['B', 1, 1]]);
			expect(second.delivered[0].delivery).toMatchObject({ buyer: { email: 'a@example.com', name: 'A' }, amount: 20, status: 'claimed' });
			expect(second.delivered[0].delivery.keys.every((k) => k.key === undefined && /…/.test(k.masked))).toBe(true);
			expect(second).toMatchObject({ stoppedAt: null, stillWaiting: 0 });
			expect((await store.listWaiting({ sku })).map((l) => [l.orderId, l.reason])).toEqual([['R', 'review']]);
			// the deliveries are the normal, idempotent ones
			const replay = await store.claim({ orderId: 'A', sku, quantity: 2 });
			expect(replay.delivered && replay.alreadyDelivered).toBe(true);
			// bad input changes nothing
			await expect(store.completeWaiting({ sku: '' })).rejects.toThrow(/SKU is required/);
			await expect(store.completeWaiting({ sku, strategy: 'newest' as never })).rejects.toThrow(/Strategy/);
		});

		it('a refund cancels the waiting lines of the order; a completion cancels lines of a refunded order', async () => {
			const sku = `R-${tag()}`;
			await product(sku);
			await store.holdLine({ orderId: 'X', sku, reason: 'out_of_stock', paidAt: T0 });
			await store.holdLine({ orderId: 'Y', sku, reason: 'out_of_stock', paidAt: T0 + 1 });
			await store.holdLine({ orderId: 'Z', sku, reason: 'out_of_stock', paidAt: T0 + 2 });
			await store.revoke({ orderId: 'X' }); // whole order
			await store.revoke({ orderId: 'Y', sku }); // one line
			expect((await store.listWaiting({ sku })).map((l) => l.orderId)).toEqual(['Z']);
			expect((await store.listWaiting({ sku, status: 'cancelled' })).map((l) => l.orderId).sort()).toEqual(['X', 'Y']);
			// a refund that raced the hold: the line waits next to a tombstone
			await store.revoke({ orderId: 'Z' });
			await internals(store).db(internals(store).t.waiting).where({ sku, order_id: 'Z' }).update({ status: 'waiting' });
			await store.importKeys({ sku, keys: keys(sku, 0, 3) });
			const done = await store.completeWaiting({ sku });
			expect(done.delivered).toEqual([]);
			expect(done.cancelled.map((l) => l.orderId)).toEqual(['Z']);
			expect(await store.countAvailable(sku)).toBe(3);
			// an order refunded before it was held never waits
			await store.revoke({ orderId: 'W' });
			expect((await store.holdLine({ orderId: 'W', sku, reason: 'review' })).line.status).toBe('cancelled');
		});

		it('Risk Check: Review holds the line (reason review), Reject cancels it, Pass changes nothing', async () => {
			const sku = `K-${tag()}`;
			await product(sku);
			const rules = { amount: { threshold: 100, action: 'review' as const }, maxQuantity: { max: 5, action: 'reject' as const } };
			const held = await evaluateRisk(store, { orderId: 'RV', line: sku, quantity: 1, amount: 500, email: 'rv@example.com' }, rules);
			expect(held.decision).toBe('review');
			const first = await settleWaiting(store, held, { quantity: 1, amount: 500, buyer: { email: 'rv@example.com' }, paidAt: T0 });
			expect(first).toMatchObject({ action: 'held', line: { status: 'waiting', reason: 'review' } });
			expect(await settleWaiting(store, held, { quantity: 1 })).toMatchObject({ action: 'held', line: { id: first.line?.id } }); // replayed: the same line
			expect(await store.listWaiting({ orderId: 'RV' })).toMatchObject([{ reason: 'review', buyer: { email: 'rv@example.com' }, amount: 500 }]);
			const passed = await evaluateRisk(store, { orderId: 'PS', line: sku, quantity: 1, amount: 5 }, rules);
			expect(await settleWaiting(store, passed, {})).toEqual({ action: 'none', line: null });
			await store.holdLine({ orderId: 'RJ', sku, reason: 'out_of_stock' });
			const rejected = await evaluateRisk(store, { orderId: 'RJ', line: sku, quantity: 9 }, rules);
			expect(rejected.decision).toBe('reject');
			expect(await settleWaiting(store, rejected, {})).toMatchObject({ action: 'cancelled', line: { orderId: 'RJ', status: 'cancelled' } });
			expect(await store.listWaiting({ orderId: 'RJ' })).toEqual([]);
		});

		it('two (four) completions at once deliver every waiting line once, each reported by one of them, no key twice', async () => {
			const sku = `P-${tag()}`;
			await product(sku);
			for (let i = 0; i < 30; i++) await store.holdLine({ orderId: `P${String(i).padStart(2, '0')}`, sku, quantity: 1 + (i % 2), reason: 'out_of_stock', paidAt: T0 + i });
			await store.importKeys({ sku, keys: keys(sku, 0, 40) }); // 45 needed: P00–P25 fit (39 keys), P26 (qty 1)… stop at the first that does not fit
			const runs = await Promise.all(Array.from({ length: 4 }, () => store.completeWaiting({ sku })));
			const reported = runs.flatMap((r) => r.delivered.map((d) => d.line.orderId));
			expect(new Set(reported).size).toBe(reported.length);
			const deliveries = await internals(store).db(internals(store).t.deliveries).where({ sku });
			expect(deliveries.map((d: { order_id: string }) => d.order_id).sort()).toEqual([...reported].sort());
			// in order of payment: a prefix of the queue
			const expected: string[] = [];
			let left = 40;
			for (let i = 0; i < 30 && left >= 1 + (i % 2); i++) {
				expected.push(`P${String(i).padStart(2, '0')}`);
				left -= 1 + (i % 2);
			}
			expect([...reported].sort()).toEqual(expected);
			const assigned = await internals(store).db(internals(store).t.keys).where({ sku, status: 'assigned' });
			expect(assigned).toHaveLength(40 - left);
			expect(new Set(assigned.map((k: { delivery_id: number }) => k.delivery_id)).size).toBe(expected.length);
			expect((await store.listWaiting({ sku })).map((l) => l.orderId)).toEqual(Array.from({ length: 30 - expected.length }, (_, i) => `P${String(expected.length + i).padStart(2, '0')}`));
		});

		it('the delay notice: twenty concurrent sends of one order → exactly one mail; later runs skip; never a key', async () => {
			const sku = `D-${tag()}`;
			await product(sku);
			await store.importKeys({ sku: `${sku}-OTHER`, keys: keys(sku, 0, 1) });
			await store.holdLine({ orderId: 'D1', sku, quantity: 3, reason: 'out_of_stock', buyer: { email: 'd1@example.com', name: '小明' }, paidAt: T0 });
			const results = await Promise.all(Array.from({ length: 20 }, () => sendDelayNotice(store, { orderId: 'D1', sku, channel: email() })));
			expect(results.filter((r) => r.sent)).toHaveLength(1);
			expect(results.filter((r) => !r.sent).every((r) => r.skipped === 'already_sent' || r.skipped === 'sending')).toBe(true);
			const [mail] = await smtp.waitFor(1);
			// settle: nothing more arrives later (each sender has returned; none is still sending)
			expect(smtp.messages).toHaveLength(1);
			expect(mail.to).toEqual(['d1@example.com']);
			expect(mail.subject).toBe(`【Product ${sku}】订单处理中 / Your order D1 is being processed`);
			expect(mail.text).toContain('预计 2 小时 / 2 hours 内发货');
			expect(mail.text).toContain('expected within 2 小时 / 2 hours');
			expect(mail.text).toContain('订单号 / Order ID: D1');
			expect(mail.text).toContain('数量 / Quantity: 3');
			expect(mail.html).toContain(`Product ${sku}`);
			expect(mail.raw).not.toContain(`${sku}-KEY`);
			const again = await sendDelayNotice(store, { orderId: 'D1', sku, channel: email() });
			expect(again).toMatchObject({ sent: false, skipped: 'already_sent' });
			expect(smtp.messages).toHaveLength(1);
			expect(await store.getNotice({ orderId: 'D1', kind: 'delay' })).toMatchObject({ status: 'sent', channel: 'email' });
			const events = await store.listEvents({ orderId: 'D1', type: 'delay_notice_sent' });
			expect(events).toHaveLength(1);
			// one notice per order: a second waiting line of the same order is not told again
			const sku2 = `${sku}-B`;
			await product(sku2);
			await store.holdLine({ orderId: 'D1', sku: sku2, reason: 'out_of_stock', buyer: { email: 'd1@example.com' } });
			expect(await sendDelayNotice(store, { orderId: 'D1', sku: sku2, channel: email() })).toMatchObject({ skipped: 'already_sent' });
			expect(smtp.messages).toHaveLength(1);
		});

		it('the delay notice: off, unknown, not waiting or refunded → skipped with the reason; bad input changes nothing', async () => {
			const sku = `S-${tag()}`;
			await product(sku, false);
			await store.holdLine({ orderId: 'S1', sku, reason: 'out_of_stock', buyer: { email: 's1@example.com' } });
			expect(await sendDelayNotice(store, { orderId: 'S1', sku, channel: email() })).toMatchObject({ sent: false, skipped: 'disabled', message: expect.stringContaining('Delay Notice') });
			expect(await sendDelayNotice(store, { orderId: 'S1', sku: `${sku}-NONE`, channel: email() })).toMatchObject({ skipped: 'unknown_sku' });
			await product(sku, true, null);
			expect(await sendDelayNotice(store, { orderId: 'S2', sku, channel: email() })).toMatchObject({ skipped: 'not_waiting' });
			await expect(sendDelayNotice(store, { orderId: 'S1', sku, channel: email({ text: 'Your key: {发货内容}', html: null }) })).rejects.toThrow(/never carries the keys/);
			await expect(sendDelayNotice(store, { orderId: 'S1', sku, channel: email({ to: 'not an address' }) })).rejects.toThrow(/not a valid email/);
			await expect(sendDelayNotice(store, { orderId: '', sku, channel: email() })).rejects.toThrow(/Order ID is required/);
			expect(await store.getNotice({ orderId: 'S1', kind: 'delay' })).toBeNull();
			expect(smtp.messages).toHaveLength(0);
			// no Expected Within on the product: the fallback
			const r = await sendDelayNotice(store, { orderId: 'S1', sku, channel: email(), expectedWithinFallback: '3 天 / 3 days' });
			expect(r).toMatchObject({ sent: true, expectedWithin: '3 天 / 3 days', recipient: 's1@example.com' });
			expect((await smtp.waitFor(1))[0].text).toContain('expected within 3 天 / 3 days');
			// refunded meanwhile: the waiting line is cancelled, nothing is sent
			await store.holdLine({ orderId: 'S3', sku, reason: 'review', buyer: { email: 's3@example.com' } });
			await store.revoke({ orderId: 'S3' });
			expect(await sendDelayNotice(store, { orderId: 'S3', sku, channel: email() })).toMatchObject({ skipped: 'not_waiting' });
			expect(smtp.messages).toHaveLength(1);
		});

		it('the delay notice: a failed send is recorded and tried again by a later run, then never again', async () => {
			const sku = `F-${tag()}`;
			await product(sku);
			await store.holdLine({ orderId: 'F1', sku, reason: 'out_of_stock', buyer: { email: 'f1@example.com' } });
			smtp.setFault('reject');
			const err = await sendDelayNotice(store, { orderId: 'F1', sku, channel: email() }).catch((e: unknown) => e);
			expect(err).toBeInstanceOf(DelayNoticeError);
			expect((err as Error).message).toMatch(/delay notice of Order F1 was not sent: Email to f1@example.com failed/);
			expect(await store.getNotice({ orderId: 'F1', kind: 'delay' })).toMatchObject({ status: 'failed' });
			smtp.setFault('none');
			const results: DelayNoticeResult[] = await Promise.all(Array.from({ length: 10 }, () => sendDelayNotice(store, { orderId: 'F1', sku, channel: email() })));
			expect(results.filter((r) => r.sent)).toHaveLength(1);
			expect(results.find((r) => r.sent)?.retried).toBe(true);
			expect(smtp.messages).toHaveLength(1);
			expect(await sendDelayNotice(store, { orderId: 'F1', sku, channel: email() })).toMatchObject({ skipped: 'already_sent' });
			expect((await store.listEvents({ orderId: 'F1' })).map((e) => e.type).filter((t) => t.startsWith('delay')).sort()).toEqual(['delay_notice_failed', 'delay_notice_sent']);
			// a sender that stopped mid-send (row left `sending`) is never repeated: it may have gone out
			await store.holdLine({ orderId: 'F2', sku, reason: 'out_of_stock', buyer: { email: 'f2@example.com' } });
			const lease = await store.beginNotice({ orderId: 'F2', kind: 'delay' }, 'email');
			expect(lease.kind).toBe('go');
			expect(await sendDelayNotice(store, { orderId: 'F2', sku, channel: email() })).toMatchObject({ skipped: 'sending' });
			expect(smtp.messages).toHaveLength(1);
		});

		it('four OS processes at once: one delay mail per order; every waiting line delivered and reported once', async () => {
			const smtpCfg = { host: smtp.host, port: smtp.port, security: 'none' as const, from: 'shop@example.com' };
			// SKU `empty`: three orders wait, no stock (their delay notices race); SKU `full`: twelve wait, stock arrived (completions race)
			const empty = `M-${tag()}`;
			const full = `N-${tag()}`;
			await product(empty);
			await product(full);
			const waitingOrders = ['MA', 'MB', 'MC'];
			for (const [i, o] of waitingOrders.entries()) await store.holdLine({ orderId: o, sku: empty, reason: 'out_of_stock', buyer: { email: `${o.toLowerCase()}@example.com` }, paidAt: T0 + i });
			const orders = Array.from({ length: 12 }, (_, i) => `MP${String(i).padStart(2, '0')}`);
			for (const [i, o] of orders.entries()) await store.holdLine({ orderId: o, sku: full, reason: 'out_of_stock', paidAt: T0 + i });
			await store.importKeys({ sku: full, keys: keys(full, 0, 12) });
			const work = (): DelayWork[] => [
				{ op: 'complete', sku: full },
				...waitingOrders.flatMap((orderId) => Array.from({ length: 5 }, (): DelayWork => ({ op: 'notice', orderId, sku: empty }))),
				{ op: 'complete', sku: full },
			];
			const results = (await raceDelays(cfg, smtpCfg, [work(), work(), work(), work()], 4)).flat();
			expect(results.filter((r) => r.error)).toEqual([]);
			expect(new Set(results.map((r) => r.pid)).size).toBe(4);
			const notices = results.filter((r) => r.op === 'notice');
			expect(notices).toHaveLength(60);
			expect(notices.filter((r) => r.outcome === 'sent')).toHaveLength(3);
			expect(notices.filter((r) => r.outcome !== 'sent').every((r) => r.outcome === 'already_sent' || r.outcome === 'sending')).toBe(true);
			expect(smtp.messages.map((m) => m.to[0]).sort()).toEqual(['ma@example.com', 'mb@example.com', 'mc@example.com']);
			expect(results.flatMap((r) => r.delivered ?? []).sort()).toEqual(orders);
			const assigned = await internals(store).db(internals(store).t.keys).where({ sku: full, status: 'assigned' });
			expect(assigned).toHaveLength(12);
			expect(new Set(assigned.map((k: { delivery_id: number }) => k.delivery_id)).size).toBe(12);
			expect(await store.listWaiting({ sku: full })).toEqual([]);
		});

		it('waiting lines of another shop with the same order ID are another order', async () => {
			const sku = `I-${tag()}`;
			await product(sku);
			const a: WaitingLine = (await store.holdLine({ orderId: '1001', shop: 'shopA', sku, reason: 'out_of_stock', buyer: { email: 'a@example.com' } })).line;
			await store.holdLine({ orderId: '1001', sku, reason: 'out_of_stock', buyer: { email: 'd@example.com' } });
			expect(a.shop).toBe('shopA');
			await store.revoke({ orderId: '1001', shop: 'shopA' });
			expect((await store.listWaiting({ sku })).map((l) => l.shop)).toEqual([null]);
			expect(await sendDelayNotice(store, { orderId: '1001', sku, channel: email() })).toMatchObject({ sent: true, recipient: 'd@example.com' });
			expect(await sendDelayNotice(store, { orderId: '1001', shop: 'shopA', sku, channel: email() })).toMatchObject({ skipped: 'not_waiting' });
		});
	});
}
