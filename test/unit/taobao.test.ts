/**
 * Taobao / Tmall core: the TOP client against the local router fake (signatures of all three
 * methods checked by the fake's own implementation, error_response → seller sentences, call limits,
 * isp retries, no parameter value in an error), trades → canonical orders with 19-digit ids, and
 * the polling machinery (windows ≤ 1 day, last page first, overlap, crash mid-walk, overlapping
 * polls, trades moving between pages while a window is read).
 */
import { pollTaobao, poll, pollState, pagesBackwards, refundToOrder, topCall, topTimestamp, tradeToOrder, TopApiError, type PageSource, type TopTarget } from '../../nodes/core/taobao';
import { parseJsonExact } from '../../nodes/core/intake';
import { ValidationError } from '../../nodes/core/errors';
import { startTopRouter, tids19, type FakeOrder, type TopRouterFake } from '../helpers/fakes/topRouter';

const APP_KEY = '12345678';
const APP_SECRET = 'sandbox0a1b2c3d4e5f60718293a4b5c6d7';
const SESSION = '6100e2a7f0c1d2e3f4a5b6c7d8e9f00112233445566778899';
let fake: TopRouterFake;
const target = (over: Partial<TopTarget> = {}): TopTarget => ({ appKey: APP_KEY, appSecret: APP_SECRET, session: SESSION, signMethod: 'hmac-sha256', routerUrl: fake.url, ...over });
const noSleep = async () => {};

beforeAll(async () => {
	fake = await startTopRouter({ appKey: APP_KEY, appSecret: APP_SECRET, session: SESSION });
});
afterAll(async () => fake.close());
beforeEach(() => fake.reset());

const line = (oid: string, sku: string, num = 1): FakeOrder => ({ oid, num, num_iid: '600112233445', title: `Steam ${sku}`, price: '50.00', payment: (50 * num).toFixed(2), outer_sku_id: sku });

describe('TOP client', () => {
	it.each(['md5', 'hmac', 'hmac-sha256'] as const)('signs with %s so the router accepts it, and reads exact 19-digit ids', async (signMethod) => {
		const [tid] = tids19(1);
		fake.addTrade({ tid, orders: [line('2840188394502391999', 'STEAM-50')] });
		const r = await topCall(target({ signMethod }), 'taobao.trade.fullinfo.get', { fields: 'tid,orders.oid', tid }, { sleep: noSleep });
		const trade = r.trade as Record<string, unknown>;
		expect(trade.tid).toBe(tid);
		expect(((trade.orders as Record<string, unknown>).order as Record<string, unknown>[])[0].oid).toBe('2840188394502391999');
		const sent = fake.calls[0].params;
		expect(sent).toMatchObject({ method: 'taobao.trade.fullinfo.get', app_key: APP_KEY, v: '2.0', format: 'json', sign_method: signMethod });
		expect(sent.timestamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
	});

	it('a wrong App Secret is "check App Secret / Sign Method", with no secret in the message', async () => {
		const e = await topCall(target({ appSecret: 'wrong-secret-value-1234' }), 'taobao.trade.fullinfo.get', { fields: 'tid', tid: '1' }).catch((x: unknown) => x);
		expect(e).toBeInstanceOf(TopApiError);
		expect((e as TopApiError).kind).toBe('signature');
		expect((e as TopApiError).message).toMatch(/App Secret and the Sign Method/);
		expect((e as TopApiError).message).not.toContain('wrong-secret-value-1234');
	});

	it('an expired session (27) tells the seller to authorise again and update the Session Key, never retried', async () => {
		fake.session = 'a-new-session';
		const e = (await topCall(target(), 'taobao.trade.fullinfo.get', { fields: 'tid', tid: '1' }, { sleep: noSleep }).catch((x: unknown) => x)) as TopApiError;
		expect(e.kind).toBe('session');
		expect(e.code).toBe('27');
		expect(e.retryable).toBe(false);
		expect(e.message).toMatch(/authorise the app for the shop again and update the Session Key/);
		expect(e.message).not.toContain(SESSION);
		expect(fake.calls).toHaveLength(1);
	});

	it('a call limit (7) waits out a short ban and retries; a long ban gives a retryable error naming the seconds', async () => {
		const [tid] = tids19(1);
		fake.addTrade({ tid, orders: [line('1', 'A')] });
		const waited: number[] = [];
		fake.fail('taobao.trade.fullinfo.get', [{ code: '7', ban: 2 }]);
		await topCall(target(), 'taobao.trade.fullinfo.get', { fields: 'tid', tid }, { sleep: async (ms) => void waited.push(ms) });
		expect(waited).toEqual([2000]);
		fake.fail('taobao.trade.fullinfo.get', [{ code: '7', ban: 600 }]);
		const e = (await topCall(target(), 'taobao.trade.fullinfo.get', { fields: 'tid', tid }, { sleep: noSleep }).catch((x: unknown) => x)) as TopApiError;
		expect(e).toMatchObject({ kind: 'call_limit', retryable: true, retryAfterMs: 600_000 });
		expect(e.message).toMatch(/ban lasts 600 more seconds/);
	});

	it('isp.* errors are retried, isv.* are not; 5xx and timeouts are retried by the HTTP layer', async () => {
		const [tid] = tids19(1);
		fake.addTrade({ tid, orders: [line('1', 'A')] });
		fake.fail('taobao.trade.fullinfo.get', [{ code: '15', sub: 'isp.remote-service-error' }, 500, 'timeout']);
		const r = await topCall(target(), 'taobao.trade.fullinfo.get', { fields: 'tid', tid }, { sleep: noSleep, timeoutMs: 300, retries: 3, backoffMs: 1 });
		expect((r.trade as Record<string, unknown>).tid).toBe(tid);
		const e = (await topCall(target(), 'taobao.trade.fullinfo.get', { fields: 'tid', tid: '99' }, { sleep: noSleep }).catch((x: unknown) => x)) as TopApiError;
		expect(e).toMatchObject({ kind: 'business', subCode: 'isv.trade-not-exist', retryable: false });
	});

	it('never puts a parameter value marked secret (a key in feature) into an error', async () => {
		const key = 'CARD-KEY-7f3a9b2c-SECRET';
		fake.fail('taobao.logistics.dummy.send', [{ code: '15', sub: 'isv.logistics-error' }]);
		const e = (await topCall(target(), 'taobao.logistics.dummy.send', { tid: '1', feature: `identCode=1:${key}` }, { secrets: [key] }).catch((x: unknown) => x)) as TopApiError;
		expect(e).toBeInstanceOf(TopApiError);
		expect(JSON.stringify({ m: e.message, s: e.stack })).not.toContain(key);
	});

	it('bad credential fields name the field and call nothing', async () => {
		await expect(topCall(target({ session: ' ' }), 'x', {})).rejects.toThrow(ValidationError);
		await expect(topCall(target({ routerUrl: 'ftp://x' }), 'x', {})).rejects.toThrow(/Router URL/);
		expect(fake.calls).toHaveLength(0);
	});
});

describe('trades → canonical orders', () => {
	const trade = (json: string) => parseJsonExact(json) as Record<string, unknown>;
	it('keeps 19-digit tids sent as JSON numbers, maps lines, merges a SKU bought on two lines', () => {
		const t = trade(`{"tid": 2840188394502391201, "status": "WAIT_SELLER_SEND_GOODS", "payment": "150.00", "pay_time": "2026-11-23 18:00:00",
		  "modified": "2026-11-23 18:00:05", "buyer_nick": "小明", "orders": {"order": [
		    {"oid": 2840188394502391202, "num": 2, "outer_sku_id": "STEAM-50", "title": "Steam 50", "price": "50.00", "num_iid": 600112233445},
		    {"oid": 2840188394502391203, "num": 1, "outer_sku_id": "STEAM-50", "title": "Steam 50", "price": "50.00", "num_iid": 600112233445}]}}`);
		const r = tradeToOrder(t, 'taobao:mystore', 'outer_sku_id');
		expect(r.order).toMatchObject({ event: 'order.paid', orderId: '2840188394502391201', shop: 'taobao:mystore', amount: 150, currency: 'CNY', paidAt: '2026-11-23T10:00:00.000Z' });
		expect(r.order.buyer).toEqual({ id: null, name: '小明', email: null, ip: null });
		expect(r.order.items).toEqual([{ sku: 'STEAM-50', name: 'Steam 50', quantity: 3, price: 50 }]);
		expect(r.lines).toEqual([{ sku: 'STEAM-50', oids: [{ oid: '2840188394502391202', num: 2 }, { oid: '2840188394502391203', num: 1 }] }]);
	});

	it('SKU From picks the field and falls back; a line without any is refused naming the line', () => {
		const t = trade(`{"tid": 1, "orders": {"order": [{"oid": 2, "num": 1, "outer_iid": "ITEM-1", "sku_id": 5551, "num_iid": 77}]}}`);
		expect(tradeToOrder(t, 's', 'outer_sku_id').order.items[0].sku).toBe('ITEM-1');
		expect(tradeToOrder(t, 's', 'sku_id').order.items[0].sku).toBe('5551');
		expect(tradeToOrder(t, 's', 'num_iid').order.items[0].sku).toBe('77');
		expect(() => tradeToOrder(trade(`{"tid": 1, "orders": {"order": [{"oid": 2, "num": 1}]}}`), 's', 'outer_iid')).toThrow(/line 1 has no outer_iid \/ num_iid/);
	});

	it('a refund of some lines names their SKUs; of every line, the whole order', () => {
		const t = trade(`{"tid": 2840188394502391201, "orders": {"order": [{"oid": 11, "num": 1, "outer_sku_id": "A"}, {"oid": 12, "num": 1, "outer_sku_id": "B"}]}}`);
		expect(refundToOrder(t, ['12'], 'taobao:s', 'outer_sku_id').items).toEqual([{ sku: 'B', quantity: null }]);
		expect(refundToOrder(t, ['11', '12'], 'taobao:s', 'outer_sku_id')).toMatchObject({ event: 'order.refunded', orderId: '2840188394502391201', items: [] });
	});
});

describe('poll machinery', () => {
	const MIN = 60_000;
	const T0 = Date.UTC(2026, 10, 23, 2, 0, 0);
	/** A list source over a mutable array, newest first like TOP, recording the pages asked. */
	function listSource(items: { id: string; m: number }[], asked: string[], onPage?: (pageNo: number) => void): PageSource<{ id: string; m: number }> {
		return {
			async page(w, pageNo, pageSize) {
				asked.push(`${w.end - w.start}:${pageNo}`);
				onPage?.(pageNo);
				const inWin = items.filter((i) => i.m >= w.start && i.m <= w.end).sort((a, b) => b.m - a.m);
				return { items: inWin.slice((pageNo - 1) * pageSize, pageNo * pageSize), total: inWin.length };
			},
			key: (i) => i.id,
			modified: (i) => i.m,
		};
	}

	it('walks the last page first and windows of at most one day; the cursor ends at now - settle', async () => {
		expect(pagesBackwards(7, 3)).toEqual([3, 2, 1]);
		const items = Array.from({ length: 7 }, (_, i) => ({ id: `t${i}`, m: T0 - 30 * MIN + i * MIN }));
		const asked: string[] = [];
		const state = pollState(undefined, T0 + 36 * 3600_000, 40 * 3600_000);
		const r = await poll(state, listSource(items, asked), { now: T0 + 36 * 3600_000, maxWindowMs: 24 * 3600_000, pageSize: 3, overlapMs: 5 * MIN, settleMs: MIN });
		expect(r.error).toBeNull();
		expect(r.emitted.map((i) => i.id)).toEqual(['t0', 't1', 't2', 't3', 't4', 't5', 't6']);
		expect(asked.slice(0, 4)).toEqual([`${24 * 3600_000}:1`, `${24 * 3600_000}:3`, `${24 * 3600_000}:2`, `${24 * 3600_000}:1`]);
		expect(r.windows).toBe(2);
		expect(state.cursor).toBe(T0 + 36 * 3600_000 - MIN);
	});

	it('an item that leaves the window while the pages are read makes nothing else go missing', async () => {
		const items = Array.from({ length: 9 }, (_, i) => ({ id: `t${i}`, m: T0 - 50 * MIN + i * MIN }));
		const asked: string[] = [];
		const now = T0;
		// while page 2 is being asked, the newest trade (page 1) is modified again: it leaves the window
		const src = listSource(items, asked, (p) => {
			if (p === 2 && items[8].m < now) items[8].m = now + 1000;
		});
		const state = pollState(undefined, now, 60 * MIN);
		const r = await poll(state, src, { now, maxWindowMs: 24 * 3600_000, pageSize: 3, settleMs: 0, overlapMs: 5 * MIN });
		expect(r.emitted.map((i) => i.id).sort()).toEqual(['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7', 't8']);
		// the next poll sees t8 again (it changed) but does not emit it twice
		const again = await poll(state, src, { now: now + 2 * MIN, maxWindowMs: 24 * 3600_000, pageSize: 3, settleMs: 0, overlapMs: 5 * MIN });
		expect(again.emitted).toEqual([]);
	});

	it('a crash mid-walk hands off nothing and keeps the cursor; the next poll reads the window again', async () => {
		const items = Array.from({ length: 5 }, (_, i) => ({ id: `t${i}`, m: T0 - 20 * MIN + i * MIN }));
		const asked: string[] = [];
		let crash = true;
		const src = listSource(items, asked, (p) => {
			if (p === 1 && asked.length > 1 && crash) throw new Error('socket hang up');
		});
		const state = pollState(undefined, T0, 60 * MIN);
		const cursor = state.cursor;
		const handed: string[] = [];
		const r = await poll(state, src, { now: T0, maxWindowMs: 24 * 3600_000, pageSize: 2, settleMs: 0 }, async (xs) => void handed.push(...xs.map((x) => x.id)));
		expect((r.error as Error).message).toBe('socket hang up');
		expect(handed).toEqual([]);
		expect(state.cursor).toBe(cursor);
		expect(state.busyUntil).toBe(0);
		crash = false;
		const r2 = await poll(state, src, { now: T0, maxWindowMs: 24 * 3600_000, pageSize: 2, settleMs: 0 }, async (xs) => void handed.push(...xs.map((x) => x.id)));
		expect(r2.error).toBeNull();
		expect(handed.sort()).toEqual(['t0', 't1', 't2', 't3', 't4']);
	});

	it('overlapping polls: the second one reads nothing while the first walks; no item is emitted twice', async () => {
		const items = Array.from({ length: 6 }, (_, i) => ({ id: `t${i}`, m: T0 - 20 * MIN + i * MIN }));
		let release: () => void = () => {};
		const gate = new Promise<void>((r) => (release = r));
		const asked: string[] = [];
		const slow: PageSource<{ id: string; m: number }> = { ...listSource(items, asked), page: async (w, p, s) => (await gate, listSource(items, asked).page(w, p, s)) };
		const state = pollState(undefined, T0, 60 * MIN);
		const opts = { now: T0, maxWindowMs: 24 * 3600_000, pageSize: 4, settleMs: 0 };
		const first = poll(state, slow, opts);
		const second = await poll(state, slow, opts);
		expect(second).toMatchObject({ skipped: true, emitted: [] });
		release();
		expect((await first).emitted).toHaveLength(6);
		expect((await poll(state, slow, { ...opts, now: T0 + MIN })).emitted).toEqual([]);
	});

	it('the static data is used in place: an overlapping poll started from the same static data skips, and the first one\'s progress is kept', async () => {
		const items = Array.from({ length: 3 }, (_, i) => ({ id: `t${i}`, m: T0 - 10 * MIN + i * MIN }));
		let release: () => void = () => {};
		const gate = new Promise<void>((r) => (release = r));
		const asked: string[] = [];
		const slow: PageSource<{ id: string; m: number }> = { ...listSource(items, asked), page: async (w, p, s) => (await gate, listSource(items, asked).page(w, p, s)) };
		const data: { trades?: unknown } = {};
		const opts = { now: T0, maxWindowMs: 24 * 3600_000, pageSize: 4, settleMs: 0 };
		const s1 = pollState(data.trades, T0, 60 * MIN);
		data.trades = s1;
		const first = poll(s1, slow, opts);
		const s2 = pollState(data.trades, T0, 60 * MIN);
		expect(s2).toBe(s1);
		expect((await poll(s2, slow, opts)).skipped).toBe(true);
		release();
		expect((await first).emitted).toHaveLength(3);
		expect((data.trades as { cursor: number }).cursor).toBe(T0);
	});

	it('a hold left by a process that crashed mid-poll (saved in the static data) does not stop the next process', async () => {
		const items = [{ id: 'a', m: T0 - MIN }];
		const saved = { v: 1, cursor: T0 - 30 * MIN, seen: {}, busyUntil: T0 + 9 * MIN, busyBy: 'a-process-that-crashed' };
		const state = pollState(JSON.parse(JSON.stringify(saved)), T0, 60 * MIN);
		const r = await poll(state, listSource(items, []), { now: T0, maxWindowMs: 24 * 3600_000, pageSize: 4, settleMs: 0 });
		expect(r).toMatchObject({ skipped: false, error: null });
		expect(r.emitted.map((i) => i.id)).toEqual(['a']);
	});

	it('a late commit inside the overlap is found; what was emitted is not emitted again; the state survives JSON', async () => {
		const items = [{ id: 'a', m: T0 - 10 * MIN }];
		const asked: string[] = [];
		let state = pollState(undefined, T0, 60 * MIN);
		const opts = (now: number) => ({ now, maxWindowMs: 24 * 3600_000, pageSize: 10, settleMs: 0, overlapMs: 5 * MIN });
		expect((await poll(state, listSource(items, asked), opts(T0))).emitted.map((i) => i.id)).toEqual(['a']);
		items.push({ id: 'late', m: T0 - 2 * MIN }); // committed after the poll with an older modified time
		state = pollState(JSON.parse(JSON.stringify(state)), T0 + MIN, 60 * MIN);
		expect((await poll(state, listSource(items, asked), opts(T0 + MIN))).emitted.map((i) => i.id)).toEqual(['late']);
	});
});

describe('pollTaobao against the fake router', () => {
	it('emits paid trades with exact tids across pages, asks fullinfo.get for trades without lines, and refunds', async () => {
		const now = fake.clock();
		const ids = tids19(12);
		ids.forEach((tid, i) => fake.addTrade({ tid, modified: now - 40 * 60_000 + i * 60_000, orders: [line(`${tid.slice(0, 15)}9${String(i).padStart(3, '0')}`, i % 2 ? 'STEAM-100' : 'STEAM-50')] }));
		fake.addTrade({ tid: '2840188394502399999', status: 'WAIT_BUYER_PAY', modified: now - 10 * 60_000, orders: [line('1', 'X')] });
		fake.omitOrdersInIncrement = true;
		const data = {};
		const cfg = { target: target(), shop: 'taobao:mystore', skuFrom: 'outer_sku_id' as const, events: ['paid' as const, 'refunded' as const], pageSize: 5, settleMs: 0, call: { sleep: noSleep } };
		const r = await pollTaobao(data, cfg);
		expect(r.error).toBeNull();
		expect(r.emit.map((e) => e.tid).sort()).toEqual([...ids].sort());
		expect(fake.calls.filter((c) => c.method === 'taobao.trade.fullinfo.get')).toHaveLength(12);
		const pages = fake.calls.filter((c) => c.method === 'taobao.trades.sold.increment.get').map((c) => c.params.page_no);
		expect(pages).toEqual(['1', '3', '2', '1']);
		expect(JSON.parse(JSON.stringify(data))).toEqual(data);

		fake.refund(ids[3]);
		const r2 = await pollTaobao(data, { ...cfg, now: fake.clock() + 1000 });
		expect(r2.emit).toHaveLength(1);
		expect(r2.emit[0]).toMatchObject({ kind: 'refunded', tid: ids[3], order: { event: 'order.refunded', orderId: ids[3], items: [] } });
	});

	it('a session that expired mid-poll: nothing is lost; after the new Session Key the same trades come', async () => {
		const now = fake.clock();
		const ids = tids19(3);
		ids.forEach((tid, i) => fake.addTrade({ tid, modified: now - 5 * 60_000 + i * 1000, orders: [line(`7${i}`, 'A')] }));
		fake.fail('taobao.trades.sold.increment.get', [{ code: '27' }]);
		const data = {};
		const cfg = { target: target(), shop: 'taobao:s', skuFrom: 'outer_sku_id' as const, events: ['paid' as const], settleMs: 0 };
		const r = await pollTaobao(data, cfg);
		expect(r.emit).toEqual([]);
		expect((r.error as TopApiError).kind).toBe('session');
		const r2 = await pollTaobao(data, cfg);
		expect(r2.emit.map((e) => e.tid).sort()).toEqual(ids);
	});

	it('topTimestamp is GMT+8', () => {
		expect(topTimestamp(new Date('2026-11-23T16:30:00Z'))).toBe('2026-11-24 00:30:00');
	});
});
