/**
 * Buyers hear about delays (issue 14 part 3) in a real n8n 2.41.1, with the bundled workflows
 * imported AS SHIPPED and driven over HTTP only:
 *
 *   1. two orders for an empty SKU (its product has Delay Notice on), paid one after the other but
 *      reported by the shop in the other order → 503 out_of_stock; each buyer gets exactly one
 *      delay mail (no key in it); the shop's retry of a webhook sends no second one;
 *   2. keys are imported through the import form → Complete Waiting Orders delivers both orders in
 *      order of payment (the first paid gets the first imported key), each mail before its shop
 *      call; the result page counts them; no further delay mail; the shop's retry answers shipped
 *      without a second mail or shop call.
 *
 * Peers: Auto Delivery SMTP (buyer mail), Seller SMTP (n8n's Send Email), an HTTP shop.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { KeyStore } from '../../nodes/core/store';
import { startShopServer, type ShopPeer } from '../helpers/shopServer';
import { startSmtpServer, type SmtpPeer } from '../helpers/smtpServer';
import { REPO_ROOT } from './pack';
import { createInstance, packTarball, type N8nInstance, type WorkflowInput } from './n8nInstance';
import { basicAuth, shopPost, submitForm, waitForMail } from './workflowDriver';

const rand = () => randomBytes(5).toString('hex').toUpperCase();
const log = (line: string) => process.stderr.write(`${line}\n`);

const CRED_IDS = { keyStore: 'adKeyStore0001', shopApi: 'adShopApi00001', smtp: 'adSmtp00000001', sellerSmtp: 'adSellerSmtp01', formLogin: 'adFormLogin001' };
const WF_IDS = { orderPaid: 'adWfOrderPaid001', importKeys: 'adWfImportKeys01' };
const PAID_PATH = 'auto-delivery/order-paid';
const IMPORT_FORM = 'auto-delivery/import-keys';
const SHOP = 'delay-shop';
const SKU = 'E2E-BACKORDER';

const STORE_SECRET = `e2e-store-${rand()}${rand()}`;
const SIGNING_SECRET = `e2e-signing-${rand()}${rand()}`;
const SHOP_TOKEN = `e2e-shop-token-${rand()}`;
const FORM_USER = 'seller';
const FORM_PASSWORD = `form-${rand()}`;
const AUTH = basicAuth(FORM_USER, FORM_PASSWORD);
const KEYS = Array.from({ length: 3 }, (_, i) => `BACK-${i}-${rand()}-${rand()}`);
const PAID_AT = Date.parse('2026-11-23T10:00:00Z');

function paidOrder(orderId: string, n: number, paidAt: number) {
	return {
		event: 'order.paid',
		orderId,
		shop: SHOP,
		buyer: { id: `d${n}`, name: `等待${n}`, email: `waiting${n}@example.com`, ip: `198.51.100.${n}` },
		items: [{ sku: SKU, name: 'Back-ordered', quantity: 1, price: 20 }],
		amount: 20,
		currency: 'CNY',
		paidAt: new Date(paidAt).toISOString(),
	};
}

describe('e2e: delay notices and the delivery after an import, in a real n8n 2.41.1', () => {
	let n8n: N8nInstance;
	let smtpBuyer: SmtpPeer;
	let smtpSeller: SmtpPeer;
	let shop: ShopPeer;
	// Paid first, reported second (the shop's webhooks may arrive in any order).
	const first = paidOrder('DLY-1', 1, PAID_AT);
	const second = paidOrder('DLY-2', 2, PAID_AT + 60_000);
	const paid = (o: ReturnType<typeof paidOrder>) => shopPost(n8n.webhookUrl(PAID_PATH), o, { secret: SIGNING_SECRET });
	const mailsTo = (o: ReturnType<typeof paidOrder>) => smtpBuyer.messages.filter((m) => m.to.includes(o.buyer.email));
	const delayMails = (o: ReturnType<typeof paidOrder>) => mailsTo(o).filter((m) => m.subject.includes('订单处理中'));
	const deliveryMails = (o: ReturnType<typeof paidOrder>) => mailsTo(o).filter((m) => m.subject.includes('发货通知'));
	const shipCalls = (o: ReturnType<typeof paidOrder>) => shop.requests.filter((r) => r.path === `/orders/${o.orderId}/ship`);

	beforeAll(async () => {
		[smtpBuyer, smtpSeller, shop] = await Promise.all([startSmtpServer(), startSmtpServer(), startShopServer()]);
		n8n = await createInstance({ log });
		await n8n.installPackage(await packTarball({ log }));
		const storeFile = path.join(n8n.n8nFolder, 'auto-delivery-delays.sqlite');
		// The seller turned Delay Notice on for the product (Key Pool → Upsert Product); no keys yet.
		const store = await KeyStore.open({ database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET });
		try {
			await store.upsertProduct({ sku: SKU, name: 'Back-ordered 预售', settings: { delayNotice: true, expectedWithin: '2 小时 / 2 hours' } });
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
		const shipped = ['order-paid.json', 'import-keys.json'].map((f) => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'workflows', f), 'utf8')) as WorkflowInput);
		await n8n.importWorkflow(shipped);
		for (const id of Object.values(WF_IDS)) await n8n.publish(id);
		await n8n.start();
	});

	afterAll(async () => {
		await n8n?.dispose();
		await Promise.all([smtpBuyer?.close(), smtpSeller?.close(), shop?.close()]);
	});

	it('out of stock: each buyer gets exactly one delay mail, without a key; a retried webhook sends no second', async () => {
		for (const o of [second, first]) {
			const res = await paid(o);
			expect(res.status).toBe(503);
			expect(res.json).toEqual({ orderId: o.orderId, status: 'not_delivered', retry: true, lines: [{ sku: SKU, quantity: 1, status: 'out_of_stock' }] });
		}
		const [mail1] = await waitForMail(smtpBuyer, (m) => m.to.includes(first.buyer.email));
		const [mail2] = await waitForMail(smtpBuyer, (m) => m.to.includes(second.buyer.email));
		expect(mail1.subject).toBe('【Back-ordered 预售】订单处理中 / Your order DLY-1 is being processed');
		expect(mail1.text).toContain('我们正在处理您的订单，预计 2 小时 / 2 hours 内发货');
		expect(mail1.text).toContain('We are processing your order, expected within 2 小时 / 2 hours');
		expect(mail1.text).toContain('订单号 / Order ID: DLY-1');
		expect(mail2.text).toContain('订单号 / Order ID: DLY-2');
		// the seller is still told, as before
		await waitForMail(smtpSeller, (m) => m.subject.includes('DLY-1') && m.subject.includes('could not be delivered'));

		// The shop retries both webhooks (it got 503): still one delay mail per buyer.
		await n8n.waitForExecutions(2, { workflowId: WF_IDS.orderPaid });
		for (const o of [first, second]) expect((await paid(o)).status).toBe(503);
		const runs = await n8n.waitForExecutions(4, { workflowId: WF_IDS.orderPaid });
		await waitForMail(smtpSeller, (m) => m.subject.includes('DLY-1'), { count: 2 });
		await waitForMail(smtpSeller, (m) => m.subject.includes('DLY-2'), { count: 2 });
		expect(delayMails(first)).toHaveLength(1);
		expect(delayMails(second)).toHaveLength(1);
		expect(smtpBuyer.messages).toHaveLength(2);
		expect(shop.requests).toHaveLength(0);
		// the delay node said so in the retry's execution
		const ex = await n8n.sqlite().execution(runs[runs.length - 1].id);
		expect(ex.outputs['Notify Buyer: Delay'][0].map((i) => ((i as { delayNotice: { skipped?: string } }).delayNotice).skipped)).toEqual(['already_sent']);
	});

	it('an import through the form delivers both waiting orders in order of payment: mail, then the shop; no further delay mail', async () => {
		const page = await submitForm(n8n.formUrl(IMPORT_FORM), AUTH, [SKU, '', { content: KEYS.join('\n'), fileName: 'keys.txt' }, 'TXT (one key per line)', '1']);
		expect(page.title).toBe('Keys imported / 导入完成');
		expect(page.message).toContain('Imported / 新增: 3');
		expect(page.message).toContain('Waiting orders delivered / 已补发等待订单: 2');
		// The import workflow ran Complete Waiting Orders → Notify Buyer → Mark Shipped before its result page.
		const [d1] = await waitForMail(smtpBuyer, (m) => m.to.includes(first.buyer.email) && m.subject.includes('发货通知'));
		const [d2] = await waitForMail(smtpBuyer, (m) => m.to.includes(second.buyer.email) && m.subject.includes('发货通知'));
		// first paid → first imported key (sequential), even though its webhook came second
		expect(KEYS.filter((k) => d1.text.includes(k))).toEqual([KEYS[0]]);
		expect(KEYS.filter((k) => d2.text.includes(k))).toEqual([KEYS[1]]);
		expect(d1.at).toBeLessThanOrEqual(d2.at);
		for (const [o, mail] of [[first, d1], [second, d2]] as const) {
			const calls = await (async () => {
				for (let i = 0; i < 100 && shipCalls(o).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
				return shipCalls(o);
			})();
			expect(calls).toHaveLength(1);
			expect(calls[0].at).toBeGreaterThanOrEqual(mail.at);
			expect((calls[0].body as { sku: string }).sku).toBe(SKU);
		}
		expect(delayMails(first)).toHaveLength(1);
		expect(delayMails(second)).toHaveLength(1);
		for (const m of [...delayMails(first), ...delayMails(second)]) for (const k of KEYS) expect(m.raw).not.toContain(k);

		// The shop's next retry finds the order delivered: shipped, no second mail, no second shop call.
		const retry = await paid(first);
		expect(retry.status).toBe(200);
		expect(retry.json).toEqual({ orderId: 'DLY-1', status: 'delivered', retry: false, lines: [{ sku: SKU, quantity: 1, status: 'shipped' }] });
		expect(deliveryMails(first)).toHaveLength(1);
		expect(shipCalls(first)).toHaveLength(1);
		expect(delayMails(first)).toHaveLength(1);

		// The key store: both lines delivered from the waiting queue, nothing waits, one key left.
		await n8n.stop();
		const store = await KeyStore.open({ database: 'sqlite', sqlitePath: path.join(n8n.n8nFolder, 'auto-delivery-delays.sqlite'), encryptionSecret: STORE_SECRET });
		try {
			expect(await store.listWaiting({ sku: SKU })).toEqual([]);
			expect((await store.listWaiting({ sku: SKU, status: 'delivered' })).map((l) => l.orderId)).toEqual(['DLY-1', 'DLY-2']);
			expect(await store.countAvailable(SKU)).toBe(1);
			for (const o of [first, second]) expect(await store.getNotice({ orderId: o.orderId, shop: SHOP, kind: 'delay' })).toMatchObject({ status: 'sent' });
		} finally {
			await store.close();
		}
		const data = (await n8n.sqlite().executionData()).join('\n');
		for (const k of KEYS) {
			expect(data).not.toContain(k);
			expect(n8n.logs()).not.toContain(k);
		}
	});
});
