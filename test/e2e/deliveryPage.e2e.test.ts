/**
 * The delivery page in a real n8n 2.41.1 and a real browser (Debian's Chromium, headless, driven
 * by playwright-core): the bundled order-paid, order-refunded and delivery-page workflows imported
 * as shipped; the buyer opens the signed link of an order.
 *
 *   - delivered by mail → the page shows the same keys as the mail, each copyable (en and 中文);
 *   - the mail server refusing → the page is the delivery: keys shown, the send recorded (channel
 *     page), and only then the shop is told (Mark Shipped in delivery-page.json);
 *   - out of stock → "being prepared" and a self-refresh; after an import and the shop's retry the
 *     reloaded page shows the keys;
 *   - refunded → "refunded", no key in the DOM;
 *   - a changed order id, expiry or signature → 403, an expired link → 410, more than 30 views a
 *     minute → 429; none of them has a key or the order id in the DOM;
 *   - every view is an audit event with the IP of X-Forwarded-For; answers are no-store, noindex;
 *   - the delivery-page workflow keeps no execution; no key in n8n's execution data or log.
 *
 * Chromium: /usr/bin/chromium (`apt-get install chromium`; AD_CHROMIUM overrides). With
 * AD_E2E_SCREENSHOTS=<dir> the page is saved there as delivery-page.png and delivery-page.zh.png (the
 * README's pictures; Chinese text needs a CJK font, e.g. Debian's fonts-wqy-zenhei).
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { chromium, type Browser, type BrowserContext } from 'playwright-core';

import { KeyStore } from '../../nodes/core/store';
import { startShopServer, type ShopPeer } from '../helpers/shopServer';
import { startSmtpServer, type SmtpPeer } from '../helpers/smtpServer';
import { REPO_ROOT } from './pack';
import { createInstance, packTarball, type N8nInstance, type WorkflowInput } from './n8nInstance';
import { shopPost } from './workflowDriver';

const rand = () => randomBytes(5).toString('hex').toUpperCase();
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CHROMIUM = process.env.AD_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const CRED_IDS = { keyStore: 'adKeyStore0001', shopApi: 'adShopApi00001', smtp: 'adSmtp00000001', sellerSmtp: 'adSellerSmtp01' };
const WF_IDS = { orderPaid: 'adWfOrderPaid001', orderRefunded: 'adWfOrderRefund1', page: 'adWfDeliveryPg01' };
const PAGE_PATH = 'auto-delivery/delivery';
const SHOP = 'page-shop';
const STORE_SECRET = `e2e-page-store-${rand()}${rand()}`;
const SIGNING_SECRET = `e2e-page-signing-${rand()}`;
const SKU = { A: 'PAGE-STEAM', B: 'PAGE-LATE' };
const KEYS_A = Array.from({ length: 10 }, (_, i) => `PAGEKEY-${i}-${rand()}-${rand()}`);
const KEYS_B = Array.from({ length: 2 }, (_, i) => `LATEKEY-${i}-${rand()}-${rand()}`);
const ALL_KEYS = [...KEYS_A, ...KEYS_B];
const keysIn = (text: string) => ALL_KEYS.filter((k) => text.includes(k));

let buyerSeq = 0;
function paidOrder(orderId: string, sku: string, quantity: number) {
	buyerSeq += 1;
	return {
		event: 'order.paid', orderId, shop: SHOP,
		buyer: { id: `pb${buyerSeq}`, name: `买家${buyerSeq}`, email: `page-buyer${buyerSeq}@example.com`, ip: `203.0.113.${buyerSeq}` },
		items: [{ sku, name: sku, quantity, price: 10 }], amount: 10 * quantity, currency: 'CNY', paidAt: new Date().toISOString(),
	};
}

describe('e2e: the delivery page in a real n8n and a real browser', () => {
	let n8n: N8nInstance;
	let smtp: SmtpPeer;
	let sellerSmtp: SmtpPeer;
	let shop: ShopPeer;
	let browser: Browser;
	let storeFile: string;
	let links: { baseUrl: string; ttlDays: number };
	const domSeen: string[] = []; // every DOM the browser showed for a page that must hold no key

	/** The store as the tests read it (n8n has its own connection to the same SQLite file). */
	const withStore = async <T>(fn: (s: KeyStore) => Promise<T>): Promise<T> => {
		const s = await KeyStore.open({ database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET });
		try {
			return await fn(s);
		} finally {
			await s.close();
		}
	};
	const linkOf = (orderId: string, now?: number) => withStore(async (s) => s.deliveryLink(links, { shop: SHOP, orderId }, now));
	const paid = (o: ReturnType<typeof paidOrder>) => shopPost(n8n.webhookUrl('auto-delivery/order-paid'), o, { secret: SIGNING_SECRET });
	const newContext = (locale: string): Promise<BrowserContext> => browser.newContext({ locale, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });

	beforeAll(async () => {
		[smtp, sellerSmtp, shop] = await Promise.all([startSmtpServer(), startSmtpServer(), startShopServer()]);
		n8n = await createInstance({ log });
		await n8n.installPackage(await packTarball({ log }));
		storeFile = path.join(n8n.n8nFolder, 'auto-delivery-page.sqlite');
		links = { baseUrl: n8n.webhookUrl(PAGE_PATH), ttlDays: 7 };
		await withStore(async (s) => {
			await s.upsertProduct({ sku: SKU.A, name: 'Steam Wallet 50', settings: { usageGuide: 'Steam → Games → Activate a Product on Steam…\n激活方法：Steam → 游戏 → 在 Steam 上激活产品', afterSaleNote: 'Key not working? Reply in the shop chat within 7 days.' } });
			expect((await s.importKeys({ sku: SKU.A, keys: KEYS_A })).imported).toBe(10);
			await s.upsertProduct({ sku: SKU.B, name: 'Late item', settings: { expectedWithin: '24 hours' } });
		});
		await n8n.importCredentials([
			{ id: CRED_IDS.keyStore, name: 'Auto Delivery Key Store', type: 'autoDeliveryKeyStore', data: { database: 'sqlite', sqlitePath: storeFile, encryptionSecret: STORE_SECRET, tablePrefix: 'ad_', deliveryPageUrl: links.baseUrl, deliveryLinkTtlDays: 7 } },
			{ id: CRED_IDS.shopApi, name: 'Auto Delivery Shop API', type: 'autoDeliveryShopApi', data: { baseUrl: shop.url, authType: 'bearer', token: 'page-token', signingSecret: SIGNING_SECRET, ignoreSslIssues: false } },
			{ id: CRED_IDS.smtp, name: 'Auto Delivery SMTP', type: 'autoDeliverySmtp', data: { host: '127.0.0.1', port: smtp.port, security: 'none', user: '', password: '', from: 'Page Shop <shop@example.com>', ignoreSslIssues: false } },
			{ id: CRED_IDS.sellerSmtp, name: 'Seller SMTP', type: 'smtp', data: { host: '127.0.0.1', port: sellerSmtp.port, secure: false, disableStartTls: true, user: '', password: '', hostName: '' } },
		]);
		const shipped = ['order-paid.json', 'order-refunded.json', 'delivery-page.json'].map((f) => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'workflows', f), 'utf8')) as WorkflowInput);
		await n8n.importWorkflow(shipped);
		for (const id of Object.values(WF_IDS)) await n8n.publish(id);
		await n8n.start();
		browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
	});

	afterAll(async () => {
		await browser?.close();
		await n8n?.dispose();
		await Promise.all([smtp?.close(), sellerSmtp?.close(), shop?.close()]);
	});

	it('shows the keys of a delivered order, the same as the mail, each copyable — in English and 中文', async () => {
		const o = paidOrder('PAGE-1', SKU.A, 2);
		const answer = await paid(o);
		expect(answer.status).toBe(200);
		const mail = smtp.messages.find((m) => m.to.includes(o.buyer.email));
		const mailed = keysIn(mail?.text ?? '');
		expect(mailed).toHaveLength(2);
		// the shop's answer carries the order's link (to send the buyer there right after payment)
		const link = String(answer.json.deliveryLink);
		expect(link.startsWith(`${links.baseUrl}?o=PAGE-1&s=${SHOP}&e=`)).toBe(true);
		expect(await withStore(async (s) => s.checkDeliveryLink(Object.fromEntries(new URL(link).searchParams.entries())))).toMatchObject({ ok: true, orderId: 'PAGE-1', shop: SHOP });
		expect(keysIn(link)).toEqual([]);
		expect(keysIn(answer.text)).toEqual([]);

		const ctx = await newContext('en-US');
		try {
			const page = await ctx.newPage();
			const res = await page.goto(link);
			expect(res?.status()).toBe(200);
			const headers = res?.headers() ?? {};
			expect(headers['cache-control']).toBe('no-store');
			expect(headers['x-robots-tag']).toBe('noindex, nofollow');
			expect(headers['referrer-policy']).toBe('no-referrer');
			expect(headers['x-frame-options']).toBe('DENY');
			expect(headers['content-type']).toMatch(/^text\/html/);
			expect(headers['content-security-policy']).toMatch(/^sandbox /); // n8n's own, for every HTML webhook answer
			expect(await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')).toMatch(/^default-src 'none'; script-src 'nonce-/);
			expect(await page.locator('h1').textContent()).toBe('Your order');
			expect(await page.locator('#order-id').textContent()).toBe('PAGE-1');
			expect(await page.locator('code').allTextContents()).toEqual(mailed);
			for (const code of await page.locator('code').all()) expect(await code.isVisible()).toBe(true);
			expect(await page.locator('.note').first().textContent()).toContain('Activate a Product on Steam');
			expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);
			// copy: the button copies its key (the script runs under the CSP: it carries the page's nonce)
			const copy = page.locator('button[data-copy="k1"]');
			expect(await copy.textContent()).toBe('Copy');
			await copy.click();
			await page.waitForFunction(`document.querySelector('button[data-copy="k1"]').textContent === 'Copied'`, undefined, { timeout: 5000 });
			await page.locator('button.all').click();
			await page.waitForFunction(`document.querySelector('button.all').textContent === 'Copied'`, undefined, { timeout: 5000 });
			const shots = process.env.AD_E2E_SCREENSHOTS;
			const file = path.join(shots || fs.mkdtempSync(path.join(os.tmpdir(), 'ad-page-')), 'delivery-page.png');
			await page.screenshot({ path: file, fullPage: true });
			expect(fs.statSync(file).size).toBeGreaterThan(10_000);
		} finally {
			await ctx.close();
		}

		const zh = await newContext('zh-CN');
		try {
			const page = await zh.newPage();
			await page.goto(link);
			expect(await page.locator('h1').textContent()).toBe('订单提货');
			expect(await page.locator('button[data-copy="k1"]').textContent()).toBe('复制');
			expect(await page.locator('code').allTextContents()).toEqual(mailed);
			expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
			if (process.env.AD_E2E_SCREENSHOTS) await page.screenshot({ path: path.join(process.env.AD_E2E_SCREENSHOTS, 'delivery-page.zh.png'), fullPage: true });
		} finally {
			await zh.close();
		}
		// two views, recorded; the shop was told once (by order-paid, after the mail) — a view of a
		// mailed order ships nothing more
		expect((await withStore((s) => s.listEvents({ orderId: 'PAGE-1', shop: SHOP, type: 'viewed' })))).toHaveLength(2);
		await sleep(1000);
		expect(shop.requests.filter((r) => r.path === '/orders/PAGE-1/ship')).toHaveLength(1);
	});

	it('is the delivery when the mail server refuses: keys shown, send recorded as "page", then the shop is told', async () => {
		smtp.setFault('reject');
		const o = paidOrder('PAGE-2', SKU.A, 1);
		const answer = await paid(o);
		smtp.setFault('none');
		expect(answer.status).toBe(503);
		expect((answer.json.lines as Array<{ status: string }>)[0].status).toBe('send_failed');
		expect(shop.requests.filter((r) => r.path === '/orders/PAGE-2/ship')).toHaveLength(0);
		const [before] = await withStore((s) => s.getDeliveries({ orderId: 'PAGE-2', shop: SHOP, reveal: true }));
		expect(before.status).toBe('claimed');

		const ctx = await newContext('en-US');
		try {
			const page = await ctx.newPage();
			await page.goto(await linkOf('PAGE-2'));
			expect(await page.locator('code').allTextContents()).toEqual([before.keys[0].key]);
		} finally {
			await ctx.close();
		}
		for (let i = 0; i < 50 && shop.requests.filter((r) => r.path === '/orders/PAGE-2/ship').length === 0; i++) await sleep(200);
		expect(shop.requests.filter((r) => r.path === '/orders/PAGE-2/ship')).toHaveLength(1);
		const [after] = await withStore((s) => s.getDeliveries({ orderId: 'PAGE-2', shop: SHOP }));
		expect(after).toMatchObject({ status: 'shipped', sentChannel: 'page', sendCount: 1 });
		// the shop's retry changes nothing: no mail, no second ship call
		expect((await paid(o)).status).toBe(200);
		expect(smtp.messages.filter((m) => m.to.includes(o.buyer.email))).toHaveLength(0);
		expect(shop.requests.filter((r) => r.path === '/orders/PAGE-2/ship')).toHaveLength(1);
	});

	it('says "being prepared" and refreshes while out of stock; after an import and the shop\'s retry the reload shows the keys', async () => {
		const o = paidOrder('PAGE-3', SKU.B, 2);
		expect((await paid(o)).status).toBe(503); // out of stock: the shop retries later
		const link = await linkOf('PAGE-3');
		const ctx = await newContext('en-US');
		try {
			const page = await ctx.newPage();
			expect((await page.goto(link))?.status()).toBe(200);
			expect(await page.locator('meta[http-equiv="refresh"]').getAttribute('content')).toBe('30');
			expect(await page.locator('body').textContent()).toMatch(/processing your order|preparing your order/);
			expect(await page.locator('code').count()).toBe(0);
			domSeen.push(await page.content());
			await withStore(async (s) => expect((await s.importKeys({ sku: SKU.B, keys: KEYS_B })).imported).toBe(2));
			expect((await paid(o)).status).toBe(200);
			await page.reload();
			expect((await page.locator('code').allTextContents()).sort()).toEqual([...KEYS_B].sort());
			expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);
		} finally {
			await ctx.close();
		}
	});

	it('never shows a refunded order\'s keys', async () => {
		const r = await shopPost(n8n.webhookUrl('auto-delivery/order-refunded'), { event: 'order.refunded', orderId: 'PAGE-1', shop: SHOP, items: [] }, { secret: SIGNING_SECRET });
		expect(r.status).toBe(200);
		const ctx = await newContext('en-US');
		try {
			const page = await ctx.newPage();
			expect((await page.goto(await linkOf('PAGE-1')))?.status()).toBe(200);
			expect(await page.locator('[data-line="refunded"]').count()).toBe(1);
			expect(await page.locator('body').textContent()).toContain('This item was refunded');
			expect(await page.locator('code').count()).toBe(0);
			domSeen.push(await page.content());
		} finally {
			await ctx.close();
		}
	});

	it('answers a changed, forged or expired link with a 4xx page naming nothing', async () => {
		const link = new URL(await linkOf('PAGE-3'));
		const variants: Array<[string, (u: URL) => void, number]> = [
			['another order', (u) => u.searchParams.set('o', 'PAGE-2'), 403],
			['a longer expiry', (u) => u.searchParams.set('e', String(Number(u.searchParams.get('e')) + 86400)), 403],
			['another signature', (u) => u.searchParams.set('t', 'A'.repeat(22)), 403],
			['no signature', (u) => u.searchParams.delete('t'), 403],
			['another shop', (u) => u.searchParams.set('s', 'other-shop'), 403],
		];
		const ctx = await newContext('en-US');
		try {
			const page = await ctx.newPage();
			for (const [, change, status] of variants) {
				const u = new URL(link);
				change(u);
				expect((await page.goto(u.toString()))?.status()).toBe(status);
				expect(await page.locator('h1').textContent()).toBe('Invalid link');
				const html = await page.content();
				expect(html).not.toContain('PAGE-3');
				domSeen.push(html);
			}
			const expired = await linkOf('PAGE-3', Date.now() - 8 * 86400_000);
			expect((await page.goto(expired))?.status()).toBe(410);
			expect(await page.locator('h1').textContent()).toBe('Link expired');
			domSeen.push(await page.content());
		} finally {
			await ctx.close();
		}
		for (const html of domSeen) expect(keysIn(html)).toEqual([]);
	});

	it('records each view with the IP from X-Forwarded-For and limits a link to 30 views a minute', async () => {
		const o = paidOrder('PAGE-4', SKU.A, 1);
		expect((await paid(o)).status).toBe(200);
		const link = await linkOf('PAGE-4');
		const statuses: number[] = [];
		for (let i = 0; i < 31; i++) {
			const res = await fetch(link, { headers: { 'x-forwarded-for': `198.51.100.${i}, 10.0.0.1`, 'accept-language': 'en' } });
			statuses.push(res.status);
			const text = await res.text();
			if (res.status === 429) {
				expect(res.headers.get('retry-after')).toMatch(/^[0-9]+$/);
				expect(keysIn(text)).toEqual([]);
				expect(text).not.toContain('PAGE-4');
			}
		}
		expect(statuses.slice(0, 30).every((s) => s === 200)).toBe(true);
		expect(statuses[30]).toBe(429);
		const viewed = await withStore((s) => s.listEvents({ orderId: 'PAGE-4', shop: SHOP, type: 'viewed', limit: 100 }));
		expect(viewed).toHaveLength(30);
		expect(viewed.map((e) => (e.details as { ip: string }).ip).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `198.51.100.${i}`).sort());
	});

	it('keeps no execution of the delivery page and no key in n8n\'s execution data or log', async () => {
		await sleep(1000);
		expect(await n8n.sqlite().executions({ workflowId: WF_IDS.page })).toEqual([]);
		const rows = await n8n.sqlite().executionRows();
		for (const r of rows) expect(keysIn(`${r.data}\n${r.workflowData}`)).toEqual([]);
		expect(keysIn(n8n.logs())).toEqual([]);
	});
});
