/**
 * The Platform presets in a real n8n 2.41.1: the bundled order-paid.json and order-refunded.json,
 * imported with ONLY the Platform switches flipped (Shop Webhook `platform` + `shopName`, Mark
 * Shipped `platform`) and, per platform, their own ids, webhook paths, names and Shop API
 * credential. One n8n instance; WooCommerce, Shopify, Stripe, Lemon Squeezy and Paddle send what
 * their docs say they send, a Generic HMAC shop sends canonical JSON signed with base64
 * HMAC-SHA512 over `<timestamp>.<body>` (test/e2e/platformSender.ts: fixture payloads with fresh
 * orders, each platform's headers and signature); the shop APIs are the local fakes
 * (test/helpers/fakes), mail goes to the SMTP peer. Lemon Squeezy, Paddle and Generic HMAC run
 * order-paid only (Lemon Squeezy's and Paddle's refund payloads: test/unit/platforms).
 *
 * Checked: one mail with the key to the right buyer per paid order, and for WooCommerce, Shopify
 * and Generic HMAC (Custom HTTP API) one fulfil call after that mail, Stripe, Lemon Squeezy and
 * Paddle recorded shipped without a call (Paddle's buyer from custom_data, no API lookup); the same
 * event 5× (and WooCommerce's order.updated 3× at once) delivers once; refunds revoke the keys;
 * forged / wrong-secret / expired (Stripe, Paddle, Generic HMAC) / tampered requests get 401 and
 * start nothing; WooCommerce's unsigned save ping gets 200; a WooCommerce
 * and a Shopify order with the same id are two orders with two keys; no plaintext key in any
 * answer, in n8n's execution data or in its log. Traffic stays on 127.0.0.1.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { maskKey } from '../../nodes/core/secrets';
import { KeyStore } from '../../nodes/core/store';
import { startFake, type FakeServer } from '../helpers/fakes/http';
import { startPaddleApiFake, type PaddleApiFake } from '../helpers/fakes/paddleApi';
import { startShopifyFake, type ShopifyFake } from '../helpers/fakes/shopify';
import { startStripeApiFake, type StripeApiFake } from '../helpers/fakes/stripeApi';
import { startWooCommerceFake, type WooCommerceFake } from '../helpers/fakes/woocommerce';
import { startSmtpServer, type ReceivedMail, type SmtpPeer } from '../helpers/smtpServer';
import { REPO_ROOT } from './pack';
import { createInstance, packTarball, type N8nInstance, type WorkflowInput } from './n8nInstance';
import {
	canonicalOrder,
	GENERIC_SCHEME,
	genericHeaders,
	lemonSqueezyHeaders,
	lemonSqueezyOrder,
	paddleHeaders,
	paddleTransaction,
	send,
	shopifyHeaders,
	shopifyOrder,
	shopifyRefund,
	stripeHeaders,
	stripeRefund,
	stripeSession,
	wooHeaders,
	wooOrder,
	type Answer,
} from './platformSender';
import { waitForMail } from './workflowDriver';

const rand = () => randomBytes(5).toString('hex').toUpperCase();
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The platforms with both workflows (order-paid and order-refunded); the later ones run order-paid only. */
const PLATFORMS = ['woocommerce', 'shopify', 'stripe'] as const;
const ALL = [...PLATFORMS, 'lemonsqueezy', 'paddle', 'generic'] as const;
type PlatformId = (typeof ALL)[number];
const hasRefunds = (p: PlatformId) => (PLATFORMS as readonly PlatformId[]).includes(p);
const SHOP_NAME = 'e2e';
/** Generic HMAC has no Shop Name: its canonical orders carry their own `shop`. */
const shopOf = (p: PlatformId) => (p === 'generic' ? `generic-${SHOP_NAME}` : `${p}:${SHOP_NAME}`);
/** Platforms whose time is signed (a request older than the tolerance is refused). */
const TIMED: PlatformId[] = ['stripe', 'paddle', 'generic'];

/** Ids, paths and names of each platform's copies (the only other changes to the shipped files). */
const TAG: Record<PlatformId, string> = { woocommerce: 'Woo', shopify: 'Shp', stripe: 'Str', lemonsqueezy: 'Lsq', paddle: 'Pdl', generic: 'Gen' };
/** Shop Webhook's options of each platform (parameter name, value); none for the first three. */
const WEBHOOK_OPTIONS: Partial<Record<PlatformId, Record<string, unknown>>> = {
	lemonsqueezy: { lemonSqueezyOptions: { skuFrom: 'custom_data' } },
	paddle: { paddleOptions: { skuFrom: 'price_custom_data' } },
	generic: { genericSignature: GENERIC_SCHEME },
};
const credId = (p: PlatformId) => `adShopApi${TAG[p]}01`;
const wfId = (p: PlatformId, kind: 'paid' | 'refunded') => `adWf${kind === 'paid' ? 'Paid' : 'Refd'}${TAG[p]}000001`;
const hookPath = (p: PlatformId, kind: 'paid' | 'refunded') => `auto-delivery/${p}/order-${kind}`;

const STORE_SECRET = `e2e-store-${rand()}${rand()}`;
const SECRET: Record<PlatformId, string> = {
	woocommerce: `woo-${rand()}${rand()}`,
	shopify: `shpss_${rand()}${rand()}`,
	stripe: `whsec_${rand()}${rand()}`,
	lemonsqueezy: `lsq-${rand()}${rand()}`.slice(0, 40),
	paddle: `pdl_ntfset_${rand()}${rand()}`,
	generic: `gen-${rand()}${rand()}`,
};
const WOO = { consumerKey: `ck_${rand()}`, consumerSecret: `cs_${rand()}${rand()}` };
const SHOPIFY_TOKEN = `shpat_${rand()}${rand()}`;
const STRIPE_KEY = `sk_test_${rand()}${rand()}`;
const PADDLE_KEY = `pdl_live_apikey_${rand()}${rand()}`;
const GENERIC_TOKEN = `gen-token-${rand()}${rand()}`;
const SECRETS = [STORE_SECRET, ...Object.values(SECRET), WOO.consumerSecret, SHOPIFY_TOKEN, STRIPE_KEY, PADDLE_KEY, GENERIC_TOKEN];

const SKU: Record<PlatformId | 'same', string> = {
	woocommerce: 'E2E-WOO-KEY',
	shopify: 'E2E-SHOPIFY-KEY',
	stripe: 'E2E-STRIPE-KEY',
	lemonsqueezy: 'E2E-LEMON-KEY',
	paddle: 'E2E-PADDLE-KEY',
	generic: 'E2E-GENERIC-KEY',
	same: 'E2E-SAME-ID-KEY',
};
const KEYS = Object.fromEntries(Object.entries(SKU).map(([p, sku]) => [p, Array.from({ length: 8 }, (_, i) => `${sku}-${i}-${rand()}-${rand()}`)])) as Record<keyof typeof SKU, string[]>;
const ALL_KEYS = Object.values(KEYS).flat();
const keysIn = (text: string) => ALL_KEYS.filter((k) => text.includes(k));

/** Shipped workflow `file` with the Platform switches flipped and its own ids, path, name and credential. */
function copyFor(file: string, p: PlatformId, kind: 'paid' | 'refunded'): WorkflowInput {
	const wf = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'workflows', file), 'utf8')) as WorkflowInput;
	wf.id = wfId(p, kind);
	wf.name = `${wf.name} (${p})`;
	if (typeof wf.versionId === 'string') wf.versionId = randomUUID();
	for (const node of wf.nodes as Array<{ type: string; parameters: Record<string, unknown>; webhookId?: string; credentials?: Record<string, { id: string; name: string }> }>) {
		if (node.type === 'n8n-nodes-auto-delivery.shopWebhook') {
			Object.assign(node.parameters, { path: hookPath(p, kind), platform: p, ...(p === 'generic' ? {} : { shopName: SHOP_NAME }), ...WEBHOOK_OPTIONS[p] });
			node.webhookId = randomUUID();
		}
		// Generic HMAC ships through the Custom HTTP API (the workflow's own default).
		if (node.type === 'n8n-nodes-auto-delivery.markShipped' && p !== 'generic') node.parameters.platform = p;
		if (node.credentials?.autoDeliveryShopApi) node.credentials.autoDeliveryShopApi = { id: credId(p), name: `Shop API (${p})` };
	}
	return wf;
}

describe('e2e: platform presets (WooCommerce, Shopify, Stripe, Lemon Squeezy, Paddle, Generic HMAC) in a real n8n 2.41.1', () => {
	let n8n: N8nInstance;
	let smtp: SmtpPeer; // Auto Delivery SMTP: the buyers' delivery mails
	let sellerSmtp: SmtpPeer; // Seller SMTP: n8n's Send Email nodes
	let woo: WooCommerceFake;
	let shopify: ShopifyFake;
	let stripeApi: StripeApiFake;
	let paddleApi: PaddleApiFake; // never called: the transactions carry the buyer's email
	let genericShop: FakeServer; // the Generic HMAC shop's own API, called by Mark Shipped (Custom HTTP API)
	let storeFile: string;
	const answers: Answer[] = [];
	const t0 = Date.now();
	let nextId = 4_000_000 + Math.floor(Math.random() * 1_000_000);
	const freshId = () => ++nextId;

	const post = async (p: PlatformId, kind: 'paid' | 'refunded', body: string, headers: Record<string, string>) => {
		const a = await send(n8n.webhookUrl(hookPath(p, kind)), body, headers);
		answers.push(a);
		return a;
	};
	const mailsTo = (email: string) => smtp.messages.filter((m) => m.to.includes(email));
	const wooFulfils = (id: number) => woo.requests.filter((r) => r.method === 'PUT' && r.path === `/wp-json/wc/v3/orders/${id}` && (r.body as { status?: string } | null)?.status === 'completed');
	const shopifyFulfils = (id: number) => {
		const foIds = new Set(shopify.orders.get(String(id))?.fulfillmentOrders.map((fo) => fo.id));
		return shopify.requests.filter((r) => {
			const b = r.body as { query?: string; variables?: { fulfillment?: { lineItemsByFulfillmentOrder?: Array<{ fulfillmentOrderId: string }> } } } | null;
			return String(b?.query ?? '').includes('fulfillmentCreate') && (b?.variables?.fulfillment?.lineItemsByFulfillmentOrder ?? []).some((x) => foIds.has(x.fulfillmentOrderId));
		});
	};
	const genericShips = (id: string) => genericShop.requests.filter((r) => r.method === 'POST' && r.path === `/orders/${id}/ship`);
	const executions = async (p: PlatformId, kind: 'paid' | 'refunded' = 'paid') => (await n8n.sqlite().executions({ workflowId: wfId(p, kind) })).length;
	const store = async <T>(fn: (s: KeyStore) => Promise<T>): Promise<T> => {
		const s = await KeyStore.open({ database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET });
		try {
			return await fn(s);
		} finally {
			await s.close();
		}
	};
	const keysOf = async (p: PlatformId, orderId: string) =>
		store(async (s) => (await s.getDeliveries({ orderId, shop: shopOf(p), reveal: true })).map((d) => ({ status: d.status, keys: d.keys.map((k) => k.key) })));

	/** `p`'s signature headers of `body`, signed with `secret` (at unix time `t` where the platform signs a time). */
	const headersFor = (p: PlatformId, secret: string, body: string, topic?: string, t?: number): Record<string, string> => {
		if (p === 'woocommerce') return wooHeaders(secret, body, topic ?? 'order.created');
		if (p === 'shopify') return shopifyHeaders(secret, body, topic ?? 'orders/paid');
		if (p === 'lemonsqueezy') return lemonSqueezyHeaders(secret, body);
		return { stripe: stripeHeaders, paddle: paddleHeaders, generic: genericHeaders }[p](secret, body, t);
	};
	/** The header carrying `p`'s signature. */
	const SIG_HEADER: Record<PlatformId, string> = {
		woocommerce: 'x-wc-webhook-signature',
		shopify: 'x-shopify-hmac-sha256',
		stripe: 'stripe-signature',
		lemonsqueezy: 'x-signature',
		paddle: 'paddle-signature',
		generic: GENERIC_SCHEME.header.toLowerCase(),
	};

	/** A fresh order id as `p` numbers its orders. */
	const orderIdFor = (p: PlatformId, tag = '') =>
		p === 'stripe' ? `pi_E2E${tag}${rand()}${rand()}` : p === 'paddle' ? `txn_e2e${tag}${rand()}${rand()}`.toLowerCase() : p === 'generic' ? `GEN-${tag}${freshId()}` : freshId();

	/** A paid order as `p` sends it; the signed request, ready to be sent again. */
	function paidRequest(p: PlatformId, id: number | string, email: string, sku = SKU[p], extra: { topic?: string; status?: string } = {}) {
		const order = { id, email, sku };
		const bodies: Record<PlatformId, () => string> = {
			woocommerce: () => wooOrder({ ...order, status: extra.status }),
			shopify: () => shopifyOrder(order),
			stripe: () => stripeSession({ ...order, id: String(id) }),
			lemonsqueezy: () => lemonSqueezyOrder(order),
			paddle: () => paddleTransaction({ ...order, id: String(id) }),
			generic: () => canonicalOrder({ ...order, shop: shopOf('generic') }),
		};
		const body = bodies[p]();
		return { body, headers: headersFor(p, SECRET[p], body, extra.topic) };
	}

	/** The shop calls Mark Shipped made for order `id` of `p`: null where it records only (Stripe, Lemon Squeezy, Paddle). */
	const shipCalls = (p: PlatformId, id: number | string) =>
		p === 'woocommerce' ? wooFulfils(Number(id)) : p === 'shopify' ? shopifyFulfils(Number(id)) : p === 'generic' ? genericShips(String(id)) : null;

	/** The one mail of `email`, carrying exactly `key`; the one fulfil call, received after it. */
	async function expectDeliveredOnce(p: PlatformId, id: number | string, email: string, key: string): Promise<ReceivedMail> {
		const [mail] = await waitForMail(smtp, (m) => m.to.includes(email));
		expect(mailsTo(email)).toHaveLength(1);
		expect(mail.to).toEqual([email]);
		expect(keysIn(mail.text)).toEqual([key]);
		expect(mail.subject).toContain(String(id));
		const calls = shipCalls(p, id);
		if (calls) {
			expect(calls).toHaveLength(1);
			expect(calls[0].at).toBeGreaterThanOrEqual(mail.at);
		}
		return mail;
	}

	beforeAll(async () => {
		[smtp, sellerSmtp] = await Promise.all([startSmtpServer(), startSmtpServer()]);
		[woo, shopify, stripeApi, paddleApi, genericShop] = await Promise.all([
			startWooCommerceFake(WOO),
			startShopifyFake({ accessToken: SHOPIFY_TOKEN }),
			startStripeApiFake(STRIPE_KEY),
			startPaddleApiFake(PADDLE_KEY),
			startFake(() => ({ status: 200, body: { reference: 'GEN-SHIP' } })),
		]);
		n8n = await createInstance({ log });
		await n8n.installPackage(await packTarball({ log }));
		storeFile = path.join(n8n.n8nFolder, 'auto-delivery-platforms.sqlite');
		await store(async (s) => {
			for (const [p, sku] of Object.entries(SKU)) expect((await s.importKeys({ sku, keys: KEYS[p as keyof typeof SKU], productName: `Product ${p}` })).imported).toBe(8);
		});

		const shopApi: Record<PlatformId, Record<string, unknown>> = {
			woocommerce: { wooStoreUrl: woo.url, wooAllowHttp: true, wooConsumerKey: WOO.consumerKey, wooConsumerSecret: WOO.consumerSecret },
			shopify: { shopifyShop: 'e2e', shopifyAuth: 'accessToken', shopifyAccessToken: SHOPIFY_TOKEN, shopifyApiVersion: '2026-10', shopifyAdminUrl: shopify.url },
			stripe: { stripeSecretKey: STRIPE_KEY, stripeApiUrl: stripeApi.url },
			lemonsqueezy: {},
			paddle: { paddleApiKey: PADDLE_KEY, paddleSandbox: false, paddleApiUrl: paddleApi.url },
			generic: { platform: 'custom', baseUrl: genericShop.url, authType: 'bearer', token: GENERIC_TOKEN },
		};
		await n8n.importCredentials([
			{ id: 'adKeyStore0001', name: 'Auto Delivery Key Store', type: 'autoDeliveryKeyStore', data: { database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET, tablePrefix: 'ad_' } },
			{ id: 'adSmtp00000001', name: 'Auto Delivery SMTP', type: 'autoDeliverySmtp', data: { host: '127.0.0.1', port: smtp.port, security: 'none', user: '', password: '', from: 'E2E Shop <shop@example.com>', ignoreSslIssues: false } },
			{ id: 'adSellerSmtp01', name: 'Seller SMTP', type: 'smtp', data: { host: '127.0.0.1', port: sellerSmtp.port, secure: false, disableStartTls: true, user: '', password: '', hostName: '' } },
			...ALL.map((p) => ({ id: credId(p), name: `Shop API (${p})`, type: 'autoDeliveryShopApi', data: { platform: p, signingSecret: SECRET[p], ignoreSslIssues: false, ...shopApi[p] } })),
		]);
		const kindsOf = (p: PlatformId) => (hasRefunds(p) ? (['paid', 'refunded'] as const) : (['paid'] as const));
		await n8n.importWorkflow(ALL.flatMap((p) => kindsOf(p).map((kind) => copyFor(`order-${kind}.json`, p, kind))));
		for (const p of ALL) for (const kind of kindsOf(p)) await n8n.publish(wfId(p, kind));
		await n8n.start();
		log(`[platforms] setup ${((Date.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(n8n.timings)}`);
	});

	afterAll(async () => {
		log(`[platforms] total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
		await n8n?.dispose();
		await Promise.all([smtp?.close(), sellerSmtp?.close(), woo?.close(), shopify?.close(), stripeApi?.close(), paddleApi?.close(), genericShop?.close()]);
	});

	/** Paid orders, one per platform, kept for the refund test. */
	const paidOrders = {} as Record<PlatformId, { id: string; email: string; key: string }>;

	it.each(ALL)('%s: a signed paid order → one mail with the key, one fulfil call after it (none where Mark Shipped records only); the same event 5× changes nothing', async (p) => {
		const id = orderIdFor(p);
		const email = `${p}-buyer-${rand().toLowerCase()}@example.com`;
		if (p === 'woocommerce') woo.addOrder(Number(id));
		if (p === 'shopify') shopify.addOrder(String(id), [{ status: 'OPEN' }]);
		const req = paidRequest(p, id, email);
		const res = await post(p, 'paid', req.body, req.headers);
		expect({ status: res.status, json: res.json }).toEqual({ status: 200, json: { orderId: String(id), status: 'delivered', retry: false, lines: [{ sku: SKU[p], quantity: 1, status: 'shipped' }] } });
		await expectDeliveredOnce(p, id, email, KEYS[p][0]);
		if (p === 'woocommerce') expect(woo.orders.get(Number(id))?.status).toBe('completed');

		const again = await Promise.all(Array.from({ length: 5 }, () => post(p, 'paid', req.body, req.headers)));
		expect(again.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
		await n8n.waitForExecutions(6, { workflowId: wfId(p, 'paid') });
		await expectDeliveredOnce(p, id, email, KEYS[p][0]);
		expect(await keysOf(p, String(id))).toEqual([{ status: 'shipped', keys: [KEYS[p][0]] }]);
		if (p === 'paddle') expect(paddleApi.requests).toEqual([]); // the buyer came from custom_data
		paidOrders[p] = { id: String(id), email, key: KEYS[p][0] };
	});

	it('woocommerce: order.created (pending) is acknowledged and ignored; order.updated (processing) 3× at once delivers once', async () => {
		const id = freshId();
		const email = `woo-updated-${rand().toLowerCase()}@example.com`;
		woo.addOrder(id, 'pending');
		const created = paidRequest('woocommerce', id, email, SKU.woocommerce, { status: 'pending' });
		const ignored = await post('woocommerce', 'paid', created.body, created.headers);
		expect(ignored.status).toBe(200);
		expect(ignored.json).toMatchObject({ ignored: true });
		const updates = Array.from({ length: 3 }, () => paidRequest('woocommerce', id, email, SKU.woocommerce, { topic: 'order.updated' }));
		const res = await Promise.all(updates.map((u) => post('woocommerce', 'paid', u.body, u.headers)));
		// A request that lost the race to a concurrent one is answered 503 (the shop retries); one delivers.
		expect(res.every((r) => r.status === 200 || r.status === 503)).toBe(true);
		expect(res.some((r) => r.status === 200 && r.json.status === 'delivered')).toBe(true);
		await expectDeliveredOnce('woocommerce', id, email, KEYS.woocommerce[1]);
		// WooCommerce's retry of a 503 is answered from the delivery: nothing is sent twice.
		const retry = await post('woocommerce', 'paid', updates[0].body, updates[0].headers);
		expect(retry.json).toMatchObject({ status: 'delivered' });
		await expectDeliveredOnce('woocommerce', id, email, KEYS.woocommerce[1]);
	});

	it('rejects forged, wrong-secret, expired (Stripe, Paddle, Generic HMAC) and tampered requests with 401 and starts nothing', async () => {
		const before = await Promise.all(ALL.map((p) => executions(p)));
		const mailsBefore = smtp.messages.length;
		// One character of the digest changed (after Stripe's `v1=` / Paddle's `h1=`), still well-formed.
		const other = (c: string) => (c === 'a' ? 'b' : 'a');
		const forge = (sig: string) => (/[vh]1=/.test(sig) ? sig.replace(/([vh]1=)(.)/, (_, pre: string, c: string) => pre + other(c)) : other(sig[0]) + sig.slice(1));
		for (const p of ALL) {
			const id = orderIdFor(p, 'BAD');
			const good = paidRequest(p, id, `bad-${p}@example.com`);
			const sigHeader = SIG_HEADER[p];
			const forged = { ...good.headers, [sigHeader]: forge(good.headers[sigHeader]) };
			const attempts: Array<[string, string, Record<string, string>]> = [
				['forged', good.body, forged],
				['wrong secret', good.body, headersFor(p, `${SECRET[p]}x`, good.body)],
				['tampered', good.body.replace(`bad-${p}@example.com`, `thief-${p}@example.com`), good.headers],
				['unsigned', good.body, Object.fromEntries(Object.entries(good.headers).filter(([h]) => h !== sigHeader))],
			];
			if (TIMED.includes(p)) attempts.push(['expired', good.body, headersFor(p, SECRET[p], good.body, undefined, Math.floor(Date.now() / 1000) - 600)]);
			for (const [what, body, headers] of attempts) {
				const res = await post(p, 'paid', body, headers);
				expect({ p, what, status: res.status }).toEqual({ p, what, status: 401 });
				for (const s of SECRETS) expect(res.text.includes(s)).toBe(false);
			}
			if (hasRefunds(p)) {
				// The refund path checks the same way.
				const refund = await post(p, 'refunded', good.body, forged);
				expect({ p, what: 'forged refund', status: refund.status }).toEqual({ p, what: 'forged refund', status: 401 });
			}
		}
		await sleep(1500); // n8n saves executions asynchronously: give a wrongly started one time to show
		expect(await Promise.all(ALL.map((p) => executions(p)))).toEqual(before);
		expect(await Promise.all(PLATFORMS.map((p) => executions(p, 'refunded')))).toEqual([0, 0, 0]);
		expect(smtp.messages.length).toBe(mailsBefore);
	});

	it('woocommerce: answers the unsigned, form-encoded save ping with 200 and starts nothing', async () => {
		const before = await executions('woocommerce');
		for (const kind of ['paid', 'refunded'] as const) {
			const res = await send(n8n.webhookUrl(hookPath('woocommerce', kind)), 'webhook_id=31', { 'content-type': 'application/x-www-form-urlencoded' });
			answers.push(res);
			// Answered as a ping (n8n handed the node the raw form body), not just any 200.
			expect({ kind, status: res.status, json: res.json }).toEqual({ kind, status: 200, json: expect.objectContaining({ ignored: true }) });
			expect(res.text).toContain('webhook 31 ping');
		}
		await sleep(1000);
		expect([await executions('woocommerce'), await executions('woocommerce', 'refunded')]).toEqual([before, 0]);
	});

	it('a WooCommerce and a Shopify order with the same id in one key store: two buyers, two keys', async () => {
		const id = freshId();
		woo.addOrder(id);
		shopify.addOrder(String(id), [{ status: 'OPEN' }]);
		const emails = { woocommerce: `same-woo-${rand().toLowerCase()}@example.com`, shopify: `same-shopify-${rand().toLowerCase()}@example.com` };
		for (const p of ['woocommerce', 'shopify'] as const) {
			const req = paidRequest(p, id, emails[p], SKU.same);
			const res = await post(p, 'paid', req.body, req.headers);
			expect(res.json).toEqual({ orderId: String(id), status: 'delivered', retry: false, lines: [{ sku: SKU.same, quantity: 1, status: 'shipped' }] });
		}
		await expectDeliveredOnce('woocommerce', id, emails.woocommerce, KEYS.same[0]);
		await expectDeliveredOnce('shopify', id, emails.shopify, KEYS.same[1]);
		expect(await keysOf('woocommerce', String(id))).toEqual([{ status: 'shipped', keys: [KEYS.same[0]] }]);
		expect(await keysOf('shopify', String(id))).toEqual([{ status: 'shipped', keys: [KEYS.same[1]] }]);
	});

	it.each(PLATFORMS)('%s: a refund revokes the delivered key', async (p) => {
		const o = paidOrders[p];
		expect(o).toBeDefined();
		let body: string;
		if (p === 'woocommerce') {
			body = wooOrder({ id: Number(o.id), email: o.email, sku: SKU.woocommerce, status: 'refunded' });
		} else if (p === 'shopify') {
			body = shopifyRefund(Number(o.id), SKU.shopify);
		} else {
			body = stripeRefund(o.id);
		}
		const headers = headersFor(p, SECRET[p], body, { woocommerce: 'order.updated', shopify: 'refunds/create', stripe: undefined }[p]);
		const res = await post(p, 'refunded', body, headers);
		expect(res.status).toBe(200);
		expect(res.json).toMatchObject({ orderId: o.id, status: 'revoked', retry: false });
		expect(res.json.lines).toEqual([expect.objectContaining({ status: 'revoked', buyerSaw: true, revokedKeys: 1 })]);
		const after = await keysOf(p, o.id);
		expect(after.find((d) => d.keys.length > 0)).toEqual({ status: 'revoked', keys: [o.key] });
		// The refund mails of order-refunded.json carry no key.
		await waitForMail(sellerSmtp, (m) => m.subject.includes(o.id));
	});

	it('kept every plaintext key and secret out of the answers, n8n’s execution data and its log', async () => {
		for (const a of answers) expect(keysIn(a.text)).toEqual([]);
		for (const m of sellerSmtp.messages) expect(keysIn(m.raw)).toEqual([]);
		await sleep(500);
		const rows = await n8n.sqlite().executionRows();
		expect(rows.length).toBeGreaterThan(0);
		const byStatus = await n8n.sqlite().all<{ workflowId: string; status: string; n: number }>('SELECT workflowId, status, COUNT(*) AS n FROM execution_entity GROUP BY workflowId, status');
		log(`[platforms] executions: ${JSON.stringify(byStatus)}`);
		expect(new Set(byStatus.map((r) => r.status))).toEqual(new Set(['success']));
		// Secrets are counted, never printed.
		const haystacks = { executionData: rows.map((r) => r.data + r.workflowData).join('\n'), log: n8n.logs() };
		const leaks = Object.entries(haystacks).map(([where, text]) => ({ where, keys: keysIn(text), secrets: SECRETS.filter((x) => text.includes(x)).length }));
		expect(leaks).toEqual([
			{ where: 'executionData', keys: [], secrets: 0 },
			{ where: 'log', keys: [], secrets: 0 },
		]);
		// The run data was there to scan: the masked key of each platform's first delivery.
		for (const p of ALL) expect(haystacks.executionData).toContain(maskKey(KEYS[p][0]));
	});
});
