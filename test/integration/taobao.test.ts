/**
 * Taobao / Tmall in n8n's own engine against the local TOP router fake (test/helpers/fakes/topRouter.ts):
 *
 * - Taobao Trigger's poll() in n8n-core's PollContext: paid trades over several pages with exact
 *   19-digit tids, Shop Webhook's one-item-per-line shape, the cursor in the static data (a second
 *   poll emits nothing; trades changed or added between polls come once), refunds, a manual test
 *   poll that does not move the cursor, an expired session as a clear node error that loses nothing.
 * - Mark Shipped's taobao preset on a real SQLite store: nothing before a recorded send (also not
 *   while another line of the trade is unsent), one logistics.dummy.send per trade — a second line
 *   is a recorded no-op —, identCode only when switched on and no key in any error, the store or
 *   the output.
 */
import type { ICredentialDataDecryptedObject, IDataObject, INode, INodeExecutionData, INodeType } from 'n8n-workflow';

import { closeAllStores, getStore, type KeyStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { MarkShipped } from '../../nodes/MarkShipped/MarkShipped.node';
import { TaobaoTrigger } from '../../nodes/TaobaoTrigger/TaobaoTrigger.node';
import { testShopApiCredential } from '../../nodes/shared/shopApi';
import { storeConfigFromCredentials } from '../../nodes/shared/store';
import { dropStore, storeConfig } from '../helpers/db';
import { startTopRouter, tids19, type FakeOrder, type TopRouterFake } from '../helpers/fakes/topRouter';
import { MANUAL_TRIGGER_NODE_TYPE, SET_ITEMS_NODE_TYPE, chain, manualTriggerNode, runPoll, runWorkflow, setItemsNode, workflowBuilders } from '../helpers/n8nEngine';

const APP_KEY = '23456789';
const APP_SECRET = 'b7c8d9e0f1a2b3c4d5e6f708192a3b4c';
const SESSION = '61020a8f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2';
const TRIGGER = 'n8n-nodes-auto-delivery.taobaoTrigger';
const SHIP = 'n8n-nodes-auto-delivery.markShipped';
const SHOP = 'taobao:mystore';

let fake: TopRouterFake;
const shopCred = (over: Record<string, unknown> = {}) => ({ platform: 'taobao', taobaoAppKey: APP_KEY, taobaoAppSecret: APP_SECRET, taobaoSession: SESSION, taobaoSignMethod: 'hmac', taobaoRouterUrl: fake.url, ...over });
const line = (oid: string, sku: string, num = 1): FakeOrder => ({ oid, num, num_iid: '600112233445', title: `Steam ${sku}`, price: '50.00', payment: (50 * num).toFixed(2), outer_sku_id: sku });

beforeAll(async () => {
	fake = await startTopRouter({ appKey: APP_KEY, appSecret: APP_SECRET, session: SESSION });
});
afterAll(async () => {
	await fake.close();
	await closeAllStores();
});
beforeEach(() => fake.reset());

describe('Taobao Trigger', () => {
	const trigger = new TaobaoTrigger();
	const triggerNode = (params: Record<string, unknown> = {}): INode => ({
		id: 'trigger',
		name: 'Taobao Trigger',
		type: TRIGGER,
		typeVersion: 1,
		position: [0, 0],
		parameters: { events: ['paid', 'refunded'], shopName: 'mystore', skuFrom: 'outer_sku_id', options: { pageSize: 4, settleSeconds: 0, retries: 0 }, ...params },
	});
	const poll = (staticData: IDataObject, params?: Record<string, unknown>, cred = shopCred(), mode: 'trigger' | 'manual' = 'trigger') =>
		runPoll(triggerNode(params), { nodeType: trigger, staticData, mode, credentials: [{ type: 'autoDeliveryShopApi', data: cred }] });
	const jsons = (r: INodeExecutionData[][] | null) => (r?.[0] ?? []).map((i) => i.json);

	it('emits every paid line across pages with exact 19-digit tids, once; changed and new trades between polls come once', async () => {
		const now = fake.clock();
		const ids = tids19(10);
		ids.forEach((tid, i) =>
			fake.addTrade({ tid, buyer_nick: `买家${i}`, payment: '150.00', modified: now - 30 * 60_000 + i * 60_000, orders: i === 0 ? [line(`${tid}1`.slice(1), 'STEAM-50', 2), line(`${tid}2`.slice(1), 'STEAM-100')] : [line(`${tid}3`.slice(1), 'STEAM-50')] }),
		);
		fake.addTrade({ tid: '2840188394502390001', status: 'WAIT_BUYER_PAY', modified: now - 60_000, orders: [line('1', 'STEAM-50')] });
		const staticData: IDataObject = {};
		const first = jsons(await poll(staticData));
		expect(first).toHaveLength(11);
		expect(new Set(first.map((j) => j.orderId))).toEqual(new Set(ids));
		expect(first.find((j) => j.orderId === ids[0] && j.sku === 'STEAM-100')).toEqual({
			event: 'order.paid',
			orderId: ids[0],
			shop: SHOP,
			buyer: { id: null, name: '买家0', email: null, ip: null },
			amount: 150,
			currency: 'CNY',
			paidAt: expect.any(String),
			sku: 'STEAM-100',
			name: 'Steam STEAM-100',
			quantity: 1,
			price: 50,
			line: 1,
			lines: 2,
			taobao: { tid: ids[0], oids: [`${ids[0]}2`.slice(1)] },
		});
		// 10 trades, pages of 4: page 1 for the total, then 3, 2, 1
		expect(fake.calls.filter((c) => c.method === 'taobao.trades.sold.increment.get').map((c) => c.params.page_no)).toEqual(['1', '3', '2', '1']);
		expect(JSON.parse(JSON.stringify(staticData))).toEqual(staticData);

		expect(await poll(staticData)).toBeNull();
		// between polls: one trade changes (still paid), one is shipped elsewhere, a new one arrives
		fake.modifyTrade(ids[4], { buyer_nick: 'changed' });
		fake.modifyTrade(ids[5], { status: 'WAIT_BUYER_CONFIRM_GOODS' });
		const [fresh] = tids19(1, '2840188394502392');
		fake.addTrade({ tid: fresh, orders: [line('2840188394502392999', 'STEAM-50')] });
		const third = jsons(await poll(staticData));
		expect(third.map((j) => j.orderId)).toEqual([fresh]);
	});

	it('refunds: one order.refunded item naming the refunded lines, after the paid one', async () => {
		const [tid] = tids19(1, '2840188394502393');
		fake.addTrade({ tid, modified: fake.clock() - 60_000, orders: [line('11', 'STEAM-50'), line('12', 'STEAM-100')] });
		const staticData: IDataObject = {};
		expect(jsons(await poll(staticData))).toHaveLength(2);
		fake.refund(tid, ['12']);
		expect(jsons(await poll(staticData))).toEqual([{ event: 'order.refunded', orderId: tid, shop: SHOP, buyer: { id: null, name: null, email: null, ip: null }, amount: null, currency: null, paidAt: null, items: [{ sku: 'STEAM-100', quantity: null }], taobao: { tid, refundIds: [expect.any(String)] } }]);
	});

	it('a manual test poll reads the look-back period without moving the cursor', async () => {
		const [tid] = tids19(1, '2840188394502394');
		fake.addTrade({ tid, modified: fake.clock() - 60_000, orders: [line('21', 'STEAM-50')] });
		const staticData: IDataObject = {};
		expect(jsons(await poll(staticData, undefined, shopCred(), 'manual')).map((j) => j.orderId)).toEqual([tid]);
		expect(staticData).toEqual({});
		expect(jsons(await poll(staticData)).map((j) => j.orderId)).toEqual([tid]);
	});

	it('an expired session is a node error telling the seller what to do; the orders come after the new key', async () => {
		const [tid] = tids19(1, '2840188394502395');
		fake.addTrade({ tid, modified: fake.clock() - 60_000, orders: [line('31', 'STEAM-50')] });
		fake.session = 'renewed-session-0001';
		const staticData: IDataObject = {};
		const e = (await poll(staticData).catch((x: unknown) => x)) as Error & { description?: string };
		expect(e.message).toMatch(/authorise the app for the shop again and update the Session Key/);
		expect(e.description).toMatch(/no order is lost/);
		expect(JSON.stringify(e)).not.toContain(SESSION);
		expect(jsons(await poll(staticData, undefined, shopCred({ taobaoSession: 'renewed-session-0001' }))).map((j) => j.orderId)).toEqual([tid]);
	});

	it('refuses a credential of another platform and an empty shop name before calling anything', async () => {
		await expect(poll({}, undefined, { platform: 'woocommerce' } as ReturnType<typeof shopCred>)).rejects.toThrow(/set up for WooCommerce, not Taobao/);
		await expect(poll({}, { shopName: ' ' })).rejects.toThrow(/Shop Name is required/);
		expect(fake.calls).toHaveLength(0);
	});

	it('the credential test makes one signed read-only call and explains an invalid session', async () => {
		const ok = await testShopApiCredential.call({} as never, { id: '1', name: 'c', type: 'autoDeliveryShopApi', data: shopCred() as ICredentialDataDecryptedObject });
		expect(ok).toEqual({ status: 'OK', message: expect.stringMatching(/Connected to the Taobao router/) });
		const bad = await testShopApiCredential.call({} as never, { id: '1', name: 'c', type: 'autoDeliveryShopApi', data: shopCred({ taobaoSession: 'old' }) as ICredentialDataDecryptedObject });
		expect(bad).toEqual({ status: 'Error', message: expect.stringMatching(/update the Session Key/) });
	});
});

describe('Mark Shipped → Taobao', () => {
	const nodeTypes: Record<string, INodeType> = { [MANUAL_TRIGGER_NODE_TYPE]: manualTriggerNode, [SET_ITEMS_NODE_TYPE]: setItemsNode, [SHIP]: new MarkShipped() };
	const { node, start, data, json } = workflowBuilders();
	const cfg = storeConfig('sqlite');
	const keyCred: ICredentialDataDecryptedObject = { database: 'sqlite', sqlitePath: cfg.sqlitePath ?? '', encryptionSecret: cfg.encryptionSecret, tablePrefix: 'ad_' };
	const ALL_KEYS: string[] = [];
	let store: KeyStore;

	beforeAll(async () => {
		store = await getStore(storeConfigFromCredentials(keyCred));
		for (const sku of ['STEAM-50', 'STEAM-100']) {
			const keys = Array.from({ length: 30 }, (_, i) => `${sku}-KEY-${String(i).padStart(3, '0')}-SECRET-${(i * 7919).toString(36).toUpperCase()}`);
			ALL_KEYS.push(...keys);
			await store.importKeys({ sku, keys, productName: `Steam ${sku.slice(6)}` });
		}
	});
	afterAll(async () => {
		await closeAllStores();
		await dropStore(cfg);
	});

	async function claimed(tid: string, sku: string, quantity = 1) {
		const r = await store.claim({ orderId: tid, sku, quantity, shop: SHOP, buyer: { id: null, name: 'tb_buyer', email: null } });
		if (!r.delivered) throw new Error(`not delivered: ${r.reason}`);
		return r.delivery.id;
	}
	async function markSent(id: number) {
		const b = await store.beginSend(id);
		if (b.kind !== 'go') throw new Error(`beginSend: ${b.kind}`);
		await store.markSent(id, b.token, { channel: 'webhook', messageId: `m${id}` });
	}
	const shipNode = (params: Record<string, unknown> = {}, extra: Partial<INode> = {}) =>
		node('Ship', SHIP, { lookup: 'deliveryId', deliveryId: '={{ $json.deliveryId }}', mode: 'callApi', platform: 'taobao', requireSent: true, whenNotSent: 'route', options: { backoffMs: 5, timeoutMs: 3000 }, ...params }, extra);
	const run = (items: unknown[], ship: INode, cred = shopCred()) =>
		runWorkflow({ nodes: [start(), data(items), ship], connections: chain('Start', 'Data', 'Ship') }, { nodeTypes, credentials: [{ type: 'autoDeliveryKeyStore', data: keyCred }, { type: 'autoDeliveryShopApi', data: cred }] });
	async function storeText(): Promise<string> {
		const i = internals(store);
		return JSON.stringify([await i.db(i.t.events).select('*'), await i.db(i.t.deliveries).select('*')]);
	}

	it('nothing before every line has a recorded send; then ONE dummy.send for the trade, the second line a recorded no-op', async () => {
		const [tid] = tids19(1, '2840188394502396');
		fake.addTrade({ tid, orders: [line('41', 'STEAM-50'), line('42', 'STEAM-100')] });
		const a = await claimed(tid, 'STEAM-50');
		const b = await claimed(tid, 'STEAM-100');
		await markSent(a);
		const early = await run([{ deliveryId: a }], shipNode());
		expect(json(early.outputs.Ship[1])[0].ship).toMatchObject({ shipped: false, reason: 'not_sent', message: expect.stringMatching(/STEAM-100.*logistics\.dummy\.send ships the whole trade.*虚假发货/) });
		expect(fake.calls).toHaveLength(0);

		await markSent(b);
		const r = await run([{ deliveryId: a }, { deliveryId: b }], shipNode());
		expect(r.status).toBe('success');
		expect(fake.dummySends).toEqual([{ tid, feature: '', at: expect.any(Number) }]);
		const [one, two] = json(r.outputs.Ship[0]);
		expect(one.ship).toMatchObject({ shipped: true, shopReference: 'is_success=true', platform: 'taobao', recordOnly: false });
		expect(two.ship).toMatchObject({ shipped: true, shopReference: 'is_success=true', platformNote: expect.stringMatching(/already sent with logistics\.dummy\.send/) });
		expect(fake.calls.map((c) => c.method)).toEqual(['taobao.logistics.dummy.send']);
		expect(fake.calls[0].params.tid).toBe(tid);
		const again = await run([{ deliveryId: a }], shipNode());
		expect(json(again.outputs.Ship[0])[0].ship).toMatchObject({ alreadyShipped: true });
		expect(fake.calls).toHaveLength(1);
	});

	it('identCode (opt-in) puts each line’s keys on its oid, only in that call; a refusal keeps no key anywhere', async () => {
		const [tid] = tids19(1, '2840188394502397');
		fake.addTrade({ tid, orders: [line('2840188394502397051', 'STEAM-50', 2)] });
		const id = await claimed(tid, 'STEAM-50', 2);
		await markSent(id);
		const keys = (await store.getDeliveryById(id, true))?.keys.map((k) => k.key as string) ?? [];
		expect(keys).toHaveLength(2);

		fake.fail('taobao.logistics.dummy.send', [{ code: '15', sub: 'isv.logistics-dummy-service-error' }]);
		const failed = await run([{ deliveryId: id }], shipNode({ taobaoIdentCode: true }));
		expect(failed.status).toBe('error');
		expect(failed.error?.message).toMatch(/^Taobao \/ Tmall call failed: Taobao refused taobao\.logistics\.dummy\.send/);
		const text = JSON.stringify([failed.error, failed.runData]) + (await storeText());
		for (const k of ALL_KEYS) expect(text).not.toContain(k);
		expect(fake.dummySends).toEqual([]);

		const ok = await run([{ deliveryId: id }], shipNode({ taobaoIdentCode: true }));
		expect(ok.status).toBe('success');
		expect(fake.dummySends.map((s) => s.feature)).toEqual([`identCode=2840188394502397051:${keys.join(',')}`]);
		const out = JSON.stringify(ok.runData) + (await storeText());
		for (const k of ALL_KEYS) expect(out).not.toContain(k);
	});

	it('a tid that is not a number and an expired session: clear errors, the delivery stays sent', async () => {
		const w = await claimed('TB-1', 'STEAM-50');
		await markSent(w);
		const bad = await run([{ deliveryId: w }], shipNode());
		expect(bad.error?.message).toMatch(/Taobao trade ids \(tid\) are whole numbers/);
		const [tid] = tids19(1, '2840188394502398');
		fake.addTrade({ tid, orders: [line('61', 'STEAM-50')] });
		const id = await claimed(tid, 'STEAM-50');
		await markSent(id);
		const r = await run([{ deliveryId: id }], shipNode(), shopCred({ taobaoSession: 'expired' }));
		expect(r.error?.message).toMatch(/update the Session Key/);
		expect(await store.getDeliveryById(id)).toMatchObject({ status: 'sent', shippedAt: null });
		expect(fake.dummySends).toEqual([]);
	});
});
