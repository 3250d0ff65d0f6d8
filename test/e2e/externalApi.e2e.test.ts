/**
 * External API products (API接口发货) through the bundled order-paid and order-refunded workflows,
 * imported as shipped, in a real n8n 2.41.1, with the seller's content API as a local peer in this
 * process (test/helpers/contentApiServer.ts): the buyer's mail carries the content the API issued,
 * the shop's retry of the same webhook does not call the API again, a failing API (503 on every
 * attempt) sends no mail, holds the line and takes the "Not Delivered" path, the shop's retry after
 * the API recovered delivers it, a refund calls the revoke endpoint. Nowhere in n8n's execution
 * data or log: the content, the API token, the store secret.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';

import { parseApiConfig } from '../../nodes/core/delivery';
import { maskKey } from '../../nodes/core/secrets';
import { KeyStore } from '../../nodes/core/store';
import { type ContentApi, startContentApi } from '../helpers/contentApiServer';
import { startShopServer, type ShopPeer } from '../helpers/shopServer';
import { startSmtpServer, type SmtpPeer } from '../helpers/smtpServer';
import { REPO_ROOT } from './pack';
import { createInstance, packTarball, type N8nInstance } from './n8nInstance';
import { shopPost, waitForMail, type HttpAnswer } from './workflowDriver';

const rand = () => randomBytes(5).toString('hex').toUpperCase();
const log = (line: string) => process.stderr.write(`${line}\n`);

// The ids the shipped workflows refer to (README documents them).
const CRED_IDS = { keyStore: 'adKeyStore0001', shopApi: 'adShopApi00001', smtp: 'adSmtp00000001', sellerSmtp: 'adSellerSmtp01' };
const WF_IDS = { orderPaid: 'adWfOrderPaid001', orderRefunded: 'adWfOrderRefund1' };
const PAID_PATH = 'auto-delivery/order-paid';
const REFUND_PATH = 'auto-delivery/order-refunded';
const SHOP = 'e2e-api-shop';
const SKU = 'E2E-API-GAME';
const STORE_SECRET = `e2e-store-${rand()}${rand()}`;
const SIGNING_SECRET = `e2e-signing-${rand()}${rand()}`;
const SHOP_TOKEN = `e2e-shop-token-${rand()}`;
const API_TOKEN = `e2e-api-token-${rand()}${rand()}`;

const order = (orderId: string, quantity: number, n: number) => ({
	event: 'order.paid',
	orderId,
	shop: SHOP,
	buyer: { id: `api-u${n}`, name: `买家${n}`, email: `api-buyer${n}@example.com`, ip: `198.51.100.${n}` },
	items: [{ sku: SKU, name: 'Game code', quantity, price: 30 }],
	amount: 30 * quantity,
	currency: 'CNY',
	paidAt: new Date().toISOString(),
});

describe('e2e: an External API product through the bundled workflows', () => {
	let n8n: N8nInstance;
	let smtpBuyer: SmtpPeer;
	let smtpSeller: SmtpPeer;
	let shop: ShopPeer;
	let api: ContentApi;
	let storeFile: string;
	const answers: HttpAnswer[] = [];
	const paid = async (o: ReturnType<typeof order>) => {
		const a = await shopPost(n8n.webhookUrl(PAID_PATH), JSON.stringify(o), { secret: SIGNING_SECRET });
		answers.push(a);
		return a;
	};
	/** The decoded execution of `workflowId` whose Shop Webhook received `orderId` (the last of them), once `count` ended. */
	const executionOf = async (workflowId: string, count: number, orderId: string) => {
		const rows = await n8n.waitForExecutions(count, { workflowId });
		const found = [];
		for (const r of rows) {
			const ex = await n8n.sqlite().execution(r.id);
			if (JSON.stringify(ex.outputs['Shop Webhook'] ?? []).includes(`"orderId":"${orderId}"`)) found.push(ex);
		}
		expect(found.length).toBeGreaterThan(0);
		return found[found.length - 1];
	};
	const codesOf = (orderId: string) => api.issued.get(`${SHOP}:${orderId}:${SKU}`) ?? [];
	const allCodes = () => [...api.issued.values()].flat();
	const withStore = async <T>(fn: (s: KeyStore) => Promise<T>): Promise<T> => {
		const s = await KeyStore.open({ database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET });
		try {
			return await fn(s);
		} finally {
			await s.close();
		}
	};

	beforeAll(async () => {
		[smtpBuyer, smtpSeller, shop, api] = await Promise.all([startSmtpServer(), startSmtpServer(), startShopServer(), startContentApi({ prefix: 'GAME' })]);
		n8n = await createInstance({ log });
		await n8n.installPackage(await packTarball({ log }));
		storeFile = path.join(n8n.n8nFolder, 'auto-delivery-api.sqlite');
		await withStore((s) =>
			s.upsertProduct({
				sku: SKU,
				name: 'Game code',
				kind: 'api',
				apiConfig: parseApiConfig({
					url: `${api.url}/codes`,
					headers: { Authorization: `Bearer ${API_TOKEN}` },
					body: '{"orderId": "{orderId}", "quantity": {quantity}, "product": "{productName}"}',
					contentPath: 'data.codes',
					timeoutMs: 3000,
					retries: 2,
					revoke: { url: `${api.url}/revoke`, headers: { Authorization: `Bearer ${API_TOKEN}` }, body: '{"orderId": "{orderId}", "codes": "{deliveryContent}"}' },
				}) as unknown as Record<string, unknown>,
			}),
		);
		await n8n.importCredentials([
			{ id: CRED_IDS.keyStore, name: 'Auto Delivery Key Store', type: 'autoDeliveryKeyStore', data: { database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET, tablePrefix: 'ad_' } },
			{ id: CRED_IDS.shopApi, name: 'Auto Delivery Shop API', type: 'autoDeliveryShopApi', data: { baseUrl: shop.url, authType: 'bearer', token: SHOP_TOKEN, signingSecret: SIGNING_SECRET, ignoreSslIssues: false } },
			{ id: CRED_IDS.smtp, name: 'Auto Delivery SMTP', type: 'autoDeliverySmtp', data: { host: '127.0.0.1', port: smtpBuyer.port, security: 'none', user: '', password: '', from: 'E2E Shop <shop@example.com>', ignoreSslIssues: false } },
			{ id: CRED_IDS.sellerSmtp, name: 'Seller SMTP', type: 'smtp', data: { host: '127.0.0.1', port: smtpSeller.port, secure: false, disableStartTls: true, user: '', password: '', hostName: '' } },
		]);
		await n8n.importWorkflowFile(path.join(REPO_ROOT, 'workflows', 'order-paid.json'));
		await n8n.importWorkflowFile(path.join(REPO_ROOT, 'workflows', 'order-refunded.json'));
		await n8n.publish(WF_IDS.orderPaid);
		await n8n.publish(WF_IDS.orderRefunded);
		await n8n.start();
	});

	afterAll(async () => {
		await n8n?.dispose();
		await Promise.all([smtpBuyer?.close(), smtpSeller?.close(), shop?.close(), api?.close()]);
	});

	it('delivers the content the API issued in the buyer’s mail, then tells the shop', async () => {
		const o = order('E2E-API-1', 2, 1);
		const res = await paid(o);
		expect(res.status).toBe(200);
		expect(res.json).toEqual({ orderId: 'E2E-API-1', status: 'delivered', retry: false, lines: [{ sku: SKU, quantity: 2, status: 'shipped' }] });
		expect(api.requests).toHaveLength(1);
		expect(api.requests[0]).toMatchObject({ method: 'POST', path: '/codes', idempotencyKey: `${SHOP}:E2E-API-1:${SKU}`, body: { orderId: 'E2E-API-1', quantity: 2, product: 'Game code' } });
		expect(api.requests[0].headers.authorization).toBe(`Bearer ${API_TOKEN}`);
		const codes = codesOf('E2E-API-1');
		expect(codes).toHaveLength(2);
		const [mail] = await waitForMail(smtpBuyer, (m) => m.to.includes(o.buyer.email));
		for (const c of codes) {
			expect(mail.text).toContain(c);
			expect(mail.html).toContain(c);
		}
		const ship = shop.requests.filter((r) => r.path === '/orders/E2E-API-1/ship');
		expect(ship).toHaveLength(1);
		expect(ship[0].at).toBeGreaterThanOrEqual(mail.at);
	});

	it('the shop retrying the same webhook does not call the API again, mail or ship again', async () => {
		const o = order('E2E-API-1', 2, 1);
		const res = await paid(o);
		expect(res.status).toBe(200);
		expect(res.json).toMatchObject({ status: 'delivered', lines: [{ sku: SKU, quantity: 2, status: 'shipped' }] });
		expect(api.requests).toHaveLength(1);
		expect(smtpBuyer.messages.filter((m) => m.to.includes(o.buyer.email))).toHaveLength(1);
		expect(shop.requests.filter((r) => r.path === '/orders/E2E-API-1/ship')).toHaveLength(1);
	});

	it('a failing API: no mail, the line held, the "Not Delivered" path; the shop’s retry after it recovers delivers', async () => {
		api.faults([503, 503, 503]);
		const o = order('E2E-API-2', 1, 2);
		const res = await paid(o);
		expect(res.status).toBe(503); // shops retry on 5xx
		expect(res.json).toEqual({ orderId: 'E2E-API-2', status: 'not_delivered', retry: true, lines: [{ sku: SKU, quantity: 1, status: 'api_failed' }] });
		expect(api.requests.slice(1).map((r) => [r.fault, r.idempotencyKey])).toEqual(Array(3).fill([503, `${SHOP}:E2E-API-2:${SKU}`]));
		// the seller is told which line and why; the buyer gets nothing
		const [notice] = await waitForMail(smtpSeller, (m) => m.subject.includes('E2E-API-2'));
		expect(notice.text).toMatch(/api_failed — The content API 127\.0\.0\.1:\d+ failed: The server answered 503/);
		expect(smtpBuyer.messages.filter((m) => m.to.includes(o.buyer.email))).toEqual([]);
		const ex = await executionOf(WF_IDS.orderPaid, 3, 'E2E-API-2');
		const notDelivered = (ex.outputs['Claim Key']?.[1] ?? []) as Array<Record<string, unknown>>;
		expect(notDelivered).toEqual([expect.objectContaining({ orderId: 'E2E-API-2', status: 'not_delivered', reason: 'api_failed' })]);
		expect(ex.outputs['Claim Key']?.[0] ?? []).toEqual([]);
		expect(ex.outputs['Notify Buyer']).toBeUndefined();
		await withStore(async (s) => {
			expect(await s.getDeliveries({ orderId: 'E2E-API-2', shop: SHOP })).toEqual([]);
			expect(await s.listWaiting({ orderId: 'E2E-API-2', shop: SHOP })).toEqual([expect.objectContaining({ reason: 'api_failed', status: 'waiting' })]);
		});

		// the API works again; the shop retries the webhook (same key)
		const again = await paid(o);
		expect(again.status).toBe(200);
		expect(again.json).toMatchObject({ status: 'delivered', lines: [{ sku: SKU, quantity: 1, status: 'shipped' }] });
		expect(api.requests).toHaveLength(5);
		expect(api.requests[4].idempotencyKey).toBe(`${SHOP}:E2E-API-2:${SKU}`);
		const [mail] = await waitForMail(smtpBuyer, (m) => m.to.includes(o.buyer.email));
		expect(codesOf('E2E-API-2')).toHaveLength(1);
		expect(mail.text).toContain(codesOf('E2E-API-2')[0]);
		await withStore(async (s) => {
			expect(await s.listWaiting({ orderId: 'E2E-API-2', shop: SHOP })).toEqual([]);
			expect(await s.listWaiting({ orderId: 'E2E-API-2', shop: SHOP, status: 'delivered' })).toHaveLength(1);
		});
	});

	it('a refund revokes the content and calls the revoke endpoint with it', async () => {
		const before = api.requests.length;
		const res = await shopPost(n8n.webhookUrl(REFUND_PATH), { event: 'order.refunded', orderId: 'E2E-API-1', shop: SHOP, items: [] }, { secret: SIGNING_SECRET });
		answers.push(res);
		expect(res.status).toBe(200);
		const revokes = api.requests.slice(before);
		expect(revokes).toHaveLength(1);
		expect(revokes[0]).toMatchObject({ path: '/revoke', idempotencyKey: `${SHOP}:E2E-API-1:${SKU}:revoke`, body: { orderId: 'E2E-API-1', codes: codesOf('E2E-API-1').join('\n') } });
		const ex = await executionOf(WF_IDS.orderRefunded, 1, 'E2E-API-1');
		expect(ex.outputs['Revoke on Refund']?.[0]).toEqual([expect.objectContaining({ sku: SKU, alreadyRevoked: false, revokeCall: expect.objectContaining({ called: true, ok: true, status: 200 }) })]);
		await withStore(async (s) => expect((await s.getDeliveries({ orderId: 'E2E-API-1', shop: SHOP, sku: SKU }))[0].status).toBe('revoked'));
	});

	it('never wrote the content, the API token or the store secret into n8n’s database, its log or an answer', async () => {
		const rows = await n8n.sqlite().executionRows();
		expect(rows.length).toBeGreaterThanOrEqual(5);
		const haystacks = { executionData: rows.map((r) => r.data + r.workflowData).join('\n'), log: n8n.logs(), answers: answers.map((a) => a.text).join('\n') };
		const codes = allCodes();
		expect(codes).toHaveLength(3);
		for (const [where, text] of Object.entries(haystacks)) {
			expect({ where, codes: codes.filter((c) => text.includes(c)) }).toEqual({ where, codes: [] });
			for (const secret of [STORE_SECRET, API_TOKEN, SHOP_TOKEN, SIGNING_SECRET]) {
				if (text.includes(secret)) throw new Error(`a secret appears in ${where}`);
			}
		}
		// the run data was there to scan: the masked content
		expect(haystacks.executionData).toContain(maskKey(codesOf('E2E-API-1')[0]));
	});
});
