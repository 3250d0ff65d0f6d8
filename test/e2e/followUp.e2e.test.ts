/**
 * The follow-up in a real n8n 2.41.1: workflows/order-paid.json, order-refunded.json and
 * follow-up.json imported AS SHIPPED. A product with a tiny Follow-Up After (0.0005 h = 1.8 s);
 * two signed paid orders delivered through order-paid (the buyer mails arrive), one of them refunded
 * through order-refunded; n8n stopped; follow-up.json run with `n8n execute` (its Run Now manual
 * trigger — the hourly schedule is the same path) → exactly one follow-up mail, to the buyer who was
 * not refunded, with the review link and the usage guide, without the key; run again → none.
 * Nothing of a key in the follow-up, the CLI output, n8n's execution data or log.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { KeyStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { startShopServer, type ShopPeer } from '../helpers/shopServer';
import { startSmtpServer, type SmtpPeer } from '../helpers/smtpServer';
import { REPO_ROOT } from './pack';
import { createInstance, packTarball, type N8nInstance, type WorkflowInput } from './n8nInstance';
import { shopPost, waitForMail } from './workflowDriver';

const rand = () => randomBytes(5).toString('hex').toUpperCase();
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const STORE_SECRET = `e2e-store-${rand()}${rand()}`;
const SIGNING_SECRET = `e2e-signing-${rand()}${rand()}`;
const SHOP = 'e2e-follow-up';
const SKU = 'E2E-FOLLOW-UP';
const REVIEW = 'https://shop.example.com/review/e2e-follow-up';
const GUIDE = 'Redeem it in the app: Settings → Redeem code.';
const KEYS = Array.from({ length: 4 }, (_, i) => `FUP-${i}-${rand()}-${rand()}`);
const FOLLOW_UP_WF = 'adWfFollowUp0001';
const keysIn = (text: string) => KEYS.filter((k) => text.includes(k));

function paidOrder(orderId: string, email: string) {
	return {
		event: 'order.paid',
		orderId,
		shop: SHOP,
		buyer: { id: `u-${orderId}`, name: `买家 ${orderId}`, email, ip: '203.0.113.9' },
		items: [{ sku: SKU, name: 'Follow-up product', quantity: 1, price: 10 }],
		amount: 10,
		currency: 'CNY',
		paidAt: new Date().toISOString(),
	};
}

describe('e2e: follow-up.json in a real n8n 2.41.1', () => {
	let n8n: N8nInstance;
	let smtpBuyer: SmtpPeer;
	let smtpSeller: SmtpPeer;
	let shop: ShopPeer;
	let storeFile: string;

	beforeAll(async () => {
		[smtpBuyer, smtpSeller, shop] = await Promise.all([startSmtpServer(), startSmtpServer(), startShopServer()]);
		n8n = await createInstance({ log });
		await n8n.installPackage(await packTarball({ log }));
		storeFile = path.join(n8n.n8nFolder, 'auto-delivery-e2e.sqlite');
		const store = await KeyStore.open({ database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET });
		try {
			expect((await store.importKeys({ sku: SKU, keys: KEYS, productName: 'Follow-up product' })).imported).toBe(KEYS.length);
			await store.upsertProduct({ sku: SKU, settings: { followUpAfterHours: 0.0005, reviewUrl: REVIEW, usageGuide: GUIDE, afterSaleNote: '7 天内可申请售后', recommended: ['Steam 100'] } });
		} finally {
			await store.close();
		}
		await n8n.importCredentials([
			{ id: 'adKeyStore0001', name: 'Auto Delivery Key Store', type: 'autoDeliveryKeyStore', data: { database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET, tablePrefix: 'ad_' } },
			{ id: 'adShopApi00001', name: 'Auto Delivery Shop API', type: 'autoDeliveryShopApi', data: { baseUrl: shop.url, authType: 'bearer', token: `tok-${rand()}`, signingSecret: SIGNING_SECRET, ignoreSslIssues: false } },
			{ id: 'adSmtp00000001', name: 'Auto Delivery SMTP', type: 'autoDeliverySmtp', data: { host: '127.0.0.1', port: smtpBuyer.port, security: 'none', user: '', password: '', from: 'E2E Shop <shop@example.com>', ignoreSslIssues: false } },
			{ id: 'adSellerSmtp01', name: 'Seller SMTP', type: 'smtp', data: { host: '127.0.0.1', port: smtpSeller.port, secure: false, disableStartTls: true, user: '', password: '', hostName: '' } },
		]);
		const shipped = ['order-paid.json', 'order-refunded.json', 'follow-up.json'].map((f) => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'workflows', f), 'utf8')) as WorkflowInput);
		const ids = await n8n.importWorkflow(shipped);
		expect(ids).toContain(FOLLOW_UP_WF);
		for (const id of ['adWfOrderPaid001', 'adWfOrderRefund1']) await n8n.publish(id);
		await n8n.start();
	});

	afterAll(async () => {
		await n8n?.dispose();
		await Promise.all([smtpBuyer?.close(), smtpSeller?.close(), shop?.close()]);
	});

	const followUps = () => smtpBuyer.messages.filter((m) => m.subject.includes('使用情况回访'));

	it('two orders delivered, one refunded; follow-up.json sends exactly one follow-up, to the other buyer; again → none', async () => {
		const kept = paidOrder(`FU-KEPT-${rand()}`, 'kept@example.com');
		const refunded = paidOrder(`FU-REFUND-${rand()}`, 'refunded@example.com');
		for (const o of [kept, refunded]) {
			const a = await shopPost(n8n.webhookUrl('auto-delivery/order-paid'), o, { secret: SIGNING_SECRET });
			expect(a.status).toBe(200);
			expect(a.json).toMatchObject({ orderId: o.orderId, status: 'delivered' });
			await waitForMail(smtpBuyer, (m) => m.to.includes(o.buyer.email) && m.subject.includes(o.orderId));
		}
		const r = await shopPost(n8n.webhookUrl('auto-delivery/order-refunded'), { event: 'order.refunded', orderId: refunded.orderId, shop: SHOP }, { secret: SIGNING_SECRET });
		expect(r.status).toBe(200);
		expect(r.json).toMatchObject({ orderId: refunded.orderId, status: 'revoked' });
		await n8n.stop();

		// Both sends are older than 1.8 s by now; wait for it if the machine was fast.
		const store = await KeyStore.open({ database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET });
		try {
			const [k] = await store.getDeliveries({ orderId: kept.orderId, shop: SHOP });
			const [x] = await store.getDeliveries({ orderId: refunded.orderId, shop: SHOP });
			expect([k.status, x.status]).toEqual(['shipped', 'revoked']);
			const wait = Date.parse(k.sentAt as string) + 1800 + 500 - Date.now();
			if (wait > 0) await sleep(wait);
		} finally {
			await store.close();
		}

		const before = smtpBuyer.messages.length;
		const first = await n8n.cli(['execute', `--id=${FOLLOW_UP_WF}`], { timeoutMs: 180_000 });
		expect(first.code).toBe(0);
		const mails = followUps();
		expect(mails).toHaveLength(1);
		expect(smtpBuyer.messages.length - before).toBe(1);
		const [m] = mails;
		expect(m.to).toEqual(['kept@example.com']);
		expect(m.subject).toBe(`【Follow-up product】使用情况回访 / How is your Follow-up product? (order ${kept.orderId})`);
		expect(m.text).toContain('Did your key work?');
		expect(m.text).toContain(REVIEW);
		expect(m.text).toContain(GUIDE);
		expect(m.text).toContain('7 天内可申请售后');
		expect(m.html).toContain(`href="${REVIEW}"`);
		expect(keysIn(m.raw)).toEqual([]);

		const second = await n8n.cli(['execute', `--id=${FOLLOW_UP_WF}`], { timeoutMs: 180_000 });
		expect(second.code).toBe(0);
		expect(followUps()).toHaveLength(1);
		expect(smtpBuyer.messages.length - before).toBe(1);
		expect(smtpSeller.messages.filter((s) => s.subject.includes('Follow-up not sent'))).toEqual([]);

		const check = await KeyStore.open({ database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET });
		try {
			const sent = await check.listEvents({ sku: SKU, type: 'follow_up_sent' });
			expect(sent.map((e) => e.orderId)).toEqual([kept.orderId]);
			const ctx = internals(check);
			const rows = (await ctx.db(ctx.t.deliveries).where({ sku: SKU }).select('order_id', 'follow_up_at')) as Array<{ order_id: string; follow_up_at: number | null }>;
			expect(rows.find((x) => x.order_id === refunded.orderId)?.follow_up_at).toBeNull();
			expect(rows.find((x) => x.order_id === kept.orderId)?.follow_up_at).not.toBeNull();
		} finally {
			await check.close();
		}

		// No key in what the CLI printed, n8n's execution data or its log.
		const data = (await n8n.sqlite().executionRows()).map((x) => x.data + x.workflowData).join('\n');
		for (const [where, text] of Object.entries({ cli: first.output + second.output, executionData: data, log: n8n.logs() })) {
			expect({ where, keys: keysIn(text) }).toEqual({ where, keys: [] });
		}
		expect(first.output).toContain('kept@example.com');
	});
});
