/**
 * The bundled workflows (workflows/*.json, imported AS SHIPPED) in a real n8n 2.41.1, driven only
 * over HTTP the way a shop and a seller drive them. One n8n instance for the whole file:
 *
 *   phase 1  the six workflows + the quick start imported, all but stock-alert published; the
 *            import form seeds stock; signed paid orders (single line, multi-line, quantity > 1, the
 *            same webhook 10× at once, out of stock, unknown SKU, blocklisted, held for review and
 *            approved with the manual-review form), rejected calls (unsigned, forged, expired,
 *            malformed), a failing mail server and a failing shop followed by the shop's retry,
 *            the resend form, refunds (delivered order, one line, before payment → a later paid
 *            call answers revoked).
 *   phase 2  n8n stopped: the key store is read back (each order delivered once, the same keys as
 *            in the mails); two stuck deliveries are seeded; stock-alert is imported again with its
 *            schedule changed from every 15 minutes to every 10 seconds (the only change to a
 *            shipped workflow, so that it fires within the test) and published; n8n restarts;
 *            two schedule runs: one stock alert per SKU crossing, one stuck-delivery digest each.
 *
 * Peers: two SMTP servers (Auto Delivery SMTP → buyer mail, Seller SMTP → n8n's Send Email) and an
 * HTTP shop; every mail and shop request is timestamped by the peer that received it.
 * Everywhere: no plaintext key in webhook answers, form pages, mails other than the buyer's
 * delivery mail, n8n's execution data (run data and workflow data) or anything n8n printed.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { signPayload } from '../../nodes/core/intake';
import { maskKey } from '../../nodes/core/secrets';
import { KeyStore, type DeliveryWithKeys } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { addToBlocklist } from '../../nodes/core/risk';
import { startShopServer, type ShopPeer, type ShopRequest } from '../helpers/shopServer';
import { startSmtpServer, type ReceivedMail, type SmtpPeer } from '../helpers/smtpServer';
import { REPO_ROOT } from './pack';
import { createInstance, packTarball, type N8nInstance, type WorkflowInput } from './n8nInstance';
import { basicAuth, shopPost, submitForm, waitForMail, type HttpAnswer } from './workflowDriver';

const rand = () => randomBytes(5).toString('hex').toUpperCase();
const log = (line: string) => process.stderr.write(`${line}\n`);

// ------------------------------------------------------------------------------------------------
// Fixed names from the shipped workflows (README documents them)

const CRED_IDS = {
	keyStore: 'adKeyStore0001',
	shopApi: 'adShopApi00001',
	smtp: 'adSmtp00000001',
	sellerSmtp: 'adSellerSmtp01',
	formLogin: 'adFormLogin001',
};
const WF_IDS = {
	orderPaid: 'adWfOrderPaid001',
	orderRefunded: 'adWfOrderRefund1',
	stockAlert: 'adWfStockAlert01',
	importKeys: 'adWfImportKeys01',
	resend: 'adWfResendDeliv1',
	review: 'adWfManualRevw01',
};
const PAID_PATH = 'auto-delivery/order-paid';
const REFUND_PATH = 'auto-delivery/order-refunded';
const FORMS = { importKeys: 'auto-delivery/import-keys', resend: 'auto-delivery/resend-delivery', review: 'auto-delivery/manual-review' };
const SELLER = 'seller@example.com';
/** The shop of every order in this file but the order-identity test's (the forms ask for it too). */
const SHOP = 'e2e-shop';

// ------------------------------------------------------------------------------------------------
// Secrets and test data

const STORE_SECRET = `e2e-store-${rand()}${rand()}`;
const SIGNING_SECRET = `e2e-signing-${rand()}${rand()}`;
const SHOP_TOKEN = `e2e-shop-token-${rand()}`;
const FORM_USER = 'seller';
const FORM_PASSWORD = `form-${rand()}`;
const AUTH = basicAuth(FORM_USER, FORM_PASSWORD);

const SKU = { A: 'E2E-STEAM-50', B: 'E2E-NETFLIX-1M', C: 'E2E-VPN-1Y', GONE: 'E2E-LAST-ONE', RARE: 'E2E-RARE', STUCK: 'E2E-STUCK', ID: 'E2E-IDENTITY', NOPE: 'E2E-NOT-IN-STORE' };
const makeKeys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}-${rand()}-${rand()}`);
const KEYS = {
	A: makeKeys('STEAM', 30), // import form, TXT
	B: makeKeys('NFLX', 6), // import form, CSV with header row
	C: makeKeys('VPN', 8), // key store directly, product threshold 3
	GONE: makeKeys('LAST', 1),
	RARE: makeKeys('RARE', 1),
	STUCK: makeKeys('STUCK', 3), // phase 2
	ID: makeKeys('IDENT', 10), // key store directly: the order-identity test
};
/** Buyers of the order-identity test (their orders are not E2E-O<n> of shop e2e-shop). */
const isIdentityBuyer = (address: string) => address.endsWith('@shops.example.com');
const ALL_KEYS = Object.values(KEYS).flat();
const keysIn = (text: string) => ALL_KEYS.filter((k) => text.includes(k));

let buyerSeq = 0;
function paidOrder(orderId: string, items: Array<{ sku: string; quantity: number; price?: number }>, buyer: Record<string, string> = {}) {
	buyerSeq += 1;
	const lines = items.map((i) => ({ sku: i.sku, name: `Product ${i.sku}`, quantity: i.quantity, price: i.price ?? 50 }));
	return {
		event: 'order.paid',
		orderId,
		shop: SHOP,
		buyer: { id: `u${buyerSeq}`, name: `买家${buyerSeq}`, email: `buyer${buyerSeq}@example.com`, ip: `203.0.113.${buyerSeq}`, ...buyer },
		items: lines,
		amount: lines.reduce((s, l) => s + l.price * l.quantity, 0),
		currency: 'CNY',
		paidAt: new Date().toISOString(),
	};
}
type Order = ReturnType<typeof paidOrder>;

describe('e2e: the bundled workflows in a real n8n 2.41.1', () => {
	let n8n: N8nInstance;
	let smtpBuyer: SmtpPeer; // Auto Delivery SMTP (Notify Buyer)
	let smtpSeller: SmtpPeer; // Seller SMTP (n8n's Send Email)
	let shop: ShopPeer;
	let storeFile: string;
	const answers: HttpAnswer[] = []; // every webhook answer, for the secret scan
	const pages: string[] = []; // every form page
	const orders: Record<string, Order> = {};
	const t0 = Date.now();
	const marks: Record<string, number> = {};

	const paid = async (o: Order, opts: Parameters<typeof shopPost>[2] = {}) => {
		orders[o.orderId] = o;
		const a = await shopPost(n8n.webhookUrl(PAID_PATH), o, { secret: SIGNING_SECRET, ...opts });
		answers.push(a);
		return a;
	};
	const refund = async (orderId: string, items: Array<{ sku: string }> = []) => {
		const a = await shopPost(n8n.webhookUrl(REFUND_PATH), { event: 'order.refunded', orderId, shop: SHOP, items }, { secret: SIGNING_SECRET });
		answers.push(a);
		return a;
	};
	const form = async (formPath: string, values: Parameters<typeof submitForm>[2]) => {
		const r = await submitForm(n8n.formUrl(formPath), AUTH, values);
		pages.push(r.html);
		return r;
	};
	const buyerMails = (orderId: string) => smtpBuyer.messages.filter((m) => m.to.includes(orders[orderId].buyer.email) && m.subject.includes(orderId));
	const shipCalls = (orderId: string) => shop.requests.filter((r) => r.path === `/orders/${orderId}/ship`);
	const orderPaidExecutions = async () => (await n8n.sqlite().executions({ workflowId: WF_IDS.orderPaid })).length;

	/** The shop heard about the delivery only after the buyer's mail arrived (peer clocks, same process). */
	function expectShippedAfterMail(mail: ReceivedMail, call: ShopRequest) {
		expect(call.at).toBeGreaterThanOrEqual(mail.at);
	}

	beforeAll(async () => {
		[smtpBuyer, smtpSeller, shop] = await Promise.all([startSmtpServer(), startSmtpServer(), startShopServer()]);
		n8n = await createInstance({ log, env: { N8N_LOG_LEVEL: 'debug' } });
		await n8n.installPackage(await packTarball({ log }));
		storeFile = path.join(n8n.n8nFolder, 'auto-delivery-e2e.sqlite');

		// Seeded directly where that is simpler than a form: SKUs C, GONE, RARE and a blocklisted email.
		const store = await KeyStore.open({ database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET });
		try {
			await store.upsertProduct({ sku: SKU.C, name: 'VPN 1 year', lowStockThreshold: 3 });
			expect((await store.importKeys({ sku: SKU.C, keys: KEYS.C })).imported).toBe(8);
			expect((await store.importKeys({ sku: SKU.GONE, keys: KEYS.GONE, productName: 'Last one' })).imported).toBe(1);
			expect((await store.importKeys({ sku: SKU.RARE, keys: KEYS.RARE, productName: 'Rare item' })).imported).toBe(1);
			await store.upsertProduct({ sku: SKU.ID, name: 'Identity test', lowStockThreshold: 1 });
			expect((await store.importKeys({ sku: SKU.ID, keys: KEYS.ID })).imported).toBe(10);
			await addToBlocklist(store, { kind: 'email', value: 'fraud@example.com', reason: 'chargebacks' });
		} finally {
			await store.close();
		}

		await n8n.importCredentials([
			{ id: CRED_IDS.keyStore, name: 'Auto Delivery Key Store', type: 'autoDeliveryKeyStore', data: { database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET, tablePrefix: 'ad_' } },
			{ id: CRED_IDS.shopApi, name: 'Auto Delivery Shop API', type: 'autoDeliveryShopApi', data: { baseUrl: shop.url, authType: 'bearer', token: SHOP_TOKEN, signingSecret: SIGNING_SECRET, ignoreSslIssues: false } },
			{ id: CRED_IDS.smtp, name: 'Auto Delivery SMTP', type: 'autoDeliverySmtp', data: { host: '127.0.0.1', port: smtpBuyer.port, security: 'none', user: '', password: '', from: 'E2E Shop <shop@example.com>', ignoreSslIssues: false } },
			{ id: CRED_IDS.sellerSmtp, name: 'Seller SMTP', type: 'smtp', data: { host: '127.0.0.1', port: smtpSeller.port, secure: false, disableStartTls: true, user: '', password: '', hostName: '' } },
			{ id: CRED_IDS.formLogin, name: 'Auto Delivery Forms Login', type: 'httpBasicAuth', data: { user: FORM_USER, password: FORM_PASSWORD } },
		]);
		// Every bundled workflow, exactly as shipped, in one CLI call.
		const files = fs.readdirSync(path.join(REPO_ROOT, 'workflows')).filter((f) => f.endsWith('.json')).sort();
		expect(files).toEqual(['delivery-page.json', 'follow-up.json', 'goofish-orders.json', 'import-keys.json', 'key-store-quickstart.json', 'manual-review.json', 'order-paid.json', 'order-refunded.json', 'resend-delivery.json', 'stock-alert.json', 'taobao-orders.json', 'youzan-orders.json']);
		const shipped = files.map((f) => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'workflows', f), 'utf8')) as WorkflowInput);
		await n8n.importWorkflow(shipped);
		// stock-alert is published in phase 2 (every 15 minutes it could fire at any time during phase 1).
		for (const id of [WF_IDS.orderPaid, WF_IDS.orderRefunded, WF_IDS.importKeys, WF_IDS.resend, WF_IDS.review]) await n8n.publish(id);
		await n8n.start();
		marks.setup = Date.now() - t0;
		log(`[workflows] setup ${(marks.setup / 1000).toFixed(1)} s: ${JSON.stringify(n8n.timings)}`);
	});

	afterAll(async () => {
		log(`[workflows] phases (ms since start): ${JSON.stringify(marks)}, total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
		await n8n?.dispose();
		await Promise.all([smtpBuyer?.close(), smtpSeller?.close(), shop?.close()]);
	});

	// ============================================================================================
	// phase 1

	it('protects the forms with basic auth and seeds stock through the import form', async () => {
		expect((await fetch(n8n.formUrl(FORMS.importKeys))).status).toBe(401);
		expect((await fetch(n8n.formUrl(FORMS.importKeys), { headers: { authorization: basicAuth(FORM_USER, 'wrong') } })).status).toBe(401);
		const unauthorisedPost = await fetch(n8n.formUrl(FORMS.importKeys), { method: 'POST', body: new FormData() });
		expect(unauthorisedPost.status).toBe(401);
		for (const p of Object.values(FORMS)) {
			const page = await fetch(n8n.formUrl(p), { headers: { authorization: AUTH } });
			expect(page.status).toBe(200);
			pages.push(await page.text());
		}

		// TXT, with two duplicates and a blank line.
		const txt = [...KEYS.A, KEYS.A[0], '', KEYS.A[1]].join('\r\n');
		const a = await form(FORMS.importKeys, [SKU.A, 'Steam Wallet 50', { content: txt, fileName: 'steam.txt' }, 'TXT (one key per line)', '1']);
		expect(a.title).toBe('Keys imported / 导入完成');
		expect(a.message).toContain(`SKU ${SKU.A}`);
		expect(a.message).toContain('Imported / 新增: 30');
		expect(a.message).toContain('Duplicates skipped / 重复跳过: 2');
		expect(a.message).toContain('Invalid / 无效: 0');

		// CSV with a header row; the key column named.
		const csv = ['note,code', ...KEYS.B.map((k, i) => `"gift, #${i}",${k}`)].join('\n');
		const b = await form(FORMS.importKeys, [SKU.B, 'Netflix 1 month', { content: csv, fileName: 'netflix.csv', type: 'text/csv' }, 'CSV with header row', 'code']);
		expect(b.title).toBe('Keys imported / 导入完成');
		expect(b.message).toContain('Imported / 新增: 6');

		// The same file again changes nothing; a wrong column is refused with a message.
		const again = await form(FORMS.importKeys, [SKU.A, '', { content: txt, fileName: 'steam.txt' }, 'TXT (one key per line)', '']);
		expect(again.message).toContain('Imported / 新增: 0');
		expect(again.message).toContain('Duplicates skipped / 重复跳过: 32');
		const bad = await form(FORMS.importKeys, [SKU.B, '', { content: csv, fileName: 'netflix.csv' }, 'CSV with header row', 'serial']);
		expect(bad.title).toBe('Import failed / 导入失败');
		expect(bad.message).toContain('Nothing was imported');

		// The import workflow saves no execution (its data held the uploaded key file: importHygiene.e2e.test.ts).
		// n8n deletes an unsaved execution right after it ends (pruning is off here): wait for the last one to go.
		const importRuns = async () => n8n.sqlite().executions({ workflowId: WF_IDS.importKeys });
		for (let i = 0; i < 50 && (await importRuns()).length > 0; i++) await new Promise((r) => setTimeout(r, 200));
		expect(await importRuns()).toEqual([]);
		marks.importForm = Date.now() - t0;
	});

	it('delivers a single-line order: the buyer gets the key, then the shop is told, then the answer', async () => {
		const o = paidOrder('E2E-O1', [{ sku: SKU.A, quantity: 1 }]);
		const res = await paid(o);
		expect(res.status).toBe(200);
		expect(res.json).toEqual({ orderId: 'E2E-O1', status: 'delivered', retry: false, lines: [{ sku: SKU.A, quantity: 1, status: 'shipped' }] });

		const [mail] = buyerMails('E2E-O1');
		expect(buyerMails('E2E-O1')).toHaveLength(1);
		expect(mail.to).toEqual([o.buyer.email]);
		expect(keysIn(mail.text)).toEqual([KEYS.A[0]]); // sequential: the first imported key
		expect(keysIn(mail.html ?? '')).toEqual([KEYS.A[0]]);
		expect(mail.subject).toContain('Steam Wallet 50');

		const calls = shipCalls('E2E-O1');
		expect(calls).toHaveLength(1);
		expect(calls[0]).toMatchObject({ method: 'POST', body: { orderId: 'E2E-O1', sku: SKU.A, quantity: 1, status: 'shipped' } });
		expect(calls[0].headers.authorization).toBe(`Bearer ${SHOP_TOKEN}`);
		expectShippedAfterMail(mail, calls[0]);
	});

	it('delivers a multi-line order with quantity > 1: one mail per line, each line shipped after its mail', async () => {
		const o = paidOrder('E2E-O2', [
			{ sku: SKU.A, quantity: 2 },
			{ sku: SKU.B, quantity: 1 },
			{ sku: SKU.GONE, quantity: 1 },
		]);
		const res = await paid(o);
		expect(res.status).toBe(200);
		expect(res.json).toEqual({
			orderId: 'E2E-O2',
			status: 'delivered',
			retry: false,
			lines: [
				{ sku: SKU.A, quantity: 2, status: 'shipped' },
				{ sku: SKU.B, quantity: 1, status: 'shipped' },
				{ sku: SKU.GONE, quantity: 1, status: 'shipped' },
			],
		});
		const mails = buyerMails('E2E-O2');
		expect(mails.map((m) => keysIn(m.text)).sort()).toEqual([[KEYS.A[1], KEYS.A[2]], [KEYS.B[0]], [KEYS.GONE[0]]].sort());
		const calls = shipCalls('E2E-O2');
		expect(calls.map((c) => (c.body as { sku: string }).sku).sort()).toEqual([SKU.A, SKU.B, SKU.GONE].sort());
		for (const call of calls) {
			const { sku, quantity } = call.body as { sku: string; quantity: number };
			const mail = mails.find((m) => keysIn(m.text).some((k) => KEYS[(Object.keys(SKU) as Array<keyof typeof SKU>).find((s) => SKU[s] === sku) as keyof typeof KEYS].includes(k)));
			expect(mail).toBeDefined();
			expect(quantity).toBe(sku === SKU.A ? 2 : 1);
			expectShippedAfterMail(mail!, call);
		}
	});

	it('delivers the same webhook sent 10× at once exactly once, and answers all ten the same', async () => {
		const o = paidOrder('E2E-O3', [{ sku: SKU.A, quantity: 2 }]);
		orders[o.orderId] = o;
		const raw = JSON.stringify(o);
		const started = Date.now();
		const all = await Promise.all(Array.from({ length: 10 }, () => shopPost(n8n.webhookUrl(PAID_PATH), raw, { secret: SIGNING_SECRET })));
		marks.storm10ms = Date.now() - started;
		answers.push(...all);
		for (const a of all) {
			expect(a.status).toBe(200);
			expect(a.json).toEqual({ orderId: 'E2E-O3', status: 'delivered', retry: false, lines: [{ sku: SKU.A, quantity: 2, status: 'shipped' }] });
		}
		const mails = buyerMails('E2E-O3');
		expect(mails).toHaveLength(1);
		expect(keysIn(mails[0].text)).toEqual([KEYS.A[3], KEYS.A[4]]);
		expect(shipCalls('E2E-O3')).toHaveLength(1);
		expectShippedAfterMail(mails[0], shipCalls('E2E-O3')[0]);
	});

	it('answers unsigned, forged, expired and malformed calls at once without starting the workflow', async () => {
		const before = (await n8n.waitForExecutions(12, { workflowId: WF_IDS.orderPaid })).length;
		expect(before).toBe(12);
		const o = paidOrder('E2E-BAD', [{ sku: SKU.A, quantity: 1 }]);
		const url = n8n.webhookUrl(PAID_PATH);

		const unsigned = await shopPost(url, o, { unsigned: true });
		expect(unsigned.status).toBe(401);
		expect(unsigned.json).toMatchObject({ field: 'x-signature', reason: 'missing_signature' });
		const forged = await shopPost(url, o, { signWith: 'not-the-secret' });
		expect(forged.status).toBe(401);
		expect(forged.json).toMatchObject({ field: 'x-signature', reason: 'mismatch' });
		const expired = await shopPost(url, o, { secret: SIGNING_SECRET, timestamp: Math.floor(Date.now() / 1000) - 3600 });
		expect(expired.status).toBe(401);
		expect(expired.json).toMatchObject({ field: 'x-timestamp', reason: 'expired' });
		const zero = await shopPost(url, { ...o, items: [{ sku: SKU.A, quantity: 0 }] }, { secret: SIGNING_SECRET });
		expect(zero.status).toBe(400);
		expect(zero.json).toMatchObject({ field: 'items[0].quantity' });
		expect(String(zero.json.error)).toContain('items[0].quantity');
		const { orderId: _omit, ...noId } = o;
		const missing = await shopPost(url, noId, { secret: SIGNING_SECRET });
		expect(missing.status).toBe(400);
		expect(missing.json).toMatchObject({ field: 'orderId' });
		const refundHere = await shopPost(url, { event: 'order.refunded', orderId: 'E2E-BAD' }, { secret: SIGNING_SECRET });
		expect(refundHere.status).toBe(200);
		expect(refundHere.json).toMatchObject({ ignored: true });
		// Signed, but not UTF-8 (a GBK buyer name), or a quantity in hex: 400 naming the problem, nothing starts.
		const [head, tail] = JSON.stringify(o).split(o.buyer.name);
		const gbk = Buffer.concat([Buffer.from(head), Buffer.from([0xd0, 0xa1, 0xc3, 0xf7]), Buffer.from(tail)]); // 小明 in GBK
		const notUtf8 = await shopPost(url, gbk, { secret: SIGNING_SECRET });
		expect(notUtf8.status).toBe(400);
		expect(notUtf8.json).toEqual({ error: 'body is not valid UTF-8: send the order as UTF-8 encoded JSON.', field: 'body' });
		const hex = await shopPost(url, { ...o, items: [{ sku: SKU.A, quantity: '0x10' }] }, { secret: SIGNING_SECRET });
		expect(hex.status).toBe(400);
		expect(hex.json).toMatchObject({ field: 'items[0].quantity' });
		// Shop Webhook version 2: n8n leaves bodies of types it does not parse (octet-stream, none) to
		// the node, which reads them itself and answers 415 — same as version 1, where n8n parsed them.
		const signedAs = async (contentType: string | null) => {
			const raw = JSON.stringify(o);
			const ts = Math.floor(Date.now() / 1000);
			const headers: Record<string, string> = { 'x-timestamp': String(ts), 'x-signature': signPayload(SIGNING_SECRET, ts, raw) };
			if (contentType) headers['content-type'] = contentType;
			const res = await fetch(url, { method: 'POST', headers, body: contentType ? raw : new Blob([raw]) });
			const text = await res.text();
			return { status: res.status, text, json: JSON.parse(text) as Record<string, unknown>, headers: res.headers };
		};
		const octet = await signedAs('application/octet-stream');
		expect(octet.status).toBe(415);
		expect(octet.json).toMatchObject({ field: 'content-type' });
		const noType = await signedAs(null);
		expect(noType.status).toBe(415);
		answers.push(unsigned, forged, expired, zero, missing, refundHere, notUtf8, hex, octet, noType);
		for (const a of [unsigned, forged, expired, zero, missing, refundHere, notUtf8, hex, octet, noType]) expect(a.text).not.toContain(SIGNING_SECRET);

		// A valid order afterwards is the only new execution.
		const next = await paid(paidOrder('E2E-O11', [{ sku: SKU.C, quantity: 1 }]));
		expect(next.json.status).toBe('delivered');
		await n8n.waitForExecutions(before + 1, { workflowId: WF_IDS.orderPaid });
		expect(await orderPaidExecutions()).toBe(before + 1);
		expect(shipCalls('E2E-BAD')).toHaveLength(0);
		expect(n8n.logs()).toMatch(/Shop Webhook "Shop Webhook" answered 401 without starting the workflow/);
	});

	it('out of stock: nothing is claimed or sent, the seller is told, the shop gets 503 to retry later', async () => {
		const res = await paid(paidOrder('E2E-O8', [{ sku: SKU.RARE, quantity: 2 }]));
		expect(res.status).toBe(503);
		expect(res.json).toEqual({ orderId: 'E2E-O8', status: 'not_delivered', retry: true, lines: [{ sku: SKU.RARE, quantity: 2, status: 'out_of_stock' }] });
		expect(buyerMails('E2E-O8')).toHaveLength(0);
		expect(shipCalls('E2E-O8')).toHaveLength(0);
		const [mail] = await waitForMail(smtpSeller, (m) => m.subject.includes('E2E-O8'));
		expect(mail.subject).toContain('could not be delivered');
		expect(mail.text).toContain(`Order E2E-O8 · SKU ${SKU.RARE} × 2: out_of_stock`);
		expect(mail.text).toContain(`/form/${FORMS.importKeys}`);
	});

	it('delivers what it can of an order with an unknown SKU (partially_delivered, 200)', async () => {
		const res = await paid(paidOrder('E2E-O9', [{ sku: SKU.A, quantity: 1 }, { sku: SKU.NOPE, quantity: 1 }]));
		expect(res.status).toBe(200);
		expect(res.json).toEqual({
			orderId: 'E2E-O9',
			status: 'partially_delivered',
			retry: false,
			lines: [
				{ sku: SKU.A, quantity: 1, status: 'shipped' },
				{ sku: SKU.NOPE, quantity: 1, status: 'unknown_sku' },
			],
		});
		expect(buyerMails('E2E-O9').map((m) => keysIn(m.text))).toEqual([[KEYS.A[5]]]);
		expect(shipCalls('E2E-O9').map((c) => (c.body as { sku: string }).sku)).toEqual([SKU.A]);
		const [mail] = await waitForMail(smtpSeller, (m) => m.subject.includes('E2E-O9'));
		expect(mail.text).toContain(`SKU ${SKU.NOPE} × 1: unknown_sku`);
	});

	it('rejects a blocklisted buyer: nothing delivered, the seller is told', async () => {
		const res = await paid(paidOrder('E2E-O10', [{ sku: SKU.A, quantity: 1 }], { email: 'fraud@example.com' }));
		expect(res.status).toBe(200);
		expect(res.json).toEqual({ orderId: 'E2E-O10', status: 'not_delivered', retry: false, lines: [{ sku: SKU.A, quantity: 1, status: 'rejected' }] });
		expect(smtpBuyer.messages.filter((m) => m.to.includes('fraud@example.com'))).toHaveLength(0);
		expect(shipCalls('E2E-O10')).toHaveLength(0);
		const [mail] = await waitForMail(smtpSeller, (m) => m.subject.includes('E2E-O10'));
		expect(mail.subject).toContain('rejected by Risk Check');
		expect(mail.text).toContain('blocklist');
	});

	it('holds a large order for review; the seller approves it with the manual-review form', async () => {
		const o = paidOrder('E2E-O4', [{ sku: SKU.A, quantity: 1, price: 5000 }]);
		const res = await paid(o);
		expect(res.status).toBe(200);
		expect(res.json).toEqual({ orderId: 'E2E-O4', status: 'not_delivered', retry: false, lines: [{ sku: SKU.A, quantity: 1, status: 'review' }] });
		expect(buyerMails('E2E-O4')).toHaveLength(0);
		expect(shipCalls('E2E-O4')).toHaveLength(0);

		const [mail] = await waitForMail(smtpSeller, (m) => m.subject.includes('E2E-O4'));
		expect(mail.subject).toContain('waiting for your review');
		expect(mail.text).toContain('Amount 5000 is at or above the review threshold of 1000');
		const link = `${n8n.formUrl(FORMS.review)}?orderId=E2E-O4&sku=${encodeURIComponent(SKU.A)}&shop=${SHOP}`;
		expect(mail.text).toContain(link);
		// The link opens the form with the order filled in.
		const page = await fetch(link, { headers: { authorization: AUTH } });
		const html = await page.text();
		expect(page.status).toBe(200);
		expect(html).toContain('value="E2E-O4"');
		expect(html).toContain(`value="${SHOP}"`);
		pages.push(html);

		const approved = await form(FORMS.review, ['E2E-O4', SHOP, SKU.A, 'called the buyer']);
		expect(approved.title).toBe('Approved and delivered / 已批准并发货');
		expect(approved.message).toContain('1 key(s) sent to b');
		expect(approved.message).not.toContain(o.buyer.email); // masked
		const mails = buyerMails('E2E-O4');
		expect(mails.map((m) => keysIn(m.text))).toEqual([[KEYS.A[6]]]);
		expect(shipCalls('E2E-O4')).toHaveLength(1);
		expectShippedAfterMail(mails[0], shipCalls('E2E-O4')[0]);

		// Approving again is harmless; a line that passed, or an unknown order, is refused.
		const twice = await form(FORMS.review, ['E2E-O4', SHOP, SKU.A, '']);
		expect(twice.title).toBe('Approved and delivered / 已批准并发货');
		expect(twice.message).toContain('had already been sent');
		expect(twice.message).toContain('(it already was)');
		expect(buyerMails('E2E-O4')).toHaveLength(1);
		expect(shipCalls('E2E-O4')).toHaveLength(1);
		// The shop sending the approved order again now gets "delivered": no review mail, no second mail or ship call.
		const sellerMailsBefore = smtpSeller.messages.filter((m) => m.subject.includes('E2E-O4')).length;
		const retry = await paid(o);
		expect(retry.status).toBe(200);
		expect(retry.json).toEqual({ orderId: 'E2E-O4', status: 'delivered', retry: false, lines: [{ sku: SKU.A, quantity: 1, status: 'shipped' }] });
		expect(buyerMails('E2E-O4')).toHaveLength(1);
		expect(shipCalls('E2E-O4')).toHaveLength(1);
		expect(smtpSeller.messages.filter((m) => m.subject.includes('E2E-O4'))).toHaveLength(sellerMailsBefore);
		const passed = await form(FORMS.review, ['E2E-O1', SHOP, SKU.A, '']);
		expect(passed.title).toBe('Not approved / 未批准');
		expect(passed.message).toContain('passed Risk Check');
		const unknown = await form(FORMS.review, ['E2E-NO-SUCH-ORDER', SHOP, SKU.A, '']);
		expect(unknown.title).toBe('Not approved / 未批准');
		expect(unknown.message).toContain('never checked by Risk Check');
	});

	it('never marks an unsent delivery shipped; the shop retry sends it once the mail server works again', async () => {
		smtpBuyer.setFault('reject');
		const o = paidOrder('E2E-O5', [{ sku: SKU.C, quantity: 1 }]);
		const first = await paid(o);
		smtpBuyer.setFault('none');
		expect(first.status).toBe(503);
		expect(first.json).toEqual({ orderId: 'E2E-O5', status: 'not_delivered', retry: true, lines: [{ sku: SKU.C, quantity: 1, status: 'send_failed' }] });
		expect(shipCalls('E2E-O5')).toHaveLength(0);
		const [warn] = await waitForMail(smtpSeller, (m) => m.subject.includes('E2E-O5'));
		expect(warn.subject).toContain('not marked shipped');
		expect(warn.text).toContain('the buyer was NOT sent the keys');
		expect(warn.text).toContain('550');

		const retry = await paid(o);
		expect(retry.status).toBe(200);
		expect(retry.json).toEqual({ orderId: 'E2E-O5', status: 'delivered', retry: false, lines: [{ sku: SKU.C, quantity: 1, status: 'shipped' }] });
		const mails = buyerMails('E2E-O5');
		expect(mails.map((m) => keysIn(m.text))).toEqual([[KEYS.C[1]]]); // C[0] went to E2E-O11
		expect(shipCalls('E2E-O5')).toHaveLength(1);
		expectShippedAfterMail(mails[0], shipCalls('E2E-O5')[0]);
	});

	it('retries a failing shop API, reports ship_failed, and ships on the shop retry without a second mail', async () => {
		shop.faults('/orders/E2E-O6/ship', [500, 500, 500, 500]);
		const o = paidOrder('E2E-O6', [{ sku: SKU.C, quantity: 1 }]);
		const first = await paid(o);
		expect(first.status).toBe(503);
		expect(first.json).toEqual({ orderId: 'E2E-O6', status: 'partially_delivered', retry: true, lines: [{ sku: SKU.C, quantity: 1, status: 'ship_failed' }] });
		const mails = buyerMails('E2E-O6');
		expect(mails.map((m) => keysIn(m.text))).toEqual([[KEYS.C[2]]]);
		expect(shipCalls('E2E-O6').map((c) => c.outcome)).toEqual([500, 500, 500, 500]); // 1 + 3 retries
		for (const c of shipCalls('E2E-O6')) expectShippedAfterMail(mails[0], c);
		const [warn] = await waitForMail(smtpSeller, (m) => m.subject.includes('E2E-O6'));
		expect(warn.text).toContain('the buyer WAS sent the keys, but the shop API call failed');

		const retry = await paid(o);
		expect(retry.status).toBe(200);
		expect(retry.json).toMatchObject({ status: 'delivered', lines: [{ sku: SKU.C, quantity: 1, status: 'shipped' }] });
		expect(buyerMails('E2E-O6')).toHaveLength(1);
		expect(shipCalls('E2E-O6').map((c) => c.outcome)).toEqual([500, 500, 500, 500, 200]);
	});

	it('resends a delivery from the resend form: the same keys, to the buyer or to a new address', async () => {
		const before = buyerMails('E2E-O2').length;
		const whole = await form(FORMS.resend, ['E2E-O2', SHOP, '', '']);
		expect(whole.title).toBe('Delivery resent / 已重发');
		const rows = whole.message.split('\n');
		expect(rows).toHaveLength(3);
		for (const row of rows) expect(row).toMatch(/^✔ Order E2E-O2 · SKU .+: \d key\(s\) resent to b\*\*\*\d@example\.com \(sent 2 times in all\)/);
		const mails = buyerMails('E2E-O2');
		expect(mails).toHaveLength(before + 3);
		expect(mails.slice(before).map((m) => keysIn(m.text)).sort()).toEqual(mails.slice(0, before).map((m) => keysIn(m.text)).sort());

		const elsewhere = await form(FORMS.resend, ['E2E-O3', SHOP, SKU.A, 'new-address@example.com']);
		expect(elsewhere.message).toContain('resent to n***s@example.com');
		const [moved] = await waitForMail(smtpBuyer, (m) => m.to.includes('new-address@example.com'));
		expect(keysIn(moved.text)).toEqual([KEYS.A[3], KEYS.A[4]]);

		const unknown = await form(FORMS.resend, ['E2E-NO-SUCH-ORDER', SHOP, '', '']);
		expect(unknown.title).toBe('Nothing was resent / 未重发');
	});

	it('revokes a refunded order: the buyer and the seller are told, keys masked, a second refund changes nothing', async () => {
		const res = await refund('E2E-O1');
		expect(res.status).toBe(200);
		expect(res.json).toEqual({ orderId: 'E2E-O1', status: 'revoked', retry: false, lines: [{ sku: SKU.A, status: 'revoked', buyerSaw: true, revokedKeys: 1 }] });
		const [notice] = await waitForMail(smtpSeller, (m) => m.to.includes(orders['E2E-O1'].buyer.email));
		expect(notice.subject).toContain('E2E-O1');
		expect(notice.text).toContain('was refunded');
		const [digest] = await waitForMail(smtpSeller, (m) => m.to.includes(SELLER) && m.subject.includes('E2E-O1 refunded'));
		expect(digest.text).toContain(maskKey(KEYS.A[0]));
		expect(digest.text).toContain('deactivate them at your vendor');
		expect(keysIn(digest.text)).toEqual([]);

		const mailsBefore = smtpSeller.messages.length;
		const again = await refund('E2E-O1');
		expect(again.json).toEqual({ orderId: 'E2E-O1', status: 'revoked', retry: false, lines: [{ sku: SKU.A, status: 'already_revoked', buyerSaw: true, revokedKeys: 1 }] });
		await n8n.waitForExecutions(2, { workflowId: WF_IDS.orderRefunded });
		expect(smtpSeller.messages.length).toBe(mailsBefore);

		// One line of a multi-line order; the others stay delivered.
		const line = await refund('E2E-O2', [{ sku: SKU.B }]);
		expect(line.json).toEqual({ orderId: 'E2E-O2', status: 'revoked', retry: false, lines: [{ sku: SKU.B, status: 'revoked', buyerSaw: true, revokedKeys: 1 }] });
		await waitForMail(smtpSeller, (m) => m.to.includes(SELLER) && m.subject.includes('E2E-O2 refunded'));

		// A refunded order is never resent.
		const resend = await form(FORMS.resend, ['E2E-O1', SHOP, '', '']);
		expect(resend.title).toBe('Nothing was resent / 未重发');
		expect(resend.message).toContain('refunded (revoked)');
	});

	it('blocks an order refunded before it was paid: the late paid call answers revoked and delivers nothing', async () => {
		const res = await refund('E2E-O7');
		expect(res.status).toBe(200);
		expect(res.json).toEqual({ orderId: 'E2E-O7', status: 'revoked', retry: false, lines: [{ sku: '*', status: 'blocked', buyerSaw: false, revokedKeys: 0 }] });
		const late = await paid(paidOrder('E2E-O7', [{ sku: SKU.A, quantity: 1 }]));
		expect(late.status).toBe(200);
		expect(late.json).toEqual({ orderId: 'E2E-O7', status: 'not_delivered', retry: false, lines: [{ sku: SKU.A, quantity: 1, status: 'revoked' }] });
		expect(buyerMails('E2E-O7')).toHaveLength(0);
		expect(shipCalls('E2E-O7')).toHaveLength(0);
		const [digest] = await waitForMail(smtpSeller, (m) => m.to.includes(SELLER) && m.subject.includes('E2E-O7 refunded'));
		expect(digest.text).toContain('blocked');
		marks.phase1 = Date.now() - t0;
	});

	it('order identity: the same order ID from two shops is two orders; 19-digit numeric ids keep every digit', async () => {
		const url = n8n.webhookUrl(PAID_PATH);
		// Raw JSON text: the ids below must reach n8n as JSON numbers, exactly as Taobao-like shops send them.
		const raw = (orderIdJson: string, shop: string | null, email: string) =>
			`{"event":"order.paid","orderId":${orderIdJson},${shop === null ? '' : `"shop":${JSON.stringify(shop)},`}"buyer":{"email":"${email}","name":"Identity"},` +
			`"items":[{"sku":"${SKU.ID}","name":"Identity","quantity":1,"price":5}],"amount":5,"currency":"CNY"}`;
		const post = async (body: string) => {
			const a = await shopPost(url, body, { secret: SIGNING_SECRET });
			answers.push(a);
			return a;
		};
		const mailsTo = (address: string) => smtpBuyer.messages.filter((m) => m.to.includes(address));
		const callsFor = (orderId: string) => shop.requests.filter((r) => r.path === `/orders/${orderId}/ship`);
		const delivered = (orderId: string) => ({ orderId, status: 'delivered', retry: false, lines: [{ sku: SKU.ID, quantity: 1, status: 'shipped' }] });

		// Two shops sharing the key pool, one order ID.
		const a = await post(raw('"E2E-SAME-1"', 'taobao:a', 'a@shops.example.com'));
		const b = await post(raw('"E2E-SAME-1"', 'woocommerce:b', 'b@shops.example.com'));
		expect([a.status, b.status]).toEqual([200, 200]);
		expect(a.json).toEqual(delivered('E2E-SAME-1'));
		expect(b.json).toEqual(delivered('E2E-SAME-1'));
		const [mailA] = await waitForMail(smtpBuyer, (m) => m.to.includes('a@shops.example.com'));
		const [mailB] = await waitForMail(smtpBuyer, (m) => m.to.includes('b@shops.example.com'));
		expect([mailsTo('a@shops.example.com').length, mailsTo('b@shops.example.com').length]).toEqual([1, 1]);
		expect(keysIn(mailA.text)).toEqual([KEYS.ID[0]]);
		expect(keysIn(mailB.text)).toEqual([KEYS.ID[1]]);
		expect(callsFor('E2E-SAME-1')).toHaveLength(2);
		// Each shop's retry is answered from its own delivery: no new mail, no new ship call.
		expect((await post(raw('"E2E-SAME-1"', 'woocommerce:b', 'b@shops.example.com'))).json).toEqual(delivered('E2E-SAME-1'));
		expect(mailsTo('b@shops.example.com')).toHaveLength(1);
		expect(callsFor('E2E-SAME-1')).toHaveLength(2);

		// Three 19-digit ids that are one and the same double (2840188394502391300).
		const ids = ['2840188394502391201', '2840188394502391202', '2840188394502391250'];
		expect(new Set(ids.map(Number)).size).toBe(1);
		for (const [i, id] of ids.entries()) {
			const res = await post(raw(id, null, `n${i}@shops.example.com`));
			expect(res.status).toBe(200);
			expect(res.json).toEqual(delivered(id));
		}
		for (const [i, id] of ids.entries()) {
			const [mail] = await waitForMail(smtpBuyer, (m) => m.to.includes(`n${i}@shops.example.com`));
			expect(mail.subject).toContain(id);
			expect(keysIn(mail.text)).toEqual([KEYS.ID[2 + i]]);
			const calls = callsFor(id);
			expect(calls).toHaveLength(1);
			expect(calls[0].body).toMatchObject({ orderId: id, sku: SKU.ID });
		}
		expect(shop.requests.filter((r) => r.path === '/orders/2840188394502391300/ship')).toEqual([]);
	});

	it('keeps keys out of every answer, page and mail other than the delivery mail', async () => {
		for (const a of answers) expect(keysIn(a.text)).toEqual([]);
		for (const p of pages) expect(keysIn(p)).toEqual([]);
		for (const m of smtpSeller.messages) expect(keysIn(`${m.subject}\n${m.text}\n${m.html ?? ''}\n${m.raw}`)).toEqual([]);
		// Buyer delivery mails hold keys (exactly those of their own order's deliveries: see phase 2).
		expect(smtpBuyer.messages.every((m) => keysIn(m.text).length > 0)).toBe(true);
	});

	// ============================================================================================
	// phase 2

	it('recorded every order once, with the keys the mails carried (key store read after n8n stopped)', async () => {
		await n8n.stop();
		const store = await KeyStore.open({ database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET });
		try {
			const get = async (orderId: string) => store.getDeliveries({ orderId, shop: SHOP, reveal: true });
			const keysOf = (ds: DeliveryWithKeys[]) => ds.flatMap((d) => d.keys.map((k) => k.key));
			const bySku = (ds: DeliveryWithKeys[]) => Object.fromEntries(ds.map((d) => [d.sku, d]));

			// A whole-order refund revokes the delivered line and blocks every other line ("*").
			const o1 = bySku(await get('E2E-O1'));
			expect(Object.keys(o1).sort()).toEqual(['*', SKU.A]);
			expect(o1[SKU.A]).toMatchObject({ status: 'revoked', sendCount: 1, shopReference: expect.stringMatching(/^SHIP-/) });
			expect(o1[SKU.A].keys.map((k) => [k.key, k.status])).toEqual([[KEYS.A[0], 'revoked']]);
			expect(o1['*']).toMatchObject({ status: 'revoked', quantity: 0, keys: [] });

			const o2 = bySku(await get('E2E-O2'));
			expect(Object.keys(o2).sort()).toEqual([SKU.A, SKU.B, SKU.GONE].sort());
			expect(o2[SKU.A]).toMatchObject({ status: 'shipped', quantity: 2, sendCount: 2 });
			expect(o2[SKU.B]).toMatchObject({ status: 'revoked', sendCount: 2 });
			expect(o2[SKU.GONE]).toMatchObject({ status: 'shipped', sendCount: 2 });
			expect(keysOf(await get('E2E-O2')).sort()).toEqual([KEYS.A[1], KEYS.A[2], KEYS.B[0], KEYS.GONE[0]].sort());

			const o3 = await get('E2E-O3');
			expect(o3).toHaveLength(1);
			expect(o3[0]).toMatchObject({ status: 'shipped', quantity: 2, sendCount: 2 }); // + the resend to a new address
			expect(keysOf(o3)).toEqual([KEYS.A[3], KEYS.A[4]]);
			expect((await store.listEvents({ orderId: 'E2E-O3', shop: SHOP, type: 'claimed' })).length).toBe(1);
			expect((await store.listEvents({ orderId: 'E2E-O3', shop: SHOP, type: 'shipped' })).length).toBe(1);

			expect(keysOf(await get('E2E-O4'))).toEqual([KEYS.A[6]]);
			expect((await get('E2E-O5'))[0]).toMatchObject({ status: 'shipped', sendCount: 1 });
			expect((await store.listEvents({ orderId: 'E2E-O5', shop: SHOP, type: 'send_failed' })).length).toBe(1);
			expect((await get('E2E-O6'))[0]).toMatchObject({ status: 'shipped', sendCount: 1, shipAttempts: expect.any(Number) });
			expect(await get('E2E-O7')).toEqual([expect.objectContaining({ status: 'revoked', sku: '*', quantity: 0, keys: [] })]);
			expect(await get('E2E-O8')).toEqual([]);
			expect((await get('E2E-O9')).map((d) => d.sku)).toEqual([SKU.A]);
			expect(await get('E2E-O10')).toEqual([]);

			// Every buyer delivery mail carried exactly the keys of one delivery of its order.
			for (const mail of smtpBuyer.messages.filter((m) => !m.to.some(isIdentityBuyer))) {
				const orderId = /Your order (E2E-O\d+)/.exec(mail.subject)?.[1];
				expect(orderId).toBeDefined();
				const ds = await get(orderId!);
				expect(ds.map((d) => d.keys.map((k) => k.key).sort().join())).toContain(keysIn(mail.text).sort().join());
			}
			// No key went to two orders.
			const assigned = (await store.listKeys({ sku: SKU.A, status: 'assigned' })).length + (await store.listKeys({ sku: SKU.A, status: 'revoked' })).length;
			expect(assigned).toBe(7);

			// Seed two stuck deliveries, two hours old: claimed but never sent, and sent but never shipped.
			await store.importKeys({ sku: SKU.STUCK, keys: KEYS.STUCK, productName: 'Stuck demo' });
			const s1 = await store.claim({ orderId: 'E2E-STUCK-1', sku: SKU.STUCK, buyer: { email: 'stuck1@example.com' } });
			const s2 = await store.claim({ orderId: 'E2E-STUCK-2', sku: SKU.STUCK, buyer: { email: 'stuck2@example.com' } });
			if (!s1.delivered || !s2.delivered) throw new Error('seeding stuck deliveries failed');
			await store.markSendFailed(s1.delivery.id, null, { channel: 'email', error: 'Mailbox unavailable (550)' });
			const lease = await store.beginSend(s2.delivery.id);
			if (lease.kind !== 'go') throw new Error(`seeding: beginSend ${lease.kind}`);
			await store.markSent(s2.delivery.id, lease.token, { channel: 'email', messageId: '<seeded@e2e>' });
			const twoHours = 2 * 60 * 60 * 1000;
			await internals(store)
				.db(internals(store).t.deliveries)
				.whereIn('id', [s1.delivery.id, s2.delivery.id])
				.update({ created_at: internals(store).db.raw('created_at - ?', [twoHours]), sent_at: internals(store).db.raw('sent_at - ?', [twoHours]) });
		} finally {
			await store.close();
		}
		marks.storeChecked = Date.now() - t0;
	});

	it('runs the schedule: one alert per SKU crossing and a digest of stuck deliveries per run', async () => {
		// The only change to a shipped workflow: the schedule fires every 10 seconds instead of 15 minutes.
		const wf = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'workflows', 'stock-alert.json'), 'utf8')) as WorkflowInput;
		const trigger = wf.nodes.find((n) => n.type === 'n8n-nodes-base.scheduleTrigger') as { parameters: { rule: { interval: unknown[] } } };
		expect(trigger.parameters.rule.interval).toEqual([{ field: 'minutes', minutesInterval: 15 }]);
		trigger.parameters.rule.interval = [{ field: 'seconds', secondsInterval: 10 }];
		await n8n.importWorkflow(wf);
		await n8n.publish(WF_IDS.stockAlert);
		const sellerBefore = smtpSeller.messages.length;
		await n8n.restart();
		const runs = await n8n.waitForExecutions(2, { workflowId: WF_IDS.stockAlert, timeoutMs: 60_000 });
		await n8n.stop();
		expect(runs.slice(0, 2).map((r) => [r.mode, r.status])).toEqual([
			['trigger', 'success'],
			['trigger', 'success'],
		]);
		const mails = smtpSeller.messages.slice(sellerBefore);

		// Expected: B 5 left (≤ 10) low; LAST-ONE empty; RARE 1 low; STUCK 1 low; A 23 and C 5 (own threshold 3) fine.
		const alerts = mails.filter((m) => /Low stock|OUT OF STOCK/.test(m.subject));
		expect(alerts.map((m) => m.subject).sort()).toEqual(
			[
				'[Auto Delivery] Low stock / 库存不足: Netflix 1 month (5 left)',
				'[Auto Delivery] OUT OF STOCK / 已售罄: Last one (0 left)',
				'[Auto Delivery] Low stock / 库存不足: Rare item (1 left)',
				'[Auto Delivery] Low stock / 库存不足: Stuck demo (1 left)',
			].sort(),
		);
		const digests = mails.filter((m) => m.subject.includes('need your attention'));
		expect(digests.length).toBeGreaterThanOrEqual(2); // one per run
		for (const d of digests) {
			expect(d.subject).toContain('2 delivery(ies)');
			expect(d.text).toContain('[NOT SENT / 未发送] Order E2E-STUCK-1');
			expect(d.text).toContain('Mailbox unavailable (550)');
			expect(d.text).toContain('[NOT SHIPPED / 未标记发货] Order E2E-STUCK-2');
			expect(d.text).toContain(`/form/${FORMS.resend}`);
			expect(keysIn(`${d.text}\n${d.raw}`)).toEqual([]);
		}
		marks.schedule = Date.now() - t0;
	});

	it('never wrote a plaintext key, the store secret or the shop token into n8n’s database or log', async () => {
		const rows = await n8n.sqlite().executionRows();
		const total = (await n8n.sqlite().executions()).length;
		expect(rows.length).toBe(total);
		const statuses = await n8n.sqlite().all<{ workflowId: string; status: string; n: number }>('SELECT workflowId, status, COUNT(*) AS n FROM execution_entity GROUP BY workflowId, status');
		log(`[workflows] executions: ${JSON.stringify(statuses)}`);
		expect(statuses.filter((s) => s.status !== 'success')).toEqual([]);
		const haystacks = { executionData: rows.map((r) => r.data + r.workflowData).join('\n'), log: n8n.logs() };
		for (const [where, text] of Object.entries(haystacks)) {
			expect({ where, keys: keysIn(text) }).toEqual({ where, keys: [] });
			for (const secret of [STORE_SECRET, SHOP_TOKEN, SIGNING_SECRET, FORM_PASSWORD]) {
				if (text.includes(secret)) throw new Error(`a secret appears in ${where}`);
			}
		}
		// The run data was there to scan: masked keys, e.g. the first delivery's.
		expect(haystacks.executionData).toContain(maskKey(KEYS.A[0]));
	});
});
