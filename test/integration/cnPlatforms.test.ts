/**
 * 闲鱼 / 闲管家 and 有赞 inside n8n's own engine, against the local fakes of test/helpers/fakes/
 * (goofish.ts, youzan.ts — built from the platforms' pages):
 *  - Shop Webhook (presets goofish / youzan) through the n8n-like webhook server of
 *    webhookHarness.ts, signed in the query (闲管家) or with Event-Sign (有赞), on to Claim Key;
 *    闲管家's order details are read from the fake with the credential's App Key / Secret;
 *  - 有赞 refunds naming order lines (oids) on SQLite, PostgreSQL and MariaDB: Shop Webhook reads the
 *    trade (youzan.trade.get with the credential's access token) and Revoke on Refund revokes only
 *    the refunded lines; every line refunded → the whole order; no token or a refused token → an
 *    error answer, nothing revoked;
 *  - Mark Shipped (presets goofish / youzan) on a real store — SQLite, PostgreSQL and MariaDB —
 *    after a recorded send only, once per order; a refusal (non-zero code) is a clear node error
 *    without any key, recorded as ship_failed.
 */
import type { ICredentialDataDecryptedObject, INode, INodeType } from 'n8n-workflow';

import { closeAllStores, getStore, type KeyStore } from '../../nodes/core/store';
import { MarkShipped } from '../../nodes/MarkShipped/MarkShipped.node';
import { testShopApiCredential } from '../../nodes/shared/shopApi';
import { storeConfigFromCredentials } from '../../nodes/shared/store';
import { describeDb, dropStore, storeConfig, type DbKind } from '../helpers/db';
import { pushBody, startGoofishFake, type GoofishFake } from '../helpers/fakes/goofish';
import { pushMessage, startYouzanFake, tradePaidMsg, type YouzanFake, type YouzanLine } from '../helpers/fakes/youzan';
import { MANUAL_TRIGGER_NODE_TYPE, SET_ITEMS_NODE_TYPE, chain, manualTriggerNode, runWorkflow, setItemsNode, workflowBuilders } from '../helpers/n8nEngine';
import { fixtureBytes } from '../helpers/platformRequests';
import { CLAIM, REVOKE, bootN8nCore, expectNothingEmitted, post, settled, startHarness, type Harness } from '../helpers/webhookHarness';

const GF = { appKey: '677859093659717', appSecret: 'gf-int-secret-5d1c9a7e3b' };
const YZ = { clientId: 'yzint0client0id', clientSecret: 'yz-int-secret-8e2b4d6f0a', token: 'yz-int-token-3c5e7a9b1d' };
const SECRETS = [GF.appSecret, YZ.clientSecret, YZ.token];
const PAID_MSG = JSON.parse(fixtureBytes('youzan', 'trade-paid-msg.json').toString('utf8')) as Record<string, unknown>;

let goofish: GoofishFake;
let youzan: YouzanFake;
const goofishCred = () => ({ platform: 'goofish', goofishAppKey: GF.appKey, goofishAppSecret: GF.appSecret, goofishApiUrl: goofish.url });
const youzanCred = () => ({ platform: 'youzan', youzanClientId: YZ.clientId, youzanClientSecret: YZ.clientSecret, youzanAccessToken: YZ.token, youzanApiUrl: youzan.url });

beforeAll(async () => {
	goofish = await startGoofishFake(GF);
	youzan = await startYouzanFake(YZ.token);
});
afterAll(async () => {
	await Promise.all([goofish.close(), youzan.close()]);
	await closeAllStores();
});

describe('Shop Webhook: 闲管家 push and 有赞 message → Claim Key (n8n webhook path, SQLite)', () => {
	const cfg = storeConfig('sqlite');
	const keyStore = { database: 'sqlite', sqlitePath: cfg.sqlitePath as string, encryptionSecret: cfg.encryptionSecret, tablePrefix: 'ad_' };
	const claimKey: INode = {
		id: 'c1', name: 'Claim Key', type: CLAIM, typeVersion: 1, position: [200, 0],
		parameters: { orderId: '={{ $json.orderId }}', sku: '={{ $json.sku }}', quantity: '={{ $json.quantity }}', shop: '={{ $json.shop }}' },
	};
	const harness = (platform: string, cred: ICredentialDataDecryptedObject) =>
		startHarness({
			parameters: { platform, shopName: 'mystore', events: 'any', responseMode: 'lastNode', responseData: 'allEntries' },
			credentials: { autoDeliveryShopApi: cred, autoDeliveryKeyStore: keyStore },
			downstream: [claimKey],
			engine: true,
		});
	let gh: Harness;
	let yh: Harness;
	beforeAll(async () => {
		await bootN8nCore();
		const store = await getStore({ ...cfg, tablePrefix: 'ad_' });
		await store.importKeys({ sku: 'XY-STEAM-50', keys: ['XY-KEY-0001-AAAA', 'XY-KEY-0002-BBBB'] });
		await store.importKeys({ sku: 'YZ-GAME-100', keys: ['YZ-KEY-0001-CCCC', 'YZ-KEY-0002-DDDD'] });
		gh = await harness('goofish', goofishCred());
		yh = await harness('youzan', youzanCred());
	});
	afterAll(async () => {
		await Promise.all([gh.close(), yh.close()]);
		await closeAllStores();
		await dropStore(cfg);
	});

	it('闲管家: a signed push is completed from the order details and claims once; a replay gets the same keys; a forged push is a 401 and starts nothing', async () => {
		const orderNo = '2226688164543569901';
		goofish.addOrder({ orderNo, sku: 'XY-STEAM-50', payAmountFen: 1990 });
		const body = pushBody(orderNo, 12);
		const first = await post(`${gh.url}?${goofish.signedQuery(body)}`, body, { 'content-type': 'application/json' });
		const call = await settled(gh);
		expect(first.status).toBe(200);
		expect(call.run?.executionOrder).toEqual(['Shop Webhook', 'Claim Key']);
		expect(first.body).toEqual([expect.objectContaining({ shop: 'goofish:mystore', orderId: orderNo, sku: 'XY-STEAM-50', quantity: 1, alreadyDelivered: false })]);
		const detail = goofish.requests.find((r) => r.path === '/api/open/order/detail');
		expect(detail?.body).toEqual({ order_no: orderNo });
		const again = await post(`${gh.url}?${goofish.signedQuery(body)}`, body, { 'content-type': 'application/json' });
		await settled(gh);
		const [a, b] = [first.body, again.body] as Array<Array<{ deliveryId: number; alreadyDelivered: boolean }>>;
		expect(b[0]).toMatchObject({ deliveryId: a[0].deliveryId, alreadyDelivered: true });
		const forged = await post(`${gh.url}?${goofish.signedQuery(body, undefined, 'wrong')}`, body, { 'content-type': 'application/json' });
		const forgedCall = await settled(gh);
		expect(forged.status).toBe(401);
		expect(forged.body).toMatchObject({ reason: 'mismatch', field: 'sign' });
		expectNothingEmitted(forgedCall);
		for (const s of SECRETS) expect(first.text + again.text + forged.text).not.toContain(s);
	});

	it('有赞: trade_TradePaid claims once; a wrong secret is a 401 and starts nothing', async () => {
		const tid = 'E20261123100000012349901';
		const p = pushMessage({ clientId: YZ.clientId, clientSecret: YZ.clientSecret, type: 'trade_TradePaid', msg: tradePaidMsg(PAID_MSG, tid, 'YZ-GAME-100') });
		const ok = await post(yh.url, p.body, p.headers);
		await settled(yh);
		expect(ok.status).toBe(200);
		expect(ok.body).toEqual([expect.objectContaining({ shop: 'youzan:mystore', orderId: tid, sku: 'YZ-GAME-100', alreadyDelivered: false })]);
		const bad = pushMessage({ clientId: YZ.clientId, clientSecret: 'wrong', type: 'trade_TradePaid', msg: tradePaidMsg(PAID_MSG, tid, 'YZ-GAME-100') });
		const refused = await post(yh.url, bad.body, bad.headers);
		const call = await settled(yh);
		expect(refused.status).toBe(401);
		expectNothingEmitted(call);
	});
});

// ---------------------------------------------------------------------------------------------
// 有赞 refunds of order lines on every database

const OIDS = ['1234567890123456789', '1234567890123456790'];
const TWO_LINES: YouzanLine[] = [{ oid: OIDS[0], sku: 'YZ-GAME-100' }, { oid: OIDS[1], sku: 'YZ-GAME-200' }];

for (const kind of ['sqlite', 'postgres', 'mysql'] as DbKind[]) {
	describeDb(kind, 'Shop Webhook 有赞: a refund of order lines (oids) → Revoke on Refund', () => {
		const cfg = storeConfig(kind, { tablePrefix: `yr${Date.now().toString(36).slice(-4)}_` });
		const keyStore = { ...cfg, tablePrefix: cfg.tablePrefix } as unknown as ICredentialDataDecryptedObject;
		const KEYS: string[] = [];
		let store: KeyStore;
		let seq = 0;
		const tid = () => `E2026112410${String(Date.now()).slice(-8)}${++seq}${kind.length}`;
		const claimKey: INode = {
			id: 'c1', name: 'Claim Key', type: CLAIM, typeVersion: 1, position: [200, 0],
			parameters: { orderId: '={{ $json.orderId }}', sku: '={{ $json.sku }}', quantity: '={{ $json.quantity }}', shop: '={{ $json.shop }}' },
		};
		// as the bundled workflow's "One Item per Refunded Line": one item per refunded SKU, or one with an empty SKU (the whole order)
		const perLine: INode = {
			id: 's1', name: 'One Item per Refunded Line', type: SET_ITEMS_NODE_TYPE, typeVersion: 1, position: [200, 0],
			parameters: { items: "={{ JSON.stringify(($json.items.length ? $json.items : [{ sku: '' }]).map((i) => ({ orderId: $json.orderId, shop: $json.shop, sku: i.sku }))) }}" },
		};
		const revoke: INode = { id: 'r1', name: 'Revoke on Refund', type: REVOKE, typeVersion: 1, position: [400, 0], parameters: { orderId: '={{ $json.orderId }}', shop: '={{ $json.shop }}', sku: '={{ $json.sku }}' } };
		const harness = (downstream: INode[], cred: ICredentialDataDecryptedObject) =>
			startHarness({
				parameters: { platform: 'youzan', shopName: 'mystore', events: 'any', responseMode: 'lastNode', responseData: 'allEntries' },
				credentials: { autoDeliveryShopApi: cred, autoDeliveryKeyStore: keyStore },
				downstream,
				engine: true,
			});
		let paidH: Harness;
		let refundH: Harness;
		let noTokenH: Harness;
		let badTokenH: Harness;
		beforeAll(async () => {
			await bootN8nCore();
			store = await getStore(storeConfigFromCredentials(keyStore));
			for (const sku of ['YZ-GAME-100', 'YZ-GAME-200']) {
				const keys = Array.from({ length: 8 }, (_, i) => `${sku}-${kind}-REFUND-KEY-${i}-SECRET`);
				KEYS.push(...keys);
				await store.importKeys({ sku, keys });
			}
			paidH = await harness([claimKey], youzanCred());
			refundH = await harness([perLine, revoke], youzanCred());
			noTokenH = await harness([perLine, revoke], { ...youzanCred(), youzanAccessToken: '' });
			badTokenH = await harness([perLine, revoke], { ...youzanCred(), youzanAccessToken: 'yz-expired-token-7f3a9c' });
		});
		afterAll(async () => {
			await Promise.all([paidH, refundH, noTokenH, badTokenH].map((h) => h?.close()));
			await closeAllStores();
			await dropStore(cfg);
		});
		const send = async (h: Harness, type: string, msg: Record<string, unknown>) => {
			const p = pushMessage({ clientId: YZ.clientId, clientSecret: YZ.clientSecret, type, msg });
			const answer = await post(h.url, p.body, p.headers);
			return { answer, call: await settled(h) };
		};
		/** A paid two-line trade, both lines claimed through Shop Webhook → Claim Key. */
		async function paidTrade(): Promise<string> {
			const t = tid();
			youzan.addTrade(t, TWO_LINES);
			const { answer } = await send(paidH, 'trade_TradePaid', tradePaidMsg(PAID_MSG, t, TWO_LINES));
			expect(answer.status).toBe(200);
			expect((answer.body as Array<{ sku: string }>).map((i) => i.sku)).toEqual(['YZ-GAME-100', 'YZ-GAME-200']);
			return t;
		}
		const statuses = async (t: string) => Object.fromEntries((await store.getDeliveries({ orderId: t, shop: 'youzan:mystore' })).map((d) => [d.sku, d.status]));
		const refundMsg = (t: string, oids?: string) => ({ tid: t, ...(oids === undefined ? {} : { oids }), refund_id: `2018${seq}`, refunded_fee: '99.90', update_time: '2026-11-24 12:00:00' });

		it('a refund of one line revokes only that line’s keys (read with youzan.trade.get and the token); the other line stays delivered', async () => {
			const t = await paidTrade();
			const { answer, call } = await send(refundH, 'trade_refund_RefundSuccess', refundMsg(t, OIDS[1]));
			expect(answer.status).toBe(200);
			expect(call.run?.executionOrder).toEqual(['Shop Webhook', 'One Item per Refunded Line', 'Revoke on Refund']);
			expect(call.emitted?.map((i) => i.json)).toEqual([expect.objectContaining({ event: 'order.refunded', orderId: t, items: [{ sku: 'YZ-GAME-200', quantity: null }] })]);
			expect(await statuses(t)).toEqual({ 'YZ-GAME-100': 'claimed', 'YZ-GAME-200': 'revoked' });
			const read = youzan.requests.filter((r) => r.path === '/api/youzan.trade.get/4.0.0' && (r.body as { tid?: string }).tid === t);
			expect(read.map((r) => r.query.access_token)).toEqual([YZ.token]);
			for (const k of [...KEYS, ...SECRETS]) expect(answer.text).not.toContain(k);
		});

		it('a refund of every line (oids comma-separated), or one without oids, revokes the whole order', async () => {
			const t = await paidTrade();
			expect((await send(refundH, 'trade_refund_RefundSuccess', refundMsg(t, OIDS.join(',')))).answer.status).toBe(200);
			const whole = { 'YZ-GAME-100': 'revoked', 'YZ-GAME-200': 'revoked', '*': 'revoked' }; // '*': the order-wide tombstone of a whole-order refund
			expect(await statuses(t)).toEqual(whole);
			const t2 = await paidTrade();
			const before = youzan.requests.length;
			const { call } = await send(refundH, 'trade_refund_RefundSuccess', refundMsg(t2));
			expect(call.emitted?.map((i) => i.json)).toEqual([expect.objectContaining({ orderId: t2, items: [] })]);
			expect(await statuses(t2)).toEqual(whole);
			expect(youzan.requests.length).toBe(before); // no oids: nothing to look up
		});

		it('no access token → 400 naming the credential; a refused token → 503 without a `code` (有赞 retries); nothing revoked, no token in the answer', async () => {
			const t = await paidTrade();
			const none = await send(noTokenH, 'trade_refund_RefundSuccess', refundMsg(t, OIDS[0]));
			expect(none.answer.status).toBe(400);
			expect(none.answer.body).toMatchObject({ field: 'credentials', error: expect.stringMatching(/needs the Access Token in the Auto Delivery Shop API credential\. Nothing was revoked/) });
			expectNothingEmitted(none.call);
			const bad = await send(badTokenH, 'trade_refund_RefundSuccess', refundMsg(t, OIDS[0]));
			expect(bad.answer.status).toBe(503);
			expect(bad.answer.body).toMatchObject({ field: 'credentials', error: expect.stringMatching(/^Reading the order from the youzan API failed: 有赞 refused youzan\.trade\.get for trade E\w+ .*\(code 4201\)/) });
			expect(bad.answer.body).not.toHaveProperty('code'); // 有赞 reads {"code": 0} as success
			expect(bad.call.emitted).toBeNull();
			expect(await statuses(t)).toEqual({ 'YZ-GAME-100': 'claimed', 'YZ-GAME-200': 'claimed' });
			for (const s of ['yz-expired-token-7f3a9c', ...SECRETS]) expect(none.answer.text + bad.answer.text + String(bad.call.error?.message)).not.toContain(s);
		});
	});
}

// ---------------------------------------------------------------------------------------------
// Mark Shipped on every database

const SHIP = 'n8n-nodes-auto-delivery.markShipped';
const nodeTypes: Record<string, INodeType> = { [MANUAL_TRIGGER_NODE_TYPE]: manualTriggerNode, [SET_ITEMS_NODE_TYPE]: setItemsNode, [SHIP]: new MarkShipped() };
const { node, start, data, json } = workflowBuilders();

for (const kind of ['sqlite', 'postgres', 'mysql'] as DbKind[]) {
	describeDb(kind, 'Mark Shipped: 闲管家 and 有赞 presets', () => {
		const cfg = storeConfig(kind, { tablePrefix: `cn${Date.now().toString(36).slice(-4)}_` });
		const keyCred: ICredentialDataDecryptedObject = { ...cfg, database: cfg.database, encryptionSecret: cfg.encryptionSecret, tablePrefix: cfg.tablePrefix } as unknown as ICredentialDataDecryptedObject;
		const KEYS: string[] = [];
		let store: KeyStore;
		let seq = 0;
		beforeAll(async () => {
			store = await getStore(storeConfigFromCredentials(keyCred));
			for (const sku of ['XY-STEAM-50', 'XY-STEAM-100']) {
				const keys = Array.from({ length: 10 }, (_, i) => `${sku}-${kind}-KEY-${i}-SECRET`);
				KEYS.push(...keys);
				await store.importKeys({ sku, keys });
			}
		});
		afterAll(async () => {
			await closeAllStores();
			await dropStore(cfg);
		});
		async function line(shop: string, orderId: string, sku: string, send: boolean) {
			const r = await store.claim({ orderId, sku, quantity: 1, shop });
			if (!r.delivered) throw new Error(r.reason);
			if (send) {
				const b = await store.beginSend(r.delivery.id);
				if (b.kind !== 'go') throw new Error(b.kind);
				await store.markSent(r.delivery.id, b.token, { channel: 'webhook', messageId: `m${r.delivery.id}` });
			}
			return r.delivery.id;
		}
		const shipNode = (platform: string) => node('Ship', SHIP, { lookup: 'deliveryId', deliveryId: '={{ $json.deliveryId }}', mode: 'callApi', platform, requireSent: true, whenNotSent: 'route', options: { backoffMs: 5, timeoutMs: 3000 } });
		const run = (ids: number[], platform: string, cred: Record<string, unknown>, extra: Partial<INode> = {}) =>
			runWorkflow(
				{ nodes: [start(), data(ids.map((deliveryId) => ({ deliveryId }))), { ...shipNode(platform), ...extra }], connections: chain('Start', 'Data', 'Ship') },
				{ nodeTypes, credentials: [{ type: 'autoDeliveryKeyStore', data: keyCred }, { type: 'autoDeliveryShopApi', data: cred }] },
			);

		it('闲管家: not before every line of the order was sent; then one signed order/ship for the order, the answer as reference', async () => {
			const orderNo = `22266881645${String(Date.now()).slice(-6)}${++seq}${kind.length}`;
			goofish.addOrder({ orderNo, sku: 'XY-STEAM-50' });
			const a = await line('goofish:mystore', orderNo, 'XY-STEAM-50', true);
			const b = await line('goofish:mystore', orderNo, 'XY-STEAM-100', false);
			const early = await run([a], 'goofish', goofishCred());
			expect(json(early.outputs.Ship[1])[0]).toMatchObject({ ship: { shipped: false, reason: 'not_sent' } });
			expect(goofish.ships.filter((s) => s.orderNo === orderNo)).toHaveLength(0);
			const bSend = await store.beginSend(b);
			if (bSend.kind !== 'go') throw new Error(bSend.kind);
			await store.markSent(b, bSend.token, { channel: 'webhook', messageId: 'mb' });
			const r = await run([a, b, a], 'goofish', goofishCred());
			expect(r.status).toBe('success');
			const shipped = json(r.outputs.Ship[0]).map((i) => (i.ship as Record<string, unknown>).shipped);
			expect(shipped).toEqual([true, true, true]);
			expect(goofish.ships.filter((s) => s.orderNo === orderNo)).toHaveLength(1);
			expect((await store.getDeliveryById(a))?.shopReference).toBe('code=0');
			const call = goofish.requests.find((q) => q.path === '/api/open/order/ship' && (q.body as { order_no?: string }).order_no === orderNo);
			expect(call?.query).toMatchObject({ appid: GF.appKey });
			expect(call?.rawBody).toBe(JSON.stringify({ order_no: orderNo, waybill_no: orderNo, express_code: 'qita', express_name: '其他' }));
		});

		it('闲管家 refuses (non-zero code): a clear node error without keys or secrets, recorded as ship_failed, the line stays sent; continueOnFail gives an error item', async () => {
			const orderNo = `33366881645${String(Date.now()).slice(-6)}${++seq}${kind.length}`;
			goofish.addOrder({ orderNo, sku: 'XY-STEAM-50' });
			goofish.orders.get(orderNo)!.order_status = 22; // already done: 闲管家 refuses to ship it
			const id = await line('goofish:mystore', orderNo, 'XY-STEAM-50', true);
			const r = await run([id], 'goofish', goofishCred());
			expect(r.status).toBe('error');
			const message = String(r.error?.message ?? '');
			expect(message).toMatch(/闲管家 refused 订单物流发货 for order \d+ \(code 1003\): “订单状态不允许发货”/);
			for (const s of [...KEYS, ...SECRETS]) expect(JSON.stringify(r.raw)).not.toContain(s);
			expect((await store.getDeliveryById(id))?.status).toBe('sent');
			const soft = await run([id], 'goofish', goofishCred(), { continueOnFail: true });
			expect(soft.status).toBe('success');
			const items = soft.outputs.Ship.flatMap((out) => json(out));
			expect(items).toEqual([expect.objectContaining({ error: expect.stringMatching(/code 1003/) })]);
		});

		it('有赞: one logistics.online.confirm (is_no_express=1) per trade with the token; a bad token is a clear error', async () => {
			const tid = `E2026${String(Date.now()).slice(-8)}${++seq}${kind}`.replace(/[^A-Za-z0-9]/g, '');
			youzan.addTrade(tid);
			const a = await line('youzan:mystore', tid, 'XY-STEAM-50', true);
			const r = await run([a, a], 'youzan', youzanCred());
			expect(r.status).toBe('success');
			expect(youzan.confirms.filter((c) => c.tid === tid)).toEqual([expect.objectContaining({ body: { tid, is_no_express: 1 } })]);
			expect((await store.getDeliveryById(a))?.shopReference).toBe('is_success=true');
			const tid2 = `${tid}B`;
			youzan.addTrade(tid2);
			const b = await line('youzan:mystore', tid2, 'XY-STEAM-50', true);
			const bad = await run([b], 'youzan', { ...youzanCred(), youzanAccessToken: 'expired-token-0000' });
			expect(bad.status).toBe('error');
			expect(String(bad.error?.message)).toMatch(/有赞 refused youzan.logistics.online.confirm .*code 4201.*access token/);
			expect(JSON.stringify(bad.raw)).not.toContain('expired-token-0000');
		});
	});
}

describe('Shop API credential test: 闲管家 and 有赞', () => {
	const test = (data: Record<string, unknown>) => testShopApiCredential.call({} as never, { id: '1', name: 'c', type: 'autoDeliveryShopApi', data } as never);
	it('one signed read-only call each; wrong keys are named without a secret', async () => {
		expect(await test(goofishCred())).toMatchObject({ status: 'OK', message: expect.stringMatching(/Connected to 闲管家 .*1 authorised 闲鱼 shop/) });
		const wrong = await test({ ...goofishCred(), goofishAppSecret: 'not-it-0000' });
		expect(wrong).toMatchObject({ status: 'Error', message: expect.stringMatching(/code 1002.*签名错误/) });
		expect(await test(youzanCred())).toMatchObject({ status: 'OK', message: expect.stringMatching(/有赞 shop “有赞测试店”/) });
		expect((await test({ ...youzanCred(), youzanAccessToken: 'bad-token-0000' })).message).not.toContain('bad-token-0000');
	});
});
