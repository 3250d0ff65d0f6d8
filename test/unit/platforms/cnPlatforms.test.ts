/**
 * 闲管家 and 有赞 as Shop Webhook presets (nodes/core/intake/platforms/goofish.ts, youzan.ts) and the
 * pure parts of their Mark Shipped presets, on the fixtures of test/fixtures/platforms/goofish and
 * youzan (built from the platforms' pages, see their READMEs). Signatures are computed here with
 * Node's crypto (md5 of the documented rules), never with the code under test.
 */
import { createHash } from 'crypto';

import { completeWebhook, decideShopWebhook, type FetchJson, type ShopWebhookDecision, type WebhookSettings } from '../../../nodes/core/intake';
import { answerReference, goofishShipBody, goofishShipOptions } from '../../../nodes/core/delivery';
import { readGoofishAnswer } from '../../../nodes/core/goofish';
import { readYouzanAnswer } from '../../../nodes/core/youzan';
import { fixtureBytes } from '../../helpers/platformRequests';
import { javaUrlEncode, pushMessage, tradePaidMsg } from '../../helpers/fakes/youzan';

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
const NOW_S = 1763863200;
const NOW = NOW_S * 1000;

const APP_KEY = '677859093659717';
const APP_SECRET = 'wK63PxlOBaY9NoqMksLeZySzGIW25ifA';
const PUSH = fixtureBytes('goofish', 'order-push.json').toString('utf8');
const DETAIL = JSON.parse(fixtureBytes('goofish', 'order-detail.json').toString('utf8')) as Record<string, unknown>;

function goofishQuery(body: string, ts = NOW_S, secret = APP_SECRET, appid = APP_KEY) {
	return { appid, timestamp: String(ts), sign: md5(`${appid},${md5(body)},${ts},${secret}`) };
}
const goofishSettings = (over: Partial<WebhookSettings> = {}): WebhookSettings => ({ platform: 'goofish', shopName: 'mystore', events: 'any', secret: APP_SECRET, appKey: APP_KEY, ...over });
const goofishDecide = (body: string, query: Record<string, string>, over: Partial<WebhookSettings> = {}) =>
	decideShopWebhook({ method: 'POST', headers: { 'content-type': 'application/json' }, query, rawBody: body, now: NOW }, goofishSettings(over));

function expectStatus(d: ShopWebhookDecision, status: number) {
	if (d.action === 'accept' || d.action === 'complete') throw new Error(`expected ${status}, got ${d.action}`);
	expect(d.status).toBe(status);
	return d;
}

describe('闲管家 order push (Shop Webhook preset goofish)', () => {
	const detailFetch: FetchJson = async (req) => {
		expect(req).toMatchObject({ method: 'POST', url: 'https://open.goofish.pro/api/open/order/detail', body: { order_no: '2226688164543566229' } });
		return DETAIL;
	};

	it('a paid push (order_status 12) is completed from 查询订单详情: exact order number, SKU = outer_id, 分 → yuan, buyer; the answer says result: success', async () => {
		const d = goofishDecide(PUSH, goofishQuery(PUSH));
		expect(d.action).toBe('complete');
		if (d.action !== 'complete') return;
		const done = await completeWebhook(d, detailFetch, goofishSettings());
		expect(done.action).toBe('accept');
		if (done.action !== 'accept') return;
		expect(done.order).toMatchObject({
			event: 'order.paid',
			shop: 'goofish:mystore',
			orderId: '2226688164543566229',
			amount: 19.9,
			currency: 'CNY',
			buyer: { id: '2b6f0cc904d137be2e1730235f5664094b831186', name: '闲鱼买家小明' },
			items: [{ sku: 'XY-STEAM-50', quantity: 1, price: 19.9, name: 'Steam 充值卡 50 元' }],
		});
		expect(done.order.paidAt).toBe(new Date(1636021667 * 1000).toISOString());
		expect(done.ack).toEqual({ received: true, orderId: '2226688164543566229', result: 'success', msg: '接收成功' });
	});

	it('keeps every digit of an order number sent as a JSON number; amounts in 分 are exact decimals', async () => {
		const body = PUSH.replace('"2226688164543566229"', '9226688164543566229');
		const d = goofishDecide(body, goofishQuery(body));
		if (d.action !== 'complete') throw new Error(d.action);
		const fetch: FetchJson = async (req) => {
			expect(req.body).toEqual({ order_no: '9226688164543566229' });
			const data = { ...(DETAIL.data as object), order_no: '9226688164543566229', pay_amount: 10001, goods: { ...((DETAIL.data as { goods: object }).goods), price: 3333, quantity: 3 } };
			return { code: 0, data };
		};
		const done = await completeWebhook(d, fetch, goofishSettings());
		if (done.action !== 'accept') throw new Error(done.action);
		expect(done.order.orderId).toBe('9226688164543566229');
		expect(done.order.amount).toBe(100.01);
		expect(done.order.items[0]).toMatchObject({ quantity: 3, price: 33.33 });
	});

	it('the SKU field is the seller’s choice; a missing one is a 400 naming it', async () => {
		const d = goofishDecide(PUSH, goofishQuery(PUSH), { platformOptions: { skuField: 'item_id' } });
		if (d.action !== 'complete') throw new Error(d.action);
		const done = await completeWebhook(d, async () => DETAIL, goofishSettings({ platformOptions: { skuField: 'item_id' } }));
		expect(done.action === 'accept' && done.order.items[0].sku).toBe('683927461023');
		const nope = goofishSettings({ platformOptions: { skuField: 'nope' } });
		const d2 = decideShopWebhook({ method: 'POST', headers: { 'content-type': 'application/json' }, query: goofishQuery(PUSH), rawBody: PUSH, now: NOW }, nope);
		if (d2.action !== 'complete') throw new Error(d2.action);
		const none = await completeWebhook(d2, async () => DETAIL, nope);
		expect(expectStatus(none, 400).body).toMatchObject({ field: 'items[0].sku' });
	});

	it('a refusal of 查询订单详情 (non-zero code) is thrown with 闲管家’s message (the node answers 5xx: 闲管家 retries)', async () => {
		const d = goofishDecide(PUSH, goofishQuery(PUSH));
		if (d.action !== 'complete') throw new Error(d.action);
		await expect(completeWebhook(d, async () => ({ code: 1002, msg: '签名错误' }), goofishSettings())).rejects.toThrow(/闲管家 refused 查询订单详情.*code 1002.*签名错误.*App Key and App Secret/);
	});

	it('refunded (refund_status 5 or order_status 23) → the whole order; other statuses and refunds in progress are acknowledged with result: success', () => {
		for (const [status, refund] of [[22, 5], [23, 0]]) {
			const body = PUSH.replace('"order_status":12', `"order_status":${status}`).replace('"refund_status":0', `"refund_status":${refund}`);
			const d = goofishDecide(body, goofishQuery(body));
			expect(d).toMatchObject({ action: 'accept', order: { event: 'order.refunded', orderId: '2226688164543566229', shop: 'goofish:mystore', items: [] } });
		}
		for (const [status, refund] of [[11, 0], [21, 0], [12, 1]]) {
			const body = PUSH.replace('"order_status":12', `"order_status":${status}`).replace('"refund_status":0', `"refund_status":${refund}`);
			const d = expectStatus(goofishDecide(body, goofishQuery(body)), 200);
			expect(d.body).toMatchObject({ ignored: true, result: 'success', msg: '接收成功' });
		}
		const custom = PUSH.replace('"order_status":12', '"order_status":21');
		expect(goofishDecide(custom, goofishQuery(custom), { platformOptions: { paidStatuses: '12,21' } }).action).toBe('complete');
	});

	it('refuses forged, wrong-secret, wrong-app, expired and unsigned pushes with 401 naming the query parameter', () => {
		const cases: Array<[Record<string, string>, string, string, string?]> = [
			[goofishQuery(PUSH, NOW_S, 'wrong-secret'), 'mismatch', 'sign'],
			[goofishQuery(`${PUSH} `), 'mismatch', 'sign'],
			[goofishQuery(PUSH, NOW_S, APP_SECRET, '1'), 'mismatch', 'appid'],
			[goofishQuery(PUSH, NOW_S - 301), 'expired', 'timestamp'],
			[goofishQuery(PUSH, NOW_S + 301), 'expired', 'timestamp'],
			[{ appid: APP_KEY, timestamp: String(NOW_S) }, 'missing_signature', 'sign'],
			[{ appid: APP_KEY, sign: 'a'.repeat(32) }, 'missing_timestamp', 'timestamp'],
			[{}, 'missing_timestamp', 'timestamp'],
		];
		for (const [query, reason, field] of cases) {
			const d = expectStatus(goofishDecide(PUSH, query), 401);
			expect(d.body).toMatchObject({ reason, field });
			expect(JSON.stringify(d.body)).not.toContain(APP_SECRET);
		}
		expect(goofishDecide(PUSH, goofishQuery(PUSH, NOW_S - 300)).action).toBe('complete');
	});

	it('merchant rule: a push with mch_id is checked with the merchant secret (the published example vector)', () => {
		const body = '{"goods_type":1,"goods_no":"12344532"}';
		const query = { appid: APP_KEY, timestamp: '1724414553', mch_id: '1001', sign: 'fda5954f48ab32b3b271c84450440ead' };
		const d = decideShopWebhook(
			{ method: 'POST', headers: { 'content-type': 'application/json' }, query, rawBody: body, now: 1724414553_000 },
			goofishSettings({ merchantSecret: 'o9wl81dncmvby3ijpq7eur456zhgtaxs' }),
		);
		expect(d.action === 'reject' ? d.status : 'verified').toBe(400); // verified; the body is no order push
	});

	it('needs the App Key and App Secret (a configuration error, never a 4xx)', () => {
		expect(() => goofishDecide(PUSH, goofishQuery(PUSH), { appKey: '' })).toThrow(/app id and a secret.*Shop API credential/);
		expect(() => goofishDecide(PUSH, goofishQuery(PUSH), { secret: '' })).toThrow(/app id and a secret/);
	});
});

describe('有赞 push messages (Shop Webhook preset youzan)', () => {
	const CLIENT_ID = 'a1b2c3d4e5f6a7b8c9';
	const CLIENT_SECRET = 'yz-secret-0123456789abcdef';
	const paidMsg = JSON.parse(fixtureBytes('youzan', 'trade-paid-msg.json').toString('utf8')) as Record<string, unknown>;
	const refundMsg = JSON.parse(fixtureBytes('youzan', 'refund-msg.json').toString('utf8')) as Record<string, unknown>;
	const settings = (over: Partial<WebhookSettings> = {}): WebhookSettings => ({ platform: 'youzan', shopName: 'yzshop', events: 'any', secret: CLIENT_SECRET, appKey: CLIENT_ID, ...over });
	const decide = (p: { body: string; headers: Record<string, string> }, over: Partial<WebhookSettings> = {}) =>
		decideShopWebhook({ method: 'POST', headers: p.headers, query: {}, rawBody: p.body, now: NOW }, settings(over));

	it('the signature is md5(client_id + msg as received + client_secret): the published rule on a hand-made vector', () => {
		const msg = javaUrlEncode('{"tid":"E1 2"}');
		expect(msg).toBe('%7B%22tid%22%3A%22E1+2%22%7D');
		expect(pushMessage({ clientId: 'cid', clientSecret: 'cs', type: 't', msg: '{"tid":"E1 2"}' }).headers['event-sign']).toBe(md5(`cid${msg}cs`));
	});

	it('trade_TradePaid → paid: tid exact, lines by outer_sku_id, num, price and payment in yuan, buyer; answered {code: 0}', () => {
		const d = decide(pushMessage({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, type: 'trade_TradePaid', msg: paidMsg }));
		expect(d.action).toBe('accept');
		if (d.action !== 'accept') return;
		expect(d.order).toMatchObject({
			event: 'order.paid',
			shop: 'youzan:yzshop',
			orderId: 'E20261123100000012345678',
			amount: 99.9,
			currency: 'CNY',
			paidAt: '2026-11-23T02:00:00.000Z', // 10:00 China time
			buyer: { id: 'yzoid_8JfYcQ2mRk', name: '有赞买家小红' },
			items: [{ sku: 'YZ-GAME-100', quantity: 1, price: 99.9, name: '游戏点卡 100 元' }],
		});
		expect(d.ack).toMatchObject({ received: true, code: 0, msg: 'success' });
	});

	it('a 19-digit tid keeps its digits; SKU From chooses the field', () => {
		const msg = tradePaidMsg(paidMsg, 'X', 'S1');
		const text = JSON.stringify(msg).replace('"tid":"X"', '"tid":9226688164543566229');
		const d = decide(pushMessage({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, type: 'trade_TradePaid', msg: text }), { platformOptions: { skuFrom: 'item_id' } });
		expect(d).toMatchObject({ action: 'accept', order: { orderId: '9226688164543566229', items: [{ sku: '4096000123' }] } });
	});

	it('trade_refund_RefundSuccess → refunded (whole order); test pushes and other types are acknowledged with {code: 0}', () => {
		const r = decide(pushMessage({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, type: 'trade_refund_RefundSuccess', msg: refundMsg }));
		expect(r).toMatchObject({ action: 'accept', order: { event: 'order.refunded', orderId: 'E20261123100000012345678', items: [] } });
		for (const p of [pushMessage({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, type: 'trade_TradePaid', msg: paidMsg, test: true }), pushMessage({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, type: 'trade_TradeCreate', msg: paidMsg })]) {
			expect(expectStatus(decide(p), 200).body).toMatchObject({ ignored: true, code: 0, msg: 'success' });
		}
	});

	it('refuses a wrong secret, another app, a decoded msg, a changed msg and an unsigned push with 401', () => {
		const good = pushMessage({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, type: 'trade_TradePaid', msg: paidMsg });
		const wrong = pushMessage({ clientId: CLIENT_ID, clientSecret: 'other', type: 'trade_TradePaid', msg: paidMsg });
		const other = pushMessage({ clientId: 'another-app', clientSecret: CLIENT_SECRET, type: 'trade_TradePaid', msg: paidMsg });
		const envelope = JSON.parse(good.body) as Record<string, unknown>;
		const decoded = { body: JSON.stringify({ ...envelope, msg: decodeURIComponent(String(envelope.msg).replace(/\+/g, ' ')) }), headers: good.headers };
		const changed = { body: good.body.replace('YZ-GAME-100', 'YZ-GAME-999'), headers: good.headers };
		const { sign: _sign, ...unsignedEnvelope } = envelope;
		const unsigned = { body: JSON.stringify(unsignedEnvelope), headers: { 'content-type': 'application/json' } };
		for (const [p, reason, field] of [
			[wrong, 'mismatch', 'event-sign'],
			[other, 'mismatch', 'client_id'],
			[decoded, 'mismatch', 'event-sign'],
			[changed, 'mismatch', 'event-sign'],
			[unsigned, 'missing_signature', 'event-sign'],
		] as const) {
			expect(expectStatus(decide(p), 401).body).toMatchObject({ reason, field });
		}
		// the body's sign alone (no Event-Sign header) is enough
		expect(decide({ body: good.body, headers: { 'content-type': 'application/json' } }).action).toBe('accept');
	});
});

describe('Mark Shipped: the 闲管家 and 有赞 calls', () => {
	it('闲管家 order/ship defaults for virtual goods: express 其他 / qita, the order number as waybill; dummy/send with send_way', () => {
		expect(goofishShipBody('2226688164543566229', goofishShipOptions(undefined))).toEqual({
			path: '/api/open/order/ship',
			what: '订单物流发货 for order 2226688164543566229',
			body: { order_no: '2226688164543566229', waybill_no: '2226688164543566229', express_code: 'qita', express_name: '其他' },
		});
		expect(goofishShipBody('1', goofishShipOptions({ call: 'dummy_send', sendWay: 2 })).body).toEqual({ order_no: '1', send_way: 2 });
		expect(() => goofishShipOptions({ call: 'x' as never })).toThrow(/Ship Call/);
		expect(answerReference({ a: 1, b: { c: 2 } })).toBe('code=0 a=1');
	});

	it('answers: code 0 → data; another code → an error with the platform’s message; 有赞 gateway and business refusals', () => {
		expect(readGoofishAnswer({ code: 0, data: { x: 1 } }, 'call')).toEqual({ x: 1 });
		expect(() => readGoofishAnswer({ code: 1003, msg: '订单状态不允许发货' }, '订单物流发货')).toThrow('闲管家 refused 订单物流发货 (code 1003): “订单状态不允许发货”.');
		expect(() => readGoofishAnswer('<html>', 'call')).toThrow(/API URL/);
		expect(readYouzanAnswer({ success: true, code: 200, data: { is_success: true } }, 'c')).toEqual({ is_success: true });
		expect(() => readYouzanAnswer({ gw_err_resp: { err_code: 4201, err_msg: 'invalid access_token' } }, 'c')).toThrow(/code 4201.*access token/);
		expect(() => readYouzanAnswer({ success: false, code: 101300001, message: '订单状态不正确' }, 'c')).toThrow('有赞 refused c (code 101300001): “订单状态不正确”.');
	});
});
