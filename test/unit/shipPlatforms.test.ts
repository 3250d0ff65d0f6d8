/**
 * The pure parts of Mark Shipped's platform presets (nodes/core/delivery/shipPlatforms): the
 * requests each platform's documentation describes, the reading of its answers (and of the answers
 * that must fail), target validation, and what a preset may never put in a request or a message.
 * The calls themselves run against local fakes in test/integration/markShippedPlatforms.test.ts.
 */
import { ValidationError } from '../../nodes/core/errors';
import {
	DEFAULT_SHOPIFY_API_VERSION,
	FULFILLMENT_CREATE_MUTATION,
	FULFILLMENT_ORDERS_QUERY,
	PlatformAnswerError,
	RECORD_ONLY_NOTES,
	fulfillmentInput,
	graphqlErrors,
	platformSecrets,
	platformShipItem,
	preparePlatformShip,
	readFulfillmentCreate,
	readFulfillmentOrders,
	readShopifyToken,
	readWooOrder,
	readWooProbe,
	shopifyGraphqlCall,
	shopifyHandle,
	shopifyOrderGid,
	shopifyTarget,
	shopifyTokenCall,
	wooCompleteCall,
	wooNoteCall,
	wooNoteText,
	wooOrderId,
	wooTarget,
	type PlatformShipOutcome,
	type WooCommerceTarget,
} from '../../nodes/core/delivery';
import type { Delivery } from '../../nodes/core/store';

const call = { timeoutMs: 3000, retries: 2, backoffMs: 5 };
const WOO: WooCommerceTarget = { platform: 'woocommerce', storeUrl: 'https://shop.example.com/', consumerKey: 'ck_live_key_1234', consumerSecret: 'cs_secret_abcdef' };
const fieldOf = (fn: () => unknown): string | undefined => {
	try {
		fn();
	} catch (err) {
		if (err instanceof ValidationError) return err.field;
		throw err;
	}
	return undefined;
};

describe('WooCommerce requests (REST API v3)', () => {
	it('PUT /wp-json/wc/v3/orders/<id> {"status":"completed"} with Basic auth (consumer key : secret)', () => {
		const c = wooCompleteCall(wooTarget(WOO), '727', call);
		expect(c).toMatchObject({ method: 'PUT', url: 'https://shop.example.com/wp-json/wc/v3/orders/727', body: { status: 'completed' }, timeoutMs: 3000, retries: 2, backoffMs: 5 });
		expect(c.headers?.Authorization).toBe(`Basic ${Buffer.from('ck_live_key_1234:cs_secret_abcdef').toString('base64')}`);
		// an answer echoing the request is redacted of the secret, the key and the Basic credentials
		expect(c.secrets).toEqual(expect.arrayContaining(['cs_secret_abcdef', 'ck_live_key_1234', Buffer.from('ck_live_key_1234:cs_secret_abcdef').toString('base64')]));
	});

	it('an order note: POST …/orders/<id>/notes {note, customer_note}; the text shows the keys masked only', () => {
		const keys = [
			{ id: 1, status: 'assigned' as const, masked: 'ABCD…WXYZ', key: 'ABCD-SECRET-KEY-WXYZ' },
			{ id: 2, status: 'assigned' as const, masked: 'EFGH…7890' },
		];
		const text = wooNoteText({ id: 12, sku: 'STEAM-50', quantity: 2, keys }, 'Steam 50');
		expect(text).toBe('Delivered automatically: 2 × Steam 50 (SKU STEAM-50), delivery 12: ABCD…WXYZ, EFGH…7890.');
		expect(text).not.toContain('SECRET');
		const c = wooNoteCall(wooTarget(WOO), '727', text, true, call);
		expect(c).toMatchObject({ method: 'POST', url: 'https://shop.example.com/wp-json/wc/v3/orders/727/notes', body: { note: text, customer_note: true } });
	});

	it('the Store URL: https only unless "Allow Plain HTTP"; keys required; a sub-folder install keeps its folder', () => {
		expect(wooTarget({ ...WOO, storeUrl: 'https://example.com/shop/?x=1#y' }).storeUrl).toBe('https://example.com/shop');
		expect(() => wooTarget({ ...WOO, storeUrl: 'http://shop.example.com' })).toThrow(/plain http:\/\/.*Allow Plain HTTP \(Testing Only\)/);
		expect(wooTarget({ ...WOO, storeUrl: 'http://127.0.0.1:8080', allowHttp: true }).storeUrl).toBe('http://127.0.0.1:8080');
		expect(fieldOf(() => wooTarget({ ...WOO, storeUrl: '' }))).toBe('wooStoreUrl');
		expect(fieldOf(() => wooTarget({ ...WOO, storeUrl: 'ftp://shop.example.com' }))).toBe('wooStoreUrl');
		expect(fieldOf(() => wooTarget({ ...WOO, storeUrl: 'https://user:pw@shop.example.com' }))).toBe('wooStoreUrl');
		expect(fieldOf(() => wooTarget({ ...WOO, consumerSecret: ' ' }))).toBe('wooConsumerKey');
	});

	it('the order id is the exact digits of the delivery (a 19-digit id keeps them); anything else is refused', () => {
		expect(wooOrderId('2840188394502391201')).toBe('2840188394502391201');
		for (const bad of ['#727', '727 ', 'T727', '72/7', '']) expect(fieldOf(() => wooOrderId(bad))).toBe('orderId');
	});

	it('reads the answers: the completed order (number = reference); HTML or another status fails', () => {
		expect(readWooOrder({ id: 727, number: '727', status: 'completed' }, '727')).toEqual({ reference: '727' });
		expect(() => readWooOrder('<!doctype html><html>', '727')).toThrow(/permalinks are not "Plain"/);
		expect(() => readWooOrder({ id: 727, status: 'processing' }, '727')).toThrow(PlatformAnswerError);
		expect(readWooProbe([{ id: 1 }])).toEqual({ orders: 1 });
		expect(() => readWooProbe({ code: 'x' })).toThrow(/not with the WooCommerce REST API/);
	});
});

describe('Shopify requests (GraphQL Admin API)', () => {
	const target = shopifyTarget({ platform: 'shopify', shop: 'my-store', accessToken: 'shpat_0123456789abcdef' });

	it('the endpoint, the access-token header, the query of the fulfillment orders and the mutation', () => {
		expect(target).toMatchObject({ adminUrl: 'https://my-store.myshopify.com', apiVersion: DEFAULT_SHOPIFY_API_VERSION });
		const q = shopifyGraphqlCall(target, 'shpat_0123456789abcdef', FULFILLMENT_ORDERS_QUERY, { id: shopifyOrderGid('5001') }, call);
		expect(q).toMatchObject({ method: 'POST', url: `https://my-store.myshopify.com/admin/api/${DEFAULT_SHOPIFY_API_VERSION}/graphql.json`, headers: { 'X-Shopify-Access-Token': 'shpat_0123456789abcdef' } });
		expect(q.body).toEqual({ query: FULFILLMENT_ORDERS_QUERY, variables: { id: 'gid://shopify/Order/5001' } });
		expect(FULFILLMENT_ORDERS_QUERY).toMatch(/order\(id: \$id\)[\s\S]*fulfillmentOrders\(first: 50\)[\s\S]*supportedActions \{ action \}/);
		expect(FULFILLMENT_CREATE_MUTATION).toMatch(/fulfillmentCreate\(fulfillment: \$fulfillment\)[\s\S]*userErrors \{ field message \}/);
		expect(fulfillmentInput(['gid://shopify/FulfillmentOrder/1', 'gid://shopify/FulfillmentOrder/2'], false)).toEqual({
			fulfillment: { lineItemsByFulfillmentOrder: [{ fulfillmentOrderId: 'gid://shopify/FulfillmentOrder/1' }, { fulfillmentOrderId: 'gid://shopify/FulfillmentOrder/2' }], notifyCustomer: false },
		});
	});

	it('the shop: its name, its myshopify.com domain or URL, or the admin URL; never a custom domain', () => {
		for (const shop of ['my-store', 'my-store.myshopify.com', 'https://My-Store.myshopify.com/admin/orders', 'admin.shopify.com/store/my-store']) expect(shopifyHandle(shop)).toBe('my-store');
		expect(() => shopifyHandle('shop.example.com')).toThrow(/not a myshopify\.com store name/);
		expect(fieldOf(() => shopifyHandle(''))).toBe('shopifyShop');
		expect(fieldOf(() => shopifyTarget({ platform: 'shopify', shop: 'x', accessToken: 't', apiVersion: '2026-05' }))).toBe('shopifyApiVersion');
		expect(fieldOf(() => shopifyTarget({ platform: 'shopify', shop: 'x', clientId: 'id' }))).toBe('shopifyAccessToken');
		expect(shopifyTarget({ platform: 'shopify', shop: '', accessToken: 't', adminUrl: 'http://127.0.0.1:9/' }).adminUrl).toBe('http://127.0.0.1:9');
	});

	it('order ids: digits (exact) or a gid; the order name is refused', () => {
		expect(shopifyOrderGid('820982911946154508')).toBe('gid://shopify/Order/820982911946154508');
		expect(shopifyOrderGid('gid://shopify/Order/5001')).toBe('gid://shopify/Order/5001');
		expect(fieldOf(() => shopifyOrderGid('#1001'))).toBe('orderId');
	});

	it('client credentials: a form POST to /admin/oauth/access_token; the answer gives the token and its life', () => {
		const t = shopifyTarget({ platform: 'shopify', shop: 'my-store', clientId: 'client-1', clientSecret: 'shpss_secret_1' });
		const c = shopifyTokenCall(t, call);
		expect(c).toMatchObject({ method: 'POST', url: 'https://my-store.myshopify.com/admin/oauth/access_token', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
		expect(Object.fromEntries(new URLSearchParams(String(c.body)))).toEqual({ grant_type: 'client_credentials', client_id: 'client-1', client_secret: 'shpss_secret_1' });
		expect(c.secrets).toContain('shpss_secret_1');
		expect(readShopifyToken({ access_token: 'shpat_x', scope: 'read_orders', expires_in: 86399 })).toEqual({ token: 'shpat_x', expiresInMs: 86399000 });
		expect(() => readShopifyToken({ error: 'invalid_client' })).toThrow(/without an access token/);
	});

	const fo = (id: number, status: string, location = 'L1', actions = ['CREATE_FULFILLMENT']) => ({
		id: `gid://shopify/FulfillmentOrder/${id}`,
		status,
		assignedLocation: { name: location, location: { id: `gid://shopify/Location/${location}` } },
		supportedActions: actions.map((action) => ({ action })),
	});
	const answer = (nodes: unknown[] | null) => ({ data: { order: nodes === null ? null : { id: 'gid://shopify/Order/5001', name: '#1001', fulfillmentOrders: { nodes } } } });
	const gid = 'gid://shopify/Order/5001';

	it('reads the fulfillment orders: the open ones by location; all closed = already fulfilled', () => {
		expect(readFulfillmentOrders(answer([fo(1, 'OPEN'), fo(2, 'CLOSED'), fo(3, 'IN_PROGRESS'), fo(4, 'OPEN', 'L2')]), gid)).toEqual({
			orderName: '#1001',
			groups: [['gid://shopify/FulfillmentOrder/1', 'gid://shopify/FulfillmentOrder/3'], ['gid://shopify/FulfillmentOrder/4']],
			alreadyFulfilled: false,
		});
		expect(readFulfillmentOrders(answer([fo(1, 'CLOSED'), fo(2, 'CANCELLED')]), gid)).toEqual({ orderName: '#1001', groups: [], alreadyFulfilled: true });
	});

	it('fails clearly: unknown order, none visible (scopes), on hold, a fulfillment service, GraphQL errors', () => {
		expect(() => readFulfillmentOrders(answer(null), gid)).toThrow(/no order gid:\/\/shopify\/Order\/5001 .*not the order name/);
		expect(() => readFulfillmentOrders(answer([]), gid)).toThrow(/no fulfillment orders .*read_merchant_managed_fulfillment_orders/);
		expect(() => readFulfillmentOrders(answer([fo(1, 'ON_HOLD', 'L1', [])]), gid)).toThrow(/status ON_HOLD\): release a hold/);
		expect(() => readFulfillmentOrders(answer([fo(1, 'OPEN', 'L1', ['REQUEST_FULFILLMENT'])]), gid)).toThrow(/fulfillment service/);
		expect(() => readFulfillmentOrders({ errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED' } }] }, gid)).toThrow(/throttled .*again in a minute/);
		expect(graphqlErrors({ errors: [{ message: 'Access denied for order field.', extensions: { code: 'ACCESS_DENIED' } }] })).toMatch(/needs the read_orders, read_merchant_managed_fulfillment_orders and write_merchant_managed_fulfillment_orders scopes/);
		expect(graphqlErrors({ data: {} })).toBeNull();
	});

	it('reads fulfillmentCreate: the fulfillment id, or the userErrors as a refusal', () => {
		expect(readFulfillmentCreate({ data: { fulfillmentCreate: { fulfillment: { id: 'gid://shopify/Fulfillment/9', status: 'SUCCESS' }, userErrors: [] } } })).toEqual({ fulfillmentId: 'gid://shopify/Fulfillment/9' });
		expect(() =>
			readFulfillmentCreate({ data: { fulfillmentCreate: { fulfillment: null, userErrors: [{ field: ['fulfillment', 'lineItemsByFulfillmentOrder'], message: 'Invalid fulfillment order line item quantity requested.' }] } } }),
		).toThrow('Shopify refused the fulfillment: Invalid fulfillment order line item quantity requested. (fulfillment.lineItemsByFulfillmentOrder)');
	});
});

describe('the preset as a whole', () => {
	it('checks the platform, the credential kind, the options; the lease covers every call', () => {
		expect(preparePlatformShip({ deliveryId: 1, platform: 'stripe' })).toMatchObject({ platform: 'stripe', target: null, leaseMs: 120000 });
		expect(fieldOf(() => preparePlatformShip({ deliveryId: 1, platform: 'ebay' as never }))).toBe('platform');
		expect(() => preparePlatformShip({ deliveryId: 1, platform: 'woocommerce' })).toThrow(/not set up for WooCommerce/);
		expect(() => preparePlatformShip({ deliveryId: 1, platform: 'shopify', target: WOO })).toThrow(/not set up for Shopify/);
		expect(fieldOf(() => preparePlatformShip({ deliveryId: 1, platform: 'woocommerce', target: WOO, retries: 9 }))).toBe('retries');
		expect(fieldOf(() => preparePlatformShip({ deliveryId: 1, platform: 'woocommerce', target: WOO, wooNote: 'loud' as never }))).toBe('wooNote');
		const slow = preparePlatformShip({ deliveryId: 1, platform: 'shopify', target: { platform: 'shopify', shop: 's', accessToken: 't' }, timeoutMs: 60000, retries: 5, backoffMs: 1000 });
		// 4 calls × (6 attempts × 61 s + backoffs) + 30 s
		expect(slow.leaseMs).toBe(4 * (6 * 61000 + Math.ceil(1000 * 31 * 1.2)) + 30000);
	});

	it('secrets of every platform; the record-only notes say why nothing was called', () => {
		expect(platformSecrets({ platform: 'stripe', secretKey: 'sk_test_1' })).toEqual(['sk_test_1']);
		expect(platformSecrets({ platform: 'paddle', apiKey: 'pdl_live_apikey_1' })).toEqual(['pdl_live_apikey_1']);
		expect(platformSecrets({ platform: 'shopify', shop: 's', accessToken: 'shpat_1', clientSecret: 'shpss_2' })).toEqual(['shpat_1', 'shpss_2']);
		for (const note of Object.values(RECORD_ONLY_NOTES)) expect(note).toMatch(/no fulfil call.*Nothing was called; the shipment is recorded in the key store only\./);
	});

	it('the output item: ship.ts’s shape plus the platform and its note', () => {
		const delivery = { id: 3, orderId: '727', shop: 'woocommerce:main', sku: 'S', status: 'shipped', shopReference: '727', shippedAt: '2026-12-06T10:00:00.000Z' } as Delivery;
		const o: PlatformShipOutcome = { outcome: 'shipped', alreadyShipped: false, recordOnly: false, attempts: 2, httpStatus: 200, withoutRecordedSend: false, delivery, platform: 'woocommerce', platformNote: 'note' };
		expect(platformShipItem(o)).toEqual({
			deliveryId: 3,
			orderId: '727',
			shop: 'woocommerce:main',
			sku: 'S',
			status: 'shipped',
			ship: { shipped: true, alreadyShipped: false, shopReference: '727', shippedAt: '2026-12-06T10:00:00.000Z', attempts: 2, recordOnly: false, httpStatus: 200, platform: 'woocommerce', platformNote: 'note' },
		});
		expect(platformShipItem({ ...o, platformNote: null }).ship).not.toHaveProperty('platformNote');
	});
});
