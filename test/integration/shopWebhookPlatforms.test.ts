/**
 * Shop Webhook's platform presets the way n8n drives them: real HTTP requests through the n8n-like
 * webhook server of test/helpers/webhookHarness.ts (n8n's request preparation and body parsing,
 * n8n-core's WebhookContext, n8n's answer), with the fixtures' real payloads
 * (test/fixtures/platforms/) signed exactly as each platform signs them — the HMACs computed with
 * Node's crypto (test/helpers/platformRequests.ts hmacOf), never with the code under test.
 *
 * WooCommerce and Shopify run on through Claim Key on a real SQLite store ("When Last Node
 * Finishes"); the API calls of Stripe (line items) and Paddle (customer) go to local fakes of
 * those APIs (test/helpers/fakes/stripeApi.ts, paddleApi.ts) through the Shop API credential's
 * API URL override. No answer, log line or console output may carry a signing secret or API key.
 */
import { type ICredentialDataDecryptedObject, type INode } from 'n8n-workflow';

import { closeAllStores, getStore } from '../../nodes/core/store';
import { captureOutput } from '../helpers/capture';
import { dropStore, storeConfig } from '../helpers/db';
import { startPaddleApiFake, type PaddleApiFake } from '../helpers/fakes/paddleApi';
import { startStripeApiFake, type StripeApiFake } from '../helpers/fakes/stripeApi';
import { edited, fixtureBytes, hmacOf } from '../helpers/platformRequests';
import {
	CLAIM,
	bootN8nCore,
	expectNothingEmitted,
	post,
	settled,
	startHarness,
	type Answer,
	type Call,
	type Harness,
	type HarnessOptions,
} from '../helpers/webhookHarness';

/** The webhook signing secrets and API keys of the test shops: none may show in an answer, an error or a log. */
const SECRET = {
	woo: 'wc-int-secret-7f3a91c2e4b8d056',
	shopify: 'shpss_int0secret0c41d9e7a2b5f3',
	stripe: 'whsec_int0secret0e8b2c71d4f9a6',
	stripeKey: 'sk_test_int0key0b7e2f91c3d5a8e4',
	paddle: 'pdl_ntfset_int0secret0d2a7c9e1f4b6',
	paddleKey: 'pdl_live_apikey_int0key0c8e1b4f7a2d9',
	lemonSqueezy: 'ls-int-secret-9b3e5d7f1a2c4e',
};

const WOO_ORDER = fixtureBytes('woocommerce', 'order-727-processing.json');
const SHOPIFY_PAID = fixtureBytes('shopify', 'orders-paid.json');
const STRIPE_SESSION = fixtureBytes('stripe', 'checkout.session.completed.json');
const PADDLE_TXN = fixtureBytes('paddle', 'transaction.completed.json');
const LS_ORDER = fixtureBytes('lemonsqueezy', 'order_created.json');

const SESSION_ID = 'cs_test_a1enSAC01IA3Ps2vL32mNoWKMCNmmfUGTeEeHXI5tLCvyFNGsdG2UNA7mr';
const PAYMENT_INTENT = 'pi_3MtwBwLkdIwHu7ix28a3tqPa';
const PADDLE_CUSTOMER = 'ctm_01h8e18bxp9hby49dnm8ewf0m0';

// ---------------------------------------------------------------------------------------------
// Each platform's delivery: its headers and its signature over the exact bytes sent

const now = () => Math.floor(Date.now() / 1000);

/** WC_Webhook::deliver(): JSON, X-WC-Webhook-* headers, base64 HMAC-SHA256 of the body. */
function wooHeaders(body: Buffer, over: { topic?: string; secret?: string } = {}): Record<string, string> {
	const topic = over.topic ?? 'order.updated';
	return {
		'Content-Type': 'application/json',
		'User-Agent': 'WooCommerce/9.4.0 Hookshot (WordPress/6.7)',
		'X-WC-Webhook-Source': 'https://mystore.example/',
		'X-WC-Webhook-Topic': topic,
		'X-WC-Webhook-Resource': topic.split('.')[0],
		'X-WC-Webhook-Event': topic.split('.')[1] ?? '',
		'X-WC-Webhook-Signature': hmacOf('sha256', over.secret ?? SECRET.woo, [body], 'base64'),
		'X-WC-Webhook-ID': '12',
		'X-WC-Webhook-Delivery-ID': 'd41d8cd98f00b204e9800998ecf8427e',
	};
}

/** Shopify: X-Shopify-* headers, base64 HMAC-SHA256 of the body with the app's client secret. */
function shopifyHeaders(body: Buffer, over: { topic?: string; secret?: string } = {}): Record<string, string> {
	return {
		'Content-Type': 'application/json',
		'X-Shopify-Topic': over.topic ?? 'orders/paid',
		'X-Shopify-Hmac-Sha256': hmacOf('sha256', over.secret ?? SECRET.shopify, [body], 'base64'),
		'X-Shopify-Shop-Domain': 'jsmith.myshopify.com',
		'X-Shopify-API-Version': '2026-07',
		'X-Shopify-Webhook-Id': '545ebdd4-b7be-4d3d-b14e-54aa78e0e0f9',
		'X-Shopify-Event-Id': '59d6d79c-595f-4e7e-bc6f-72f5c3d0c66f',
		'X-Shopify-Triggered-At': new Date().toISOString(),
	};
}

/** Stripe: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
function stripeHeaders(body: Buffer, t = now()): Record<string, string> {
	return {
		'Content-Type': 'application/json; charset=utf-8',
		'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
		'Stripe-Signature': `t=${t},v1=${hmacOf('sha256', SECRET.stripe, [`${t}.`, body], 'hex')}`,
	};
}

/** Paddle: `Paddle-Signature: ts=<unix>;h1=<hex HMAC-SHA256 of "<ts>:<body>">`. */
function paddleHeaders(body: Buffer, ts = now()): Record<string, string> {
	return { 'Content-Type': 'application/json', 'Paddle-Signature': `ts=${ts};h1=${hmacOf('sha256', SECRET.paddle, [`${ts}:`, body], 'hex')}` };
}

/** Lemon Squeezy: `X-Signature: <hex HMAC-SHA256 of the body>`, the event in X-Event-Name. */
function lemonSqueezyHeaders(body: Buffer, event: string): Record<string, string> {
	return { 'Content-Type': 'application/json', 'X-Event-Name': event, 'X-Signature': hmacOf('sha256', SECRET.lemonSqueezy, [body], 'hex') };
}

// ---------------------------------------------------------------------------------------------
// Sending, and everything that must stay free of secrets

const output = captureOutput();
const logged: string[] = [];
const answers: Answer[] = [];
/** The signatures a rejected request should have carried (computed with the right secret): never shown either. */
const expectedSignatures: string[] = [];
const harnesses: Harness[] = [];
const loggerSpies: Array<() => void> = [];

async function platformHarness(platform: string, shopCredential: ICredentialDataDecryptedObject, over: Partial<HarnessOptions> = {}): Promise<Harness> {
	const { parameters, credentials, ...rest } = over;
	const h = await startHarness({
		parameters: { platform, shopName: platform === 'shopify' ? 'jsmith' : 'mystore', ...parameters },
		credentials: { autoDeliveryShopApi: { authType: 'none', ...shopCredential }, ...credentials },
		...rest,
	});
	harnesses.push(h);
	return h;
}

/** POSTs like the platform and waits until n8n is done with the request (incl. the workflow run). */
async function send(h: Harness, body: Buffer | string, headers: Record<string, string | undefined>): Promise<{ a: Answer; call: Call }> {
	const a = await post(h.url, body, headers);
	const call = await settled(h);
	answers.push(a);
	return { a, call };
}

/** The trigger's items, reduced to what identifies a delivery. */
function lines(call: Call) {
	return (call.emitted ?? []).map(({ json }) => {
		const buyer = json.buyer as { email: string | null };
		return [json.shop, json.orderId, json.sku, json.quantity, buyer.email];
	});
}

beforeAll(async () => {
	await bootN8nCore();
	// The node logs through n8n's Logger (silent in tests): record every call to it.
	/* eslint-disable @typescript-eslint/no-require-imports */
	const { Container } = require('@n8n/di') as typeof import('@n8n/di');
	const { Logger } = require('@n8n/backend-common') as typeof import('@n8n/backend-common');
	/* eslint-enable @typescript-eslint/no-require-imports */
	const logger = Container.get(Logger);
	for (const level of ['error', 'warn', 'info', 'debug'] as const) {
		const spy = jest.spyOn(logger, level).mockImplementation((message: string, metadata?: object) => void logged.push(`${level}: ${message} ${JSON.stringify(metadata ?? {})}`));
		loggerSpies.push(() => spy.mockRestore());
	}
});

afterAll(async () => {
	loggerSpies.forEach((restore) => restore());
	await Promise.all(harnesses.map((h) => h.close()));
	await closeAllStores();
});

// ---------------------------------------------------------------------------------------------

describe('WooCommerce and Shopify → Claim Key on one SQLite key store ("When Last Node Finishes")', () => {
	const cfg = storeConfig('sqlite');
	const keyStore = { database: 'sqlite', sqlitePath: cfg.sqlitePath as string, encryptionSecret: cfg.encryptionSecret, tablePrefix: 'ad_' };
	// Enough for order 727 (93 ×2, Bar3 ×1) once and the same lines for two shops (93 ×2 + ×1, Bar3 ×1 + ×1).
	const KEYS = { '93': ['WOO93-AAAA-0001', 'WOO93-BBBB-0002', 'WOO93-CCCC-0003', 'WOO93-DDDD-0004', 'WOO93-EEEE-0005'], Bar3: ['BAR3-FFFF-0006', 'BAR3-GGGG-0007', 'BAR3-HHHH-0008'] };
	const claimKey: INode = {
		id: 'c1', name: 'Claim Key', type: CLAIM, typeVersion: 1, position: [200, 0],
		parameters: {
			orderId: '={{ $json.orderId }}',
			sku: '={{ $json.sku }}',
			quantity: '={{ $json.quantity }}',
			shop: '={{ $json.shop }}',
			details: { buyerEmail: '={{ $json.buyer.email }}', buyerName: '={{ $json.buyer.name }}' },
		},
	};
	const engine = (platform: string, secret: string) =>
		platformHarness(platform, { signingSecret: secret }, {
			parameters: { responseMode: 'lastNode', responseData: 'allEntries' },
			credentials: { autoDeliveryKeyStore: keyStore },
			downstream: [claimKey],
			engine: true,
		});
	const store = () => getStore({ ...cfg, tablePrefix: 'ad_' });
	const available = async () => Object.fromEntries((await (await store()).stock()).map((s) => [s.sku, s.available]));
	type Claimed = { orderId: string; shop: string; sku: string; quantity: number; status: string; alreadyDelivered: boolean; deliveryId: number; keyIds: number[]; buyer: { email: string } };
	let woo: Harness;
	let shopify: Harness;

	beforeAll(async () => {
		for (const [sku, keys] of Object.entries(KEYS)) await (await store()).importKeys({ sku, keys });
		woo = await engine('woocommerce', SECRET.woo);
		shopify = await engine('shopify', SECRET.shopify);
	});
	afterAll(async () => {
		await closeAllStores();
		await dropStore(cfg);
	});

	it("WooCommerce's save ping (form-encoded webhook_id=12, unsigned) → 200, the workflow is not started", async () => {
		const { a, call } = await send(woo, 'webhook_id=12', { 'Content-Type': 'application/x-www-form-urlencoded' });
		expect(a.status).toBe(200);
		expect(a.body).toEqual({ ignored: true, event: 'ping', message: 'WooCommerce webhook 12 ping acknowledged; nothing was started.' });
		expect(call.nodeCalled).toBe(true);
		expect(call.rawBodySet).toBe(true); // n8n had read (and form-parsed) the body before the node
		expectNothingEmitted(call);
	});

	it('order.updated, status processing, three times → three runs, ONE delivery: the replays get the same keys', async () => {
		const stock = await available();
		const runs: Claimed[][] = [];
		for (let i = 0; i < 3; i++) {
			const { a, call } = await send(woo, WOO_ORDER, wooHeaders(WOO_ORDER));
			expect(a.status).toBe(200);
			expect(call.run?.status).toBe('success');
			expect(call.run?.executionOrder).toEqual(['Shop Webhook', 'Claim Key']);
			expect(lines(call)).toEqual([
				['woocommerce:mystore', '727', '93', 2, 'john.doe@example.com'],
				['woocommerce:mystore', '727', 'Bar3', 1, 'john.doe@example.com'],
			]);
			for (const key of Object.values(KEYS).flat()) expect(a.text).not.toContain(key);
			runs.push(a.body as Claimed[]);
		}
		const [first, ...replays] = runs;
		expect(first.map((d) => [d.shop, d.orderId, d.sku, d.quantity, d.status, d.alreadyDelivered, d.buyer.email])).toEqual([
			['woocommerce:mystore', '727', '93', 2, 'claimed', false, 'john.doe@example.com'],
			['woocommerce:mystore', '727', 'Bar3', 1, 'claimed', false, 'john.doe@example.com'],
		]);
		expect(first.map((d) => d.keyIds.length)).toEqual([2, 1]);
		for (const replay of replays) {
			expect(replay.map((d) => d.alreadyDelivered)).toEqual([true, true]);
			expect(replay.map((d) => [d.deliveryId, d.keyIds])).toEqual(first.map((d) => [d.deliveryId, d.keyIds]));
		}
		const deliveries = await (await store()).getDeliveries({ orderId: '727', shop: 'woocommerce:mystore' });
		expect(deliveries.map((d) => [d.sku, d.quantity, d.buyer.email])).toEqual([
			['93', 2, 'john.doe@example.com'],
			['Bar3', 1, 'john.doe@example.com'],
		]);
		expect(await available()).toEqual({ '93': stock['93'] - 2, Bar3: stock.Bar3 - 1 });
	});

	it('status pending → 200 ignored, nothing started, nothing claimed', async () => {
		const pending = edited(edited(WOO_ORDER, '{"id":727,', '{"id":728,'), '"status":"processing"', '"status":"pending"');
		const { a, call } = await send(woo, pending, wooHeaders(pending));
		expect(a.status).toBe(200);
		expect(a.body).toEqual({ ignored: true, event: 'order.updated', message: expect.stringContaining('"pending", not paid') });
		expectNothingEmitted(call);
		expect(await (await store()).getDeliveries({ orderId: '728' })).toEqual([]);
	});

	it('wrong secret, a body changed after signing, no signature header → 401, nothing started, nothing claimed', async () => {
		const stock = await available();
		const order = edited(WOO_ORDER, '{"id":727,', '{"id":729,');
		const tampered = edited(order, '"quantity":2', '"quantity":3');
		const { 'X-WC-Webhook-Signature': _signature, ...unsigned } = wooHeaders(order);
		const cases: Array<[Buffer, Record<string, string>, string]> = [
			[order, wooHeaders(order, { secret: 'wc-guessed-secret-0000' }), 'mismatch'],
			[tampered, wooHeaders(order), 'mismatch'],
			[order, unsigned, 'missing_signature'],
		];
		for (const [body, headers, reason] of cases) {
			expectedSignatures.push(hmacOf('sha256', SECRET.woo, [body], 'base64'));
			const { a, call } = await send(woo, body, headers);
			expect(a.status).toBe(401);
			expect(a.body).toEqual({ error: expect.any(String), field: 'x-wc-webhook-signature', reason });
			expectNothingEmitted(call);
		}
		expect(await (await store()).getDeliveries({ orderId: '729' })).toEqual([]);
		expect(await available()).toEqual(stock);
	});

	it('one key store, two shops: a WooCommerce and a Shopify order with the same id and SKUs → two deliveries, different keys, each to its buyer', async () => {
		const ID = '820982911946154508';
		const stock = await available();
		const wooOrder = edited(WOO_ORDER, '{"id":727,', `{"id":${ID},`);
		const shopifyOrder = edited(edited(SHOPIFY_PAID, '"sku":"SKU2006-001"', '"sku":"93"'), '"sku":"LENS-PROTECT-2YR"', '"sku":"Bar3"');
		const fromWoo = await send(woo, wooOrder, wooHeaders(wooOrder));
		const fromShopify = await send(shopify, shopifyOrder, shopifyHeaders(shopifyOrder));
		expect(lines(fromShopify.call)).toEqual([
			['shopify:jsmith', ID, '93', 1, 'jon@example.com'],
			['shopify:jsmith', ID, 'Bar3', 1, 'jon@example.com'],
		]);
		const claimed = [fromWoo.a, fromShopify.a].flatMap((a) => {
			expect(a.status).toBe(200);
			return a.body as Claimed[];
		});
		expect(claimed.map((d) => [d.shop, d.orderId, d.sku, d.status, d.alreadyDelivered, d.buyer.email])).toEqual([
			['woocommerce:mystore', ID, '93', 'claimed', false, 'john.doe@example.com'],
			['woocommerce:mystore', ID, 'Bar3', 'claimed', false, 'john.doe@example.com'],
			['shopify:jsmith', ID, '93', 'claimed', false, 'jon@example.com'],
			['shopify:jsmith', ID, 'Bar3', 'claimed', false, 'jon@example.com'],
		]);
		const keyIds = claimed.flatMap((d) => d.keyIds);
		expect(keyIds).toHaveLength(5);
		expect(new Set(keyIds).size).toBe(5);
		const deliveries = [];
		for (const shop of ['woocommerce:mystore', 'shopify:jsmith']) deliveries.push(...(await (await store()).getDeliveries({ orderId: ID, shop })));
		expect(deliveries.map((d) => [d.shop, d.sku, d.buyer.email]).sort()).toEqual([
			['shopify:jsmith', '93', 'jon@example.com'],
			['shopify:jsmith', 'Bar3', 'jon@example.com'],
			['woocommerce:mystore', '93', 'john.doe@example.com'],
			['woocommerce:mystore', 'Bar3', 'john.doe@example.com'],
		]);
		expect(new Set(deliveries.map((d) => d.id)).size).toBe(4);
		expect(await available()).toEqual({ '93': stock['93'] - 3, Bar3: stock.Bar3 - 2 });
	});
});

describe('Shopify (respond immediately)', () => {
	let h: Harness;
	beforeAll(async () => {
		h = await platformHarness('shopify', { signingSecret: SECRET.shopify });
	});

	it('orders/paid → 202, one item per line of shop shopify:jsmith', async () => {
		const { a, call } = await send(h, SHOPIFY_PAID, shopifyHeaders(SHOPIFY_PAID));
		expect(a.status).toBe(202);
		expect(a.body).toEqual({ received: true, orderId: '820982911946154508' });
		expect(lines(call)).toEqual([
			['shopify:jsmith', '820982911946154508', 'SKU2006-001', 1, 'jon@example.com'],
			['shopify:jsmith', '820982911946154508', 'LENS-PROTECT-2YR', 1, 'jon@example.com'],
		]);
	});

	it('signed with another secret → 401, nothing started', async () => {
		expectedSignatures.push(hmacOf('sha256', SECRET.shopify, [SHOPIFY_PAID], 'base64'));
		const { a, call } = await send(h, SHOPIFY_PAID, shopifyHeaders(SHOPIFY_PAID, { secret: 'shpss_another0secret0000' }));
		expect(a.status).toBe(401);
		expect(a.body).toEqual({ error: expect.any(String), field: 'x-shopify-hmac-sha256', reason: 'mismatch' });
		expectNothingEmitted(call);
	});

	it('a topic the preset does not handle (orders/create) → 200 ignored, nothing started', async () => {
		const { a, call } = await send(h, SHOPIFY_PAID, shopifyHeaders(SHOPIFY_PAID, { topic: 'orders/create' }));
		expect(a.status).toBe(200);
		expect(a.body).toEqual({ ignored: true, event: 'orders/create', message: expect.stringContaining('not handled') });
		expectNothingEmitted(call);
	});
});

describe('Stripe checkout.session.completed', () => {
	let api: StripeApiFake;
	let byMetadata: Harness;
	let byLineItems: Harness;
	const pages = ['line_items.page1.json', 'line_items.page2.json'].map((name) => JSON.parse(fixtureBytes('stripe', name).toString('utf8')) as { data: Array<Record<string, unknown>> });
	const STRIPE_ITEM = { event: 'order.paid', orderId: PAYMENT_INTENT, shop: 'stripe:mystore', amount: 100, currency: 'USD', paidAt: '2025-11-23T10:00:00.000Z' };
	const BUYER = { id: 'cus_NffrFeUfNV2Hib', name: 'Jenny Rosen', email: 'jenny.rosen@example.com', ip: null };

	beforeAll(async () => {
		api = await startStripeApiFake(SECRET.stripeKey);
		// Stripe's two fixture pages: the fake pages its list one line at a time.
		api.addSession(SESSION_ID, pages.flatMap((p) => p.data), { pageSize: 1 });
		const credential = { signingSecret: SECRET.stripe, stripeSecretKey: SECRET.stripeKey, stripeApiUrl: api.url };
		byMetadata = await platformHarness('stripe', credential);
		byLineItems = await platformHarness('stripe', credential, { parameters: { stripeOptions: { skuFrom: 'line_items' } } });
	});
	beforeEach(() => api.clear());
	afterAll(() => api.close());

	it('SKU from the session metadata → 202, one item, no API call', async () => {
		const { a, call } = await send(byMetadata, STRIPE_SESSION, stripeHeaders(STRIPE_SESSION));
		expect(a.status).toBe(202);
		expect(a.body).toEqual({ received: true, orderId: PAYMENT_INTENT });
		expect(call.emitted?.map((i) => i.json)).toEqual([{ ...STRIPE_ITEM, buyer: BUYER, sku: 'STEAM-50', name: null, quantity: 2, price: 50, line: 0, lines: 1 }]);
		expect(api.requests).toEqual([]);
	});

	it('skuFrom line_items → the line items read page by page from the Stripe API with the secret key', async () => {
		const { a, call } = await send(byLineItems, STRIPE_SESSION, stripeHeaders(STRIPE_SESSION));
		expect(a.status).toBe(202);
		expect(a.body).toEqual({ received: true, orderId: PAYMENT_INTENT });
		const path = `/v1/checkout/sessions/${SESSION_ID}/line_items`;
		expect(api.requests.map((r) => [r.method, r.path, r.query, r.headers.authorization, r.outcome])).toEqual([
			['GET', path, { limit: '100', 'expand[]': 'data.price.product' }, `Bearer ${SECRET.stripeKey}`, 200],
			['GET', path, { limit: '100', 'expand[]': 'data.price.product', starting_after: 'li_1N4BEoLkdIwHu7ixWtXug1yk' }, `Bearer ${SECRET.stripeKey}`, 200],
		]);
		expect(call.emitted?.map((i) => i.json)).toEqual([
			{ ...STRIPE_ITEM, buyer: BUYER, sku: 'STEAM-50', name: 'Steam Gift Card 50', quantity: 2, price: 50, line: 0, lines: 2 },
			{ ...STRIPE_ITEM, buyer: BUYER, sku: 'NETFLIX-15', name: 'Netflix 15', quantity: 1, price: 15, line: 1, lines: 2 },
		]);
	});

	it('the Stripe API failing (500) → our 503 with Retry-After so Stripe retries; nothing started', async () => {
		api.faults('*', [500, 500, 500, 500, 500]);
		const { a, call } = await send(byLineItems, STRIPE_SESSION, stripeHeaders(STRIPE_SESSION));
		expect(a.status).toBe(503);
		expect(a.headers['retry-after']).toBe('60');
		expect(a.body).toMatchObject({ field: 'credentials', error: expect.stringMatching(/^Reading the order from the stripe API failed: /) });
		expectNothingEmitted(call);
		expect(api.requests.length).toBeGreaterThan(0);
		expect(api.requests.every((r) => r.outcome === 500)).toBe(true);
	});

	it('a signature 10 minutes old → 401 expired, no API call, nothing started', async () => {
		const { a, call } = await send(byLineItems, STRIPE_SESSION, stripeHeaders(STRIPE_SESSION, now() - 600));
		expect(a.status).toBe(401);
		expect(a.body).toEqual({ error: expect.any(String), field: 'stripe-signature', reason: 'expired' });
		expectNothingEmitted(call);
		expect(api.requests).toEqual([]);
	});
});

describe('Paddle and Lemon Squeezy', () => {
	let api: PaddleApiFake;
	beforeAll(async () => {
		api = await startPaddleApiFake(SECRET.paddleKey);
		const customer = JSON.parse(fixtureBytes('paddle', 'customer.json').toString('utf8')) as { data: Record<string, unknown> };
		api.customers.set(PADDLE_CUSTOMER, customer.data);
	});
	afterAll(() => api.close());

	it('Paddle transaction.completed without an email in custom data → the customer looked up in the Paddle API', async () => {
		const h = await platformHarness('paddle', { signingSecret: SECRET.paddle, paddleApiKey: SECRET.paddleKey, paddleApiUrl: api.url });
		const { a, call } = await send(h, PADDLE_TXN, paddleHeaders(PADDLE_TXN));
		expect(a.status).toBe(202);
		expect(a.body).toEqual({ received: true, orderId: 'txn_01h8dzxgkvdwemdhbpcapj2tbj' });
		expect(api.requests.map((r) => [r.method, r.path, r.headers.authorization, r.outcome])).toEqual([
			['GET', `/customers/${PADDLE_CUSTOMER}`, `Bearer ${SECRET.paddleKey}`, 200],
		]);
		const buyer = { id: PADDLE_CUSTOMER, name: 'Sam Miller', email: 'sam@example.com', ip: null };
		expect(call.emitted?.map((i) => [i.json.shop, i.json.sku, i.json.quantity, i.json.buyer])).toEqual([
			['paddle:mystore', 'pri_01gsz8x8sawmvhz1pv30nge1ke', 2, buyer],
			['paddle:mystore', 'pri_01gsz98e27ak2tyhexptwc58yk', 1, buyer],
		]);
	});

	it('Lemon Squeezy order_created → 202, the order of shop lemonsqueezy:mystore', async () => {
		const h = await platformHarness('lemonsqueezy', { signingSecret: SECRET.lemonSqueezy });
		const { a, call } = await send(h, LS_ORDER, lemonSqueezyHeaders(LS_ORDER, 'order_created'));
		expect(a.status).toBe(202);
		expect(a.body).toEqual({ received: true, orderId: '1' });
		expect(lines(call)).toEqual([['lemonsqueezy:mystore', '1', '1', 1, 'johndoe@example.com']]);
	});
});

describe('secrets', () => {
	it('no signing secret, API key or expected signature in any answer, error, log line or console output', () => {
		// the checks below looked at real traffic: rejections were answered and logged
		expect(answers.filter((a) => a.status === 401)).toHaveLength(5);
		expect(logged.some((l) => l.includes('answered 401 without starting the workflow'))).toBe(true);
		const errors = harnesses.flatMap((h) => h.calls).flatMap((c) => (c.error ? [`${c.error.message} ${c.error.stack ?? ''}`] : []));
		// the Stripe API failure was answered 503 (with the API's answer in the error) and logged
		expect(answers.filter((a) => a.status === 503)).toHaveLength(1);
		expect(logged.some((l) => l.includes('answered 503 without starting the workflow: Reading the order from the stripe API failed'))).toBe(true);
		const texts = [...answers.map((a) => a.text), ...errors, ...logged, ...output];
		expect(expectedSignatures).toHaveLength(4);
		for (const secret of [...Object.values(SECRET), ...expectedSignatures]) {
			for (const text of texts) expect(text).not.toContain(secret);
		}
	});
});
