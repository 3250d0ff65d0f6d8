/**
 * Mark Shipped's platform presets inside n8n's own engine (n8n-core WorkflowExecute on workflow
 * JSON) on a real SQLite store, against local fakes built from the platforms' documentation
 * (test/helpers/fakes/): WooCommerce (order → completed, order note), Shopify (fulfillment orders →
 * fulfillmentCreate), and Stripe / Lemon Squeezy / Paddle (recorded only, nothing called).
 *
 * Promise 4 (no 虚假发货): nothing reaches the platform before a recorded send — not even for
 * another line of the same order, since both presets mark the whole order. One fulfil call per
 * delivery; re-runs call nothing. Retries on 5xx and timeouts, never on 4xx; a failure is recorded
 * as ship_failed and the delivery stays "sent". Promise 6: no key, consumer secret or access token in
 * the output, the errors, the store or the console. Also: the Shop API credential test per platform.
 */
import type { ICredentialDataDecryptedObject, INode, INodeType } from 'n8n-workflow';

import { closeAllStores, getStore, type KeyStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { MarkShipped } from '../../nodes/MarkShipped/MarkShipped.node';
import { testShopApiCredential } from '../../nodes/shared/shopApi';
import { storeConfigFromCredentials } from '../../nodes/shared/store';
import { captureOutput } from '../helpers/capture';
import { dropStore, storeConfig } from '../helpers/db';
import { basicCredentials } from '../helpers/fakes/http';
import { startPaddleFake, startStripeFake } from '../helpers/fakes/billing';
import { startShopifyFake, type ShopifyFake } from '../helpers/fakes/shopify';
import { startWooCommerceFake, type WooCommerceFake } from '../helpers/fakes/woocommerce';
import { MANUAL_TRIGGER_NODE_TYPE, SET_ITEMS_NODE_TYPE, chain, manualTriggerNode, runWorkflow, setItemsNode, workflowBuilders } from '../helpers/n8nEngine';

const SHIP = 'n8n-nodes-auto-delivery.markShipped';
const CK = 'ck_4f1e2d3c4b5a69788796a5b4c3d2e1f0';
const CS = 'cs_9a8b7c6d5e4f30211203f4e5d6c7b8a9';
const BASIC = Buffer.from(`${CK}:${CS}`).toString('base64');
const SHPAT = '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';
const CLIENT_ID = 'client-5e6f7a8b';
const CLIENT_SECRET = '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';
const STRIPE_KEY = 'sk_test_51Qa2b3c4d5e6f7g8h9i0j';
const PADDLE_KEY = 'pdl_sdbx_apikey_01gtgztp8f4kek3yd4g1wrksa3_q6TGTJ';
const SECRETS = [CK, CS, BASIC, SHPAT, CLIENT_SECRET, STRIPE_KEY, PADDLE_KEY];

const nodeTypes: Record<string, INodeType> = { [MANUAL_TRIGGER_NODE_TYPE]: manualTriggerNode, [SET_ITEMS_NODE_TYPE]: setItemsNode, [SHIP]: new MarkShipped() };
const { node, start, data, json } = workflowBuilders();
const captured = captureOutput();

const cfg = storeConfig('sqlite');
const keyCred: ICredentialDataDecryptedObject = { database: 'sqlite', sqlitePath: cfg.sqlitePath ?? '', encryptionSecret: cfg.encryptionSecret, tablePrefix: 'ad_' };
const SKU = 'STEAM-50';
const ALL_KEYS: string[] = [];
let store: KeyStore;
let woo: WooCommerceFake;
let shopify: ShopifyFake;
let shopifyApp: ShopifyFake;

beforeAll(async () => {
	store = await getStore(storeConfigFromCredentials(keyCred));
	for (const sku of [SKU, 'STEAM-100']) {
		const keys = Array.from({ length: 60 }, (_, i) => `${sku}-KEY-${String(i).padStart(3, '0')}-SECRET-${(i * 7919).toString(36).toUpperCase()}`);
		ALL_KEYS.push(...keys);
		await store.importKeys({ sku, keys, productName: `Steam ${sku.slice(6)}` });
	}
	woo = await startWooCommerceFake({ consumerKey: CK, consumerSecret: CS });
	shopify = await startShopifyFake({ accessToken: SHPAT });
	shopifyApp = await startShopifyFake({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
});
afterAll(async () => {
	await Promise.all([woo.close(), shopify.close(), shopifyApp.close()]);
	await closeAllStores();
	await dropStore(cfg);
});
beforeEach(() => {
	woo.clear();
	shopify.clear();
	shopifyApp.clear();
});

let seq = 0;
/** A claimed order line of `shop` (numeric order id, as WooCommerce and Shopify have them). */
async function claimed(shop: string, orderId = String(7000 + ++seq), sku = SKU, quantity = 1) {
	const r = await store.claim({ orderId, sku, quantity, shop, reveal: true, buyer: { id: 'b1', name: 'Ming', email: 'ming@example.com' } });
	if (!r.delivered) throw new Error(`not delivered: ${r.reason}`);
	return { id: r.delivery.id, orderId, shop, keys: r.delivery.keys.map((k) => k.key as string) };
}
/** A line with a recorded send, as Notify Buyer leaves it. */
async function sent(shop: string, orderId?: string, sku = SKU, quantity = 1) {
	const d = await claimed(shop, orderId, sku, quantity);
	await markSent(d.id);
	return d;
}
async function markSent(id: number) {
	const b = await store.beginSend(id);
	if (b.kind !== 'go') throw new Error(`beginSend: ${b.kind}`);
	await store.markSent(id, b.token, { channel: 'email', messageId: `<m${id}@test>` });
}

const shipNode = (platform: string, params: Record<string, unknown> = {}, extra: Partial<INode> = {}) =>
	node('Ship', SHIP, { lookup: 'deliveryId', deliveryId: '={{ $json.deliveryId }}', mode: 'callApi', platform, requireSent: true, whenNotSent: 'route', options: { backoffMs: 5, timeoutMs: 3000 }, ...params }, extra);
const creds = (shop?: Record<string, unknown>) => [{ type: 'autoDeliveryKeyStore', data: keyCred }, ...(shop ? [{ type: 'autoDeliveryShopApi', data: shop }] : [])];
const run = (items: unknown[], ship: INode, shopCred?: Record<string, unknown>) =>
	runWorkflow({ nodes: [start(), data(items), ship], connections: chain('Start', 'Data', 'Ship') }, { nodeTypes, credentials: creds(shopCred) });
const events = async (d: { orderId: string; shop: string }, type?: string) => (await store.listEvents({ orderId: d.orderId, shop: d.shop, type })).reverse();
const shipOf = (items: Parameters<typeof json>[0]) => json(items)[0]?.ship as Record<string, unknown>;
async function storeText(): Promise<string> {
	const i = internals(store);
	return JSON.stringify([await i.db(i.t.events).select('*'), await i.db(i.t.deliveries).select('*')]);
}

const wooCred = (over: Record<string, unknown> = {}) => ({ platform: 'woocommerce', wooStoreUrl: woo.url, wooConsumerKey: CK, wooConsumerSecret: CS, wooAllowHttp: true, ...over });
const shopifyCred = (over: Record<string, unknown> = {}) => ({ platform: 'shopify', shopifyShop: 'mystore', shopifyAuth: 'accessToken', shopifyAccessToken: SHPAT, shopifyApiVersion: '2026-10', shopifyAdminUrl: shopify.url, ...over });
const GRAPHQL = '/admin/api/2026-10/graphql.json';

describe('WooCommerce preset', () => {
	const SHOP = 'woocommerce:mystore';
	const orderPath = (id: string) => `/wp-json/wc/v3/orders/${id}`;

	it('refuses a delivery not sent yet: Not Sent output, WooCommerce hears nothing', async () => {
		const d = await claimed(SHOP);
		woo.addOrder(Number(d.orderId));
		const r = await run([{ deliveryId: d.id }], shipNode('woocommerce'), wooCred());
		expect(r.status).toBe('success');
		expect(r.outputs.Ship[0]).toEqual([]);
		expect(shipOf(r.outputs.Ship[1])).toEqual({ shipped: false, reason: 'not_sent', message: expect.stringMatching(/fake shipping \(虚假发货\)/), platform: 'woocommerce' });
		expect(woo.requests).toHaveLength(0);
		expect(woo.orders.get(Number(d.orderId))?.status).toBe('processing');
	});

	it('after a recorded send: exactly one PUT {"status":"completed"} with Basic auth; a re-run calls nothing', async () => {
		const d = await sent(SHOP);
		woo.addOrder(Number(d.orderId));
		const r = await run([{ deliveryId: d.id, keep: 1 }], shipNode('woocommerce'), wooCred());
		expect(r.status).toBe('success');
		expect(woo.requests.map((q) => [q.method, q.path, q.body])).toEqual([['PUT', orderPath(d.orderId), { status: 'completed' }]]);
		expect(basicCredentials(woo.requests[0].headers.authorization)).toEqual({ user: CK, password: CS });
		expect(woo.orders.get(Number(d.orderId))?.status).toBe('completed');
		expect(json(r.outputs.Ship[0])).toEqual([
			{
				deliveryId: d.id,
				keep: 1,
				orderId: d.orderId,
				shop: SHOP,
				sku: SKU,
				status: 'shipped',
				ship: { shipped: true, alreadyShipped: false, shopReference: d.orderId, shippedAt: expect.any(String), attempts: 1, recordOnly: false, httpStatus: 200, platform: 'woocommerce' },
			},
		]);
		expect((await events(d, 'shipped')).map((e) => e.details)).toEqual([{ shopReference: d.orderId, recordOnly: false }]);

		const again = await run([{ deliveryId: d.id }], shipNode('woocommerce'), wooCred());
		expect(shipOf(again.outputs.Ship[0])).toMatchObject({ shipped: true, alreadyShipped: true, attempts: 0, shopReference: d.orderId });
		expect(woo.requests).toHaveLength(1);
	});

	it('an order note for the customer lists the delivery with its keys masked — never a plaintext key', async () => {
		const d = await sent(SHOP, undefined, SKU, 2);
		woo.addOrder(Number(d.orderId));
		const r = await run([{ deliveryId: d.id }], shipNode('woocommerce', { wooNote: 'customer' }), wooCred());
		expect(r.status).toBe('success');
		expect(woo.requests.map((q) => [q.method, q.path])).toEqual([['PUT', orderPath(d.orderId)], ['POST', `${orderPath(d.orderId)}/notes`]]);
		const [note] = woo.orders.get(Number(d.orderId))?.notes ?? [];
		expect(note).toMatchObject({ customer_note: true, note: expect.stringMatching(new RegExp(`^Delivered automatically: 2 × Steam 50 \\(SKU ${SKU}\\), delivery ${d.id}: \\S+…\\S+, \\S+…\\S+\\.$`)) });
		for (const k of d.keys) expect(woo.requests[1].rawBody).not.toContain(k);
		expect(shipOf(r.outputs.Ship[0])).toMatchObject({ shipped: true, attempts: 2 });
		expect(shipOf(r.outputs.Ship[0])).not.toHaveProperty('platformNote');
	});

	it('5xx is retried, then recorded as ship_failed (still "sent"); the next run ships', async () => {
		const d = await sent(SHOP);
		woo.addOrder(Number(d.orderId));
		woo.faults(`PUT ${orderPath(d.orderId)}`, [500, 502, 503, 500]);
		const r = await run([{ deliveryId: d.id }], shipNode('woocommerce'), wooCred());
		expect(woo.requests).toHaveLength(4);
		expect(r.status).toBe('error');
		expect(r.error?.message).toBe('WooCommerce call failed: The server answered 500 Internal Server Error. Gave up after 4 attempts.');
		expect((r.error as unknown as { httpCode?: string }).httpCode).toBe('500');
		const after = await store.getDeliveryById(d.id);
		expect(after).toMatchObject({ status: 'sent', shippedAt: null, lastError: r.error?.message });
		expect((await events(d, 'ship_failed')).map((e) => e.details)).toEqual([{ error: r.error?.message, status: 500 }]);

		woo.clear();
		woo.faults(`PUT ${orderPath(d.orderId)}`, [503, 'timeout', 'ok']);
		const ok = await run([{ deliveryId: d.id }], shipNode('woocommerce', { options: { backoffMs: 5, timeoutMs: 400 } }), wooCred());
		expect(woo.requests.map((q) => q.outcome)).toEqual([503, 'timeout', 200]);
		expect(shipOf(ok.outputs.Ship[0])).toMatchObject({ shipped: true, attempts: 3, httpStatus: 200 });
		expect(await store.getDeliveryById(d.id)).toMatchObject({ status: 'shipped', lastError: null });
	});

	it('4xx is not retried: an unknown order is one call, a clear error, ship_failed; On Error → Continue routes it', async () => {
		const d = await sent(SHOP);
		const r = await run([{ deliveryId: d.id }], shipNode('woocommerce'), wooCred());
		expect(woo.requests).toHaveLength(1);
		expect(r.error?.message).toMatch(/^WooCommerce call failed: The server refused the request: 404 Not Found — .*Invalid ID\..*Not retried/);
		expect((await events(d, 'ship_failed')).map((e) => e.details)).toEqual([{ error: expect.stringMatching(/404/), status: 404 }]);
		const c = await run([{ deliveryId: d.id }], shipNode('woocommerce', {}, { onError: 'continueRegularOutput' }), wooCred());
		expect(shipOf(c.outputs.Ship[1])).toMatchObject({ shipped: false, reason: 'error', httpStatus: 404, attempts: 1 });
		expect(woo.requests).toHaveLength(2);
	});

	it('refuses before anything: plain http without the option, an order id that is not a number, a credential of another platform', async () => {
		const d = await sent(SHOP);
		const w = await sent(SHOP, 'W-1001');
		const cases: Array<[number, Record<string, unknown>, RegExp]> = [
			[d.id, wooCred({ wooAllowHttp: false }), /uses plain http:\/\/.*Allow Plain HTTP \(Testing Only\)/],
			[w.id, wooCred(), /WooCommerce order ids are whole numbers .*"W-1001"/],
			[d.id, shopifyCred(), /set up for Shopify, not WooCommerce/],
			[d.id, { baseUrl: woo.url }, /set up for Custom HTTP API, not WooCommerce/],
		];
		for (const [id, cred, message] of cases) {
			const r = await run([{ deliveryId: id }], shipNode('woocommerce'), cred);
			expect(r.status).toBe('error');
			expect(r.error?.message).toMatch(message);
		}
		expect(woo.requests).toHaveLength(0);
		for (const x of [d, w]) expect((await events(x)).map((e) => e.type)).toEqual(['claimed', 'sent']);
	});

	it('HTTPS with a self-signed certificate: refused unless "Ignore SSL Issues" is on', async () => {
		const tls = await startWooCommerceFake({ consumerKey: CK, consumerSecret: CS }, { tls: true });
		try {
			const d = await sent(SHOP);
			tls.addOrder(Number(d.orderId));
			const bad = await run([{ deliveryId: d.id }], shipNode('woocommerce'), wooCred({ wooStoreUrl: tls.url, wooAllowHttp: false }));
			expect(bad.error?.message).toMatch(/^WooCommerce call failed: TLS\/SSL problem with 127\.0\.0\.1:\d+/);
			expect(tls.requests).toHaveLength(0);
			const ok = await run([{ deliveryId: d.id }], shipNode('woocommerce'), wooCred({ wooStoreUrl: tls.url, wooAllowHttp: false, ignoreSslIssues: true }));
			expect(shipOf(ok.outputs.Ship[0])).toMatchObject({ shipped: true, shopReference: d.orderId });
			expect(tls.orders.get(Number(d.orderId))?.status).toBe('completed');
		} finally {
			await tls.close();
		}
	});

	it('another line of the order not sent yet: the whole-order call waits (or the override ships it)', async () => {
		const a = await sent(SHOP);
		const b = await claimed(SHOP, a.orderId, 'STEAM-100');
		woo.addOrder(Number(a.orderId));
		const r = await run([{ deliveryId: a.id }], shipNode('woocommerce', { whenNotSent: 'error' }), wooCred());
		expect(r.status).toBe('error');
		expect(r.error?.message).toMatch(/has other lines not sent to the buyer yet \(SKU STEAM-100\): WooCommerce marks the whole order completed, so doing it now would be fake shipping/);
		expect(woo.requests).toHaveLength(0);
		await markSent(b.id);
		const ok = await run([{ deliveryId: a.id }, { deliveryId: b.id }], shipNode('woocommerce'), wooCred());
		expect(json(ok.outputs.Ship[0]).map((x) => (x.ship as { shipped: boolean }).shipped)).toEqual([true, true]);
		expect(woo.requests.map((q) => q.method)).toEqual(['PUT', 'PUT']);
	});

	it('"Plain" permalinks (HTML with 200) fail clearly, once', async () => {
		const d = await sent(SHOP);
		woo.plainHtml = true;
		try {
			const r = await run([{ deliveryId: d.id }], shipNode('woocommerce'), wooCred());
			expect(r.error?.message).toMatch(/not with order \d+ .*permalinks are not "Plain"/);
			expect(woo.requests).toHaveLength(1);
			expect(await store.getDeliveryById(d.id)).toMatchObject({ status: 'sent', lastError: expect.stringMatching(/Plain/) });
		} finally {
			woo.plainHtml = false;
		}
	});

	it('an answer echoing the request: the consumer secret and the Basic credentials are scrubbed everywhere', async () => {
		const d = await sent(SHOP, undefined, SKU, 2);
		woo.addOrder(Number(d.orderId));
		woo.faults('*', ['echo', 'echo']);
		const e = await run([{ deliveryId: d.id }], shipNode('woocommerce', { wooNote: 'private' }), wooCred());
		const c = await run([{ deliveryId: d.id }], shipNode('woocommerce', {}, { onError: 'continueRegularOutput' }), wooCred());
		expect(woo.requests.map((q) => q.outcome)).toEqual([400, 400]);
		expect(e.error?.message).toMatch(/400 Bad Request/);
		const seen = [JSON.stringify(e.raw), String(e.error?.message), JSON.stringify(e.error), JSON.stringify(c.raw), await storeText(), captured.join('\n')].join('\n');
		for (const s of [CS, BASIC, ...d.keys]) expect(seen).not.toContain(s);
	});
});

describe('Shopify preset', () => {
	const SHOP = 'shopify:mystore';

	it('refuses a delivery not sent yet; Shopify hears nothing', async () => {
		const d = await claimed(SHOP);
		shopify.addOrder(d.orderId, [{ status: 'OPEN' }]);
		const r = await run([{ deliveryId: d.id }], shipNode('shopify'), shopifyCred());
		expect(shipOf(r.outputs.Ship[1])).toMatchObject({ shipped: false, reason: 'not_sent', platform: 'shopify' });
		expect(shopify.requests).toHaveLength(0);
	});

	it('after a recorded send: the open fulfillment orders, then exactly one fulfillmentCreate (notifyCustomer off); a re-run calls nothing', async () => {
		const d = await sent(SHOP);
		shopify.addOrder(d.orderId, [{ id: 'gid://shopify/FulfillmentOrder/501', status: 'OPEN' }, { id: 'gid://shopify/FulfillmentOrder/502', status: 'CLOSED' }]);
		const r = await run([{ deliveryId: d.id }], shipNode('shopify'), shopifyCred());
		expect(r.status).toBe('success');
		expect(shopify.requests.map((q) => [q.method, q.path, q.headers['x-shopify-access-token']])).toEqual([
			['POST', GRAPHQL, SHPAT],
			['POST', GRAPHQL, SHPAT],
		]);
		expect(shopify.operations).toEqual([
			{ operation: 'fulfillmentOrders', version: '2026-10', variables: { id: `gid://shopify/Order/${d.orderId}` } },
			{ operation: 'fulfillmentCreate', version: '2026-10', variables: { fulfillment: { lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: 'gid://shopify/FulfillmentOrder/501' }], notifyCustomer: false } } },
		]);
		const reference = shopify.fulfillments[0].id;
		expect(shipOf(r.outputs.Ship[0])).toEqual({ shipped: true, alreadyShipped: false, shopReference: reference, shippedAt: expect.any(String), attempts: 2, recordOnly: false, httpStatus: 200, platform: 'shopify' });
		expect(await store.getDeliveryById(d.id)).toMatchObject({ status: 'shipped', shopReference: reference });

		const again = await run([{ deliveryId: d.id }], shipNode('shopify'), shopifyCred());
		expect(shipOf(again.outputs.Ship[0])).toMatchObject({ alreadyShipped: true, attempts: 0 });
		expect(shopify.requests).toHaveLength(2);
	});

	it('Notify Customer on is passed to Shopify', async () => {
		const d = await sent(SHOP);
		shopify.addOrder(d.orderId, [{ status: 'OPEN' }]);
		await run([{ deliveryId: d.id }], shipNode('shopify', { notifyCustomer: true }), shopifyCred());
		expect(shopify.fulfillments.at(-1)).toMatchObject({ notifyCustomer: true });
	});

	it('5xx is retried, then recorded as ship_failed; the next run ships', async () => {
		const d = await sent(SHOP);
		shopify.addOrder(d.orderId, [{ status: 'OPEN' }]);
		shopify.faults(`POST ${GRAPHQL}`, [500, 502, 503, 500]);
		const r = await run([{ deliveryId: d.id }], shipNode('shopify'), shopifyCred());
		expect(shopify.requests).toHaveLength(4);
		expect(r.error?.message).toBe('Shopify call failed: The server answered 500 Internal Server Error. Gave up after 4 attempts.');
		expect(await store.getDeliveryById(d.id)).toMatchObject({ status: 'sent', lastError: r.error?.message });
		expect((await events(d, 'ship_failed')).map((e) => e.details)).toEqual([{ error: r.error?.message, status: 500 }]);
		shopify.clear();
		shopify.faults(`POST ${GRAPHQL}`, [502]);
		const ok = await run([{ deliveryId: d.id }], shipNode('shopify'), shopifyCred());
		expect(shipOf(ok.outputs.Ship[0])).toMatchObject({ shipped: true, attempts: 3 });
		expect(shopify.operations.map((o) => o.operation)).toEqual(['fulfillmentOrders', 'fulfillmentCreate']);
	});

	it('4xx is not retried: a wrong access token is one call and ship_failed', async () => {
		const d = await sent(SHOP);
		shopify.addOrder(d.orderId, [{ status: 'OPEN' }]);
		const r = await run([{ deliveryId: d.id }], shipNode('shopify'), shopifyCred({ shopifyAccessToken: 'shpat_wrong_0000000000000000' }));
		expect(shopify.requests).toHaveLength(1);
		expect(r.error?.message).toMatch(/^Shopify call failed: The server refused the request: 401 Unauthorized — .*Invalid API key or access token/);
		expect((await events(d, 'ship_failed')).map((e) => e.details)).toEqual([{ error: expect.stringMatching(/401/), status: 401 }]);
		expect(r.error?.message).not.toContain('shpat_wrong_0000000000000000');
	});

	it('userErrors: a clear failure recorded as ship_failed, not retried; the fulfillment order stays open', async () => {
		const d = await sent(SHOP);
		shopify.addOrder(d.orderId, [{ status: 'OPEN' }]);
		shopify.userErrorNext('Invalid fulfillment order line item quantity requested.');
		const r = await run([{ deliveryId: d.id }], shipNode('shopify'), shopifyCred());
		expect(shopify.requests).toHaveLength(2);
		expect(r.error?.message).toBe('Shopify call failed: Shopify refused the fulfillment: Invalid fulfillment order line item quantity requested. (fulfillment)');
		expect(await store.getDeliveryById(d.id)).toMatchObject({ status: 'sent', lastError: r.error?.message });
		expect(await events(d, 'ship_failed')).toHaveLength(1);
		expect(shopify.orders.get(d.orderId)?.fulfillmentOrders[0].status).toBe('OPEN');
		shopify.graphqlErrorNext('THROTTLED', 'Throttled');
		const t = await run([{ deliveryId: d.id }], shipNode('shopify'), shopifyCred());
		expect(t.error?.message).toMatch(/Shopify throttled the request .*Ship it again in a minute/);
	});

	it('an order Shopify already shows as fulfilled is recorded without a new fulfillment', async () => {
		const d = await sent(SHOP);
		shopify.addOrder(d.orderId, [{ status: 'CLOSED' }]);
		const r = await run([{ deliveryId: d.id }], shipNode('shopify'), shopifyCred());
		expect(shopify.operations.map((o) => o.operation)).toEqual(['fulfillmentOrders']);
		expect(shipOf(r.outputs.Ship[0])).toMatchObject({ shipped: true, shopReference: null, attempts: 1, platformNote: expect.stringMatching(/already shows order #\d+ as fulfilled/) });
	});

	it('fulfillment orders at two locations: one fulfillmentCreate each, both references kept', async () => {
		const d = await sent(SHOP);
		shopify.addOrder(d.orderId, [{ status: 'OPEN', locationId: '1' }, { status: 'OPEN', locationId: '2' }]);
		const r = await run([{ deliveryId: d.id }], shipNode('shopify'), shopifyCred());
		expect(shopify.operations.map((o) => o.operation)).toEqual(['fulfillmentOrders', 'fulfillmentCreate', 'fulfillmentCreate']);
		expect(shipOf(r.outputs.Ship[0])).toMatchObject({ shopReference: shopify.fulfillments.slice(-2).map((f) => f.id).join(','), platformNote: expect.stringMatching(/from 2 locations/) });
	});

	it('a Dev Dashboard app (client credentials): one token for the execution, never shown', async () => {
		const a = await sent(SHOP);
		const b = await sent(SHOP);
		for (const d of [a, b]) shopifyApp.addOrder(d.orderId, [{ status: 'OPEN' }]);
		const cred = shopifyCred({ shopifyAuth: 'clientCredentials', shopifyClientId: CLIENT_ID, shopifyClientSecret: CLIENT_SECRET, shopifyAccessToken: '', shopifyAdminUrl: shopifyApp.url });
		const r = await run([{ deliveryId: a.id }, { deliveryId: b.id }], shipNode('shopify'), cred);
		expect(json(r.outputs.Ship[0]).map((x) => (x.ship as { shipped: boolean }).shipped)).toEqual([true, true]);
		expect(shopifyApp.requests.map((q) => q.path)).toEqual(['/admin/oauth/access_token', GRAPHQL, GRAPHQL, GRAPHQL, GRAPHQL]);
		expect(shopifyApp.requests[0].body).toEqual({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
		expect(shopifyApp.requests.slice(1).every((q) => q.headers['x-shopify-access-token'] === shopifyApp.issuedTokens[0])).toBe(true);
		expect(JSON.stringify(r.raw)).not.toContain(shopifyApp.issuedTokens[0]);
	});
});

describe('Stripe, Lemon Squeezy, Paddle presets (no fulfil call)', () => {
	it('record the shipment without any HTTP call or shop credential, and say why', async () => {
		for (const platform of ['stripe', 'lemonsqueezy', 'paddle']) {
			const d = await sent(`${platform}:main`);
			const r = await run([{ deliveryId: d.id }], shipNode(platform));
			expect({ platform, status: r.status }).toEqual({ platform, status: 'success' });
			expect(shipOf(r.outputs.Ship[0])).toEqual({
				shipped: true,
				alreadyShipped: false,
				shopReference: null,
				shippedAt: expect.any(String),
				attempts: 0,
				recordOnly: true,
				platform,
				platformNote: expect.stringMatching(/has no fulfil call.*Nothing was called; the shipment is recorded in the key store only\./),
			});
			expect((await events(d, 'shipped')).map((e) => e.details)).toEqual([{ shopReference: null, recordOnly: true }]);
		}
		const notSent = await claimed('stripe:main');
		const r = await run([{ deliveryId: notSent.id }], shipNode('stripe'));
		expect(shipOf(r.outputs.Ship[1])).toMatchObject({ shipped: false, reason: 'not_sent', platform: 'stripe' });
		expect(woo.requests.length + shopify.requests.length).toBe(0);
	});
});

describe('Shop API credential test per platform', () => {
	const test = (data: Record<string, unknown>) => testShopApiCredential.call({} as never, { id: 'c1', name: 'Shop', type: 'autoDeliveryShopApi', data } as never);

	it('WooCommerce: GET /orders?per_page=1 with the keys; a wrong secret or plain http named', async () => {
		expect(await test(wooCred())).toEqual({ status: 'OK', message: `Connected to WooCommerce at 127.0.0.1:${woo.port}: the keys may read orders (give them Read/Write so Mark Shipped can complete orders).` });
		expect(woo.requests.map((q) => [q.method, q.path, q.query])).toEqual([['GET', '/wp-json/wc/v3/orders', { per_page: '1' }]]);
		const bad = await test(wooCred({ wooConsumerSecret: 'cs_wrong_secret_1234' }));
		expect(bad).toEqual({ status: 'Error', message: expect.stringMatching(/^WooCommerce at 127\.0\.0\.1:\d+ refused the credentials \(401\) \(“Consumer secret is invalid\.”\)\. Check the Consumer Key and Secret/) });
		expect(bad.message).not.toContain('cs_wrong_secret_1234');
		expect(await test(wooCred({ wooAllowHttp: false }))).toEqual({ status: 'Error', message: expect.stringMatching(/plain http:\/\//) });
		expect(woo.requests).toHaveLength(2);
	});

	it('Shopify: { shop { name } } with the token or the client credentials; a wrong token named', async () => {
		expect(await test(shopifyCred())).toEqual({ status: 'OK', message: `Connected to Shopify store “Auto Delivery Test Store” at 127.0.0.1:${shopify.port} (API 2026-10).` });
		expect(shopify.operations.map((o) => o.operation)).toEqual(['shop']);
		const bad = await test(shopifyCred({ shopifyAccessToken: 'shpat_bad_1111111111' }));
		expect(bad).toEqual({ status: 'Error', message: expect.stringMatching(/^Shopify at 127\.0\.0\.1:\d+ refused the credentials \(401\) \(“\[API\] Invalid API key or access token/) });
		expect(bad.message).not.toContain('shpat_bad_1111111111');
		const app = { shopifyAuth: 'clientCredentials', shopifyClientId: CLIENT_ID, shopifyAdminUrl: shopifyApp.url };
		expect(await test(shopifyCred({ ...app, shopifyClientSecret: CLIENT_SECRET }))).toMatchObject({ status: 'OK' });
		const wrongApp = await test(shopifyCred({ ...app, shopifyClientId: 'client-other', shopifyClientSecret: 'shpss_wrong_secret_99' }));
		expect(wrongApp.status).toBe('Error');
		expect(wrongApp.message).toMatch(/400 Bad Request.*invalid_client/);
		expect(wrongApp.message).not.toContain('shpss_wrong_secret_99');
	});

	it('Stripe: GET /v1/balance with the secret key; a wrong key or a publishable key named', async () => {
		const stripe = await startStripeFake(STRIPE_KEY);
		try {
			expect(await test({ platform: 'stripe', stripeSecretKey: STRIPE_KEY, stripeApiUrl: stripe.url })).toEqual({ status: 'OK', message: `Connected to Stripe at 127.0.0.1:${stripe.port} (test mode).` });
			expect(stripe.requests.map((q) => [q.method, q.path, q.headers.authorization])).toEqual([['GET', '/v1/balance', `Bearer ${STRIPE_KEY}`]]);
			const bad = await test({ platform: 'stripe', stripeSecretKey: 'sk_test_wrongwrongwrong1', stripeApiUrl: stripe.url });
			expect(bad).toEqual({ status: 'Error', message: expect.stringMatching(/^Stripe at 127\.0\.0\.1:\d+ refused the credentials \(401\) \(“Invalid API Key provided/) });
			expect(bad.message).not.toContain('sk_test_wrongwrongwrong1');
			expect(await test({ platform: 'stripe', stripeSecretKey: 'pk_test_123456', stripeApiUrl: stripe.url })).toEqual({ status: 'Error', message: expect.stringMatching(/publishable key/) });
			expect(stripe.requests).toHaveLength(2);
		} finally {
			await stripe.close();
		}
	});

	it('Paddle: GET /event-types with the API key; a wrong key, a sandbox mismatch named', async () => {
		const paddle = await startPaddleFake(PADDLE_KEY);
		try {
			const cred = { platform: 'paddle', paddleApiKey: PADDLE_KEY, paddleSandbox: true, paddleApiUrl: paddle.url };
			expect(await test(cred)).toEqual({ status: 'OK', message: `Connected to Paddle Billing at 127.0.0.1:${paddle.port} (sandbox; 2 event types).` });
			expect(paddle.requests.map((q) => [q.path, q.headers.authorization])).toEqual([['/event-types', `Bearer ${PADDLE_KEY}`]]);
			const bad = await test({ ...cred, paddleApiKey: 'pdl_sdbx_apikey_wrong_0000000000' });
			expect(bad).toEqual({ status: 'Error', message: expect.stringMatching(/^Paddle Billing at 127\.0\.0\.1:\d+ refused the credentials \(403\) \(“Invalid or revoked API key\.”\)/) });
			expect(bad.message).not.toContain('pdl_sdbx_apikey_wrong_0000000000');
			expect(await test({ ...cred, paddleSandbox: false })).toEqual({ status: 'Error', message: expect.stringMatching(/sandbox API key .*switch on Sandbox/) });
			expect(paddle.requests).toHaveLength(2);
		} finally {
			await paddle.close();
		}
	});

	it('Lemon Squeezy: only the webhook signing secret', async () => {
		expect(await test({ platform: 'lemonsqueezy', signingSecret: 'whsec-1234' })).toMatchObject({ status: 'OK', message: expect.stringMatching(/no fulfil call/) });
		expect(await test({ platform: 'lemonsqueezy' })).toMatchObject({ status: 'Error' });
	});
});

describe('the console', () => {
	it('no key, consumer secret or token ever reached it', () => {
		const all = captured.join('\n');
		for (const s of [...SECRETS, ...ALL_KEYS]) expect(all).not.toContain(s);
	});
});
