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
import { platformFetch } from '../../../nodes/ShopWebhook/platformApi';
import { javaUrlEncode, pushMessage, startYouzanFake, tradePaidMsg } from '../../helpers/fakes/youzan';

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

	it('trade_refund_RefundSuccess without oids → refunded (whole order, no API call); test pushes and other types are acknowledged with {code: 0}', () => {
		const { oids: _oids, ...noOids } = refundMsg;
		for (const msg of [noOids, { ...refundMsg, oids: '' }]) {
			const r = decide(pushMessage({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, type: 'trade_refund_RefundSuccess', msg }));
			expect(r).toMatchObject({ action: 'accept', order: { event: 'order.refunded', orderId: 'E20261123100000012345678', items: [] } });
		}
		for (const p of [pushMessage({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, type: 'trade_TradePaid', msg: paidMsg, test: true }), pushMessage({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, type: 'trade_TradeCreate', msg: paidMsg })]) {
			expect(expectStatus(decide(p), 200).body).toMatchObject({ ignored: true, code: 0, msg: 'success' });
		}
	});

	describe('a refund naming order lines (oids) → the refunded lines from youzan.trade.get', () => {
		const tradeGet = JSON.parse(fixtureBytes('youzan', 'trade-get.json').toString('utf8')) as { data: { full_order_info: { orders: Array<Record<string, unknown>> } } };
		const [OID1, OID2] = tradeGet.data.full_order_info.orders.map((l) => String(l.oid));
		const refundPush = (oids: unknown, extra: Record<string, unknown> = {}) =>
			pushMessage({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, type: 'trade_refund_RefundSuccess', msg: typeof oids === 'string' && oids.startsWith('{') ? oids : { ...refundMsg, oids, ...extra } });
		const calls: unknown[] = [];
		const fetchTrade = (answer: unknown = tradeGet): FetchJson => async (req) => {
			calls.push(req);
			return answer;
		};
		async function refund(p: { body: string; headers: Record<string, string> }, fetch: FetchJson = fetchTrade(), over: Partial<WebhookSettings> = {}) {
			const d = decide(p, over);
			if (d.action !== 'complete') throw new Error(`expected complete, got ${d.action}`);
			return completeWebhook(d, fetch, settings(over));
		}
		beforeEach(() => void calls.splice(0));

		it('one line of a two-line trade → a refund of that line only (its SKU, no quantity = the whole line); the trade read with POST youzan.trade.get 4.0.0 {tid}', async () => {
			const done = await refund(refundPush(OID1));
			expect(calls).toEqual([{ method: 'POST', url: 'https://open.youzanyun.com/api/youzan.trade.get/4.0.0', body: { tid: 'E20261123100000012345678' } }]);
			expect(done).toMatchObject({ action: 'accept', order: { event: 'order.refunded', shop: 'youzan:yzshop', orderId: 'E20261123100000012345678', items: [{ sku: 'YZ-GAME-100', quantity: null }] } });
			if (done.action === 'accept') expect(done.ack).toMatchObject({ code: 0, msg: 'success' });
			const second = await refund(refundPush(OID2));
			expect(second).toMatchObject({ action: 'accept', order: { items: [{ sku: 'YZ-GAME-200', quantity: null }] } });
		});

		it('every line refunded (oids comma-separated or a JSON list) → the whole order', async () => {
			for (const oids of [`${OID1},${OID2}`, [OID2, OID1], [{ oid: OID1 }, { oid: OID2 }]]) {
				expect(await refund(refundPush(oids))).toMatchObject({ action: 'accept', order: { event: 'order.refunded', orderId: 'E20261123100000012345678', items: [] } });
			}
		});

		it('SKU From chooses the field, as for a paid message', async () => {
			const over = { platformOptions: { skuFrom: 'item_id' } };
			expect(await refund(refundPush(OID2), fetchTrade(), over)).toMatchObject({ action: 'accept', order: { items: [{ sku: '4096000124' }] } });
		});

		it('19-digit oids sent as JSON numbers keep their digits and are compared exactly (…789 is not …788)', async () => {
			const msg = JSON.stringify({ ...refundMsg, oids: 0 }).replace('"oids":0', `"oids":${OID2}`);
			const answer = JSON.parse(JSON.stringify(tradeGet)) as typeof tradeGet;
			const numeric = `{"success":true,"code":200,"data":${JSON.stringify(answer.data).replace(`"oid":"${OID1}"`, `"oid":${OID1}`).replace(`"oid":"${OID2}"`, `"oid":${OID2}`)}}`;
			const { parseJsonExact } = await import('../../../nodes/core/intake');
			expect(await refund(refundPush(msg), fetchTrade(parseJsonExact(numeric)))).toMatchObject({ action: 'accept', order: { items: [{ sku: 'YZ-GAME-200' }] } });
			const near = `${OID1.slice(0, -1)}8`;
			const none = await refund(refundPush(near));
			expect(expectStatus(none, 400).body).toMatchObject({ field: 'msg.oids', error: expect.stringMatching(/names order line .+8, which youzan\.trade\.get does not list: nothing was revoked/) }); // (digits shared with the test's secret are masked)
		});

		it('a refunded line without the SKU field is a 400 naming it; 有赞 refusing the call is thrown (the node answers 5xx, 有赞 retries)', async () => {
			const noSku = JSON.parse(JSON.stringify(tradeGet)) as typeof tradeGet;
			delete noSku.data.full_order_info.orders[1].outer_sku_id;
			delete noSku.data.full_order_info.orders[1].outer_item_id;
			expect(expectStatus(await refund(refundPush(OID2), fetchTrade(noSku)), 400).body).toMatchObject({ field: 'full_order_info.orders[1].outer_sku_id' });
			await expect(refund(refundPush(OID1), fetchTrade({ gw_err_resp: { err_code: 4201, err_msg: 'invalid access_token' } }))).rejects.toThrow(/有赞 refused youzan\.trade\.get for trade E20261123100000012345678.*code 4201.*access token/);
			await expect(refund(refundPush(OID1), fetchTrade({ success: false, code: 101000001, message: '订单不存在' }))).rejects.toThrow(/code 101000001.*订单不存在/);
		});

		it('Refunded Lines "whole_order" revokes the whole order without the API; the API version is an option', async () => {
			expect(decide(refundPush(OID1), { platformOptions: { refundLines: 'whole_order' } })).toMatchObject({ action: 'accept', order: { items: [] } });
			await refund(refundPush(OID1), fetchTrade(), { platformOptions: { tradeGetVersion: '4.0.1' } });
			expect(calls).toEqual([expect.objectContaining({ url: 'https://open.youzanyun.com/api/youzan.trade.get/4.0.1' })]);
			expect(() => decide(refundPush(OID1), { platformOptions: { tradeGetVersion: 'latest' } })).toThrow(/tradeGetVersion must be an API version/);
		});

		it('Shop Webhook reads the trade from 有赞 (the fake) with the credential’s access token and API URL; without a token it is a 400 naming the credential, nothing read', async () => {
			const fake = await startYouzanFake('yz-unit-token-0123456789');
			try {
				fake.addTrade('E20261123100000099990001', [{ oid: OID1, sku: 'YZ-GAME-100' }, { oid: OID2, sku: 'YZ-GAME-200' }]);
				const cred = { platform: 'youzan', youzanClientId: CLIENT_ID, youzanClientSecret: CLIENT_SECRET, youzanAccessToken: 'yz-unit-token-0123456789', youzanApiUrl: fake.url };
				const p = refundPush(OID2, { tid: 'E20261123100000099990001' });
				expect(await refund(p, platformFetch('youzan', cred))).toMatchObject({ action: 'accept', order: { orderId: 'E20261123100000099990001', items: [{ sku: 'YZ-GAME-200' }] } });
				expect(fake.requests.map((r) => [r.path, r.query.access_token, r.body])).toEqual([['/api/youzan.trade.get/4.0.0', 'yz-unit-token-0123456789', { tid: 'E20261123100000099990001' }]]);
				const noToken = await refund(p, platformFetch('youzan', { ...cred, youzanAccessToken: '' }));
				expect(expectStatus(noToken, 400).body).toMatchObject({ field: 'credentials', error: expect.stringMatching(/Access Token in the Auto Delivery Shop API credential\. Nothing was revoked/) });
				expect(expectStatus(noToken, 400).body).not.toHaveProperty('code'); // not 有赞's success answer: 有赞 sends the message again
				await expect(refund(p, platformFetch('youzan', { ...cred, youzanAccessToken: 'expired-0000' }))).rejects.toThrow(/code 4201/);
				expect(fake.requests).toHaveLength(2);
			} finally {
				await fake.close();
			}
		});
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
