/** Delivery-page links (nodes/core/delivery/link.ts) and the page itself (page.ts): signing, checking, language, rendering. */
import { randomBytes } from 'node:crypto';

import { checkDeliveryLink, checkLinkSettings, deliveryPage, errorPage, linkSignature, makeDeliveryLink, pickLanguage } from '../../nodes/core/delivery';
import type { PageView } from '../../nodes/core/store';
import { DEFAULT_PRODUCT_SETTINGS } from '../../nodes/core/store';

const key = randomBytes(32);
const settings = { baseUrl: 'https://n8n.example.com/webhook/auto-delivery/delivery', ttlDays: 7 };
const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);
const queryOf = (url: string) => Object.fromEntries(new URL(url).searchParams.entries()) as Record<string, unknown>;

describe('delivery links', () => {
	it('names the order and an expiry, is signed, and checks back to the same order', () => {
		const url = makeDeliveryLink(key, settings, { shop: 'tmall:main', orderId: '4012345678901234567' }, NOW);
		expect(url.startsWith('https://n8n.example.com/webhook/auto-delivery/delivery?')).toBe(true);
		const q = queryOf(url);
		expect(q).toEqual({ o: '4012345678901234567', s: 'tmall:main', e: String(NOW / 1000 + 7 * 86400), t: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) });
		expect(checkDeliveryLink(key, q, NOW)).toEqual({ ok: true, shop: 'tmall:main', orderId: '4012345678901234567', expiresAt: NOW / 1000 + 7 * 86400 });
	});

	it('leaves the shop out for the default shop, and keeps ids with any characters exact', () => {
		const url = makeDeliveryLink(key, settings, { shop: null, orderId: 'A&B=C #1/é' }, NOW);
		const q = queryOf(url);
		expect(q.s).toBeUndefined();
		expect(checkDeliveryLink(key, q, NOW)).toMatchObject({ ok: true, shop: '', orderId: 'A&B=C #1/é' });
	});

	it('refuses every change: another order, another shop, a longer expiry, another signature, another key', () => {
		const q = queryOf(makeDeliveryLink(key, settings, { shop: 's1', orderId: '1001' }, NOW));
		const forged = (change: Record<string, unknown>, k = key) => checkDeliveryLink(k, { ...q, ...change }, NOW);
		expect(forged({ o: '1002' })).toEqual({ ok: false, reason: 'forged' });
		expect(forged({ o: '1001 ' })).toEqual({ ok: false, reason: 'forged' });
		expect(forged({ s: 's2' })).toEqual({ ok: false, reason: 'forged' });
		expect(forged({ s: undefined })).toEqual({ ok: false, reason: 'forged' });
		expect(forged({ e: String(Number(q.e) + 86400) })).toEqual({ ok: false, reason: 'forged' });
		const t = String(q.t);
		expect(forged({ t: (t[0] === 'A' ? 'B' : 'A') + t.slice(1) })).toEqual({ ok: false, reason: 'forged' });
		expect(forged({}, randomBytes(32))).toEqual({ ok: false, reason: 'forged' });
		// the "|"-joined text of a naive scheme would make these two the same
		const a = linkSignature(key, 'x|1', '2', 3);
		const b = linkSignature(key, 'x', '1|2', 3);
		expect(a).not.toBe(b);
	});

	it('tells expired apart only for genuine links', () => {
		const q = queryOf(makeDeliveryLink(key, settings, { shop: '', orderId: '1001' }, NOW - 8 * 86400_000));
		expect(checkDeliveryLink(key, q, NOW)).toEqual({ ok: false, reason: 'expired' });
		expect(checkDeliveryLink(key, { ...q, o: '1002' }, NOW)).toEqual({ ok: false, reason: 'forged' });
		const short = makeDeliveryLink(key, { ...settings, ttlDays: 0.5 }, { shop: '', orderId: '1001' }, NOW);
		expect(checkDeliveryLink(key, queryOf(short), NOW + 11 * 3600_000)).toMatchObject({ ok: true });
		expect(checkDeliveryLink(key, queryOf(short), NOW + 13 * 3600_000)).toEqual({ ok: false, reason: 'expired' });
	});

	it('answers malformed for missing, repeated or odd parameters', () => {
		const q = queryOf(makeDeliveryLink(key, settings, { shop: '', orderId: '1001' }, NOW));
		for (const bad of [{}, null, undefined, { ...q, o: undefined }, { ...q, t: undefined }, { ...q, e: undefined }, { ...q, o: ['1001', '1002'] }, { ...q, e: '1e9' }, { ...q, e: '-5' }, { ...q, t: 'short' }, { ...q, o: '' }, { ...q, o: 'x'.repeat(192) }, { ...q, s: { a: 1 } }]) {
			expect(checkDeliveryLink(key, bad as Record<string, unknown>, NOW)).toEqual({ ok: false, reason: 'malformed' });
		}
	});

	it('checks the settings a seller types', () => {
		expect(checkLinkSettings({ baseUrl: 'https://x.example/webhook/d' })).toEqual({ baseUrl: 'https://x.example/webhook/d', ttlDays: 7 });
		expect(() => checkLinkSettings({ baseUrl: 'x.example/webhook' })).toThrow(/not a URL/);
		expect(() => checkLinkSettings({ baseUrl: 'ftp://x.example/' })).toThrow(/https/);
		expect(() => checkLinkSettings({ baseUrl: 'https://x.example/#a' })).toThrow(/fragment/);
		expect(() => checkLinkSettings({ baseUrl: 'https://x.example/', ttlDays: 0 })).toThrow(/above 0/);
		// a base URL with its own query keeps it
		const url = makeDeliveryLink(key, { baseUrl: 'https://x.example/d?lang=zh' }, { shop: '', orderId: '9' }, NOW);
		expect(new URL(url).searchParams.get('lang')).toBe('zh');
		expect(checkDeliveryLink(key, queryOf(url), NOW)).toMatchObject({ ok: true, orderId: '9' });
	});
});

describe('the buyer\'s language', () => {
	it.each([
		['zh-CN,zh;q=0.9,en;q=0.8', 'zh'],
		['en-US,en;q=0.9', 'en'],
		['en;q=0.5, zh-TW;q=0.8', 'zh'],
		['fr-FR, en;q=0.3', 'en'],
		['fr-FR', 'zh'],
		['', 'zh'],
		[undefined, 'zh'],
		['zh;q=0, en', 'en'],
	])('%s → %s', (header, lang) => {
		expect(pickLanguage(header, 'zh')).toBe(lang);
	});
	it('falls back to the seller\'s default', () => {
		expect(pickLanguage('de', 'en')).toBe('en');
	});
});

const product = (over: Partial<typeof DEFAULT_PRODUCT_SETTINGS> = {}) => ({ ...DEFAULT_PRODUCT_SETTINGS, recommended: [], ...over });
function delivered(id: number, sku: string, keys: string[], status: 'claimed' | 'sent' | 'shipped' | 'revoked' = 'sent') {
	return {
		id, orderId: 'O-1', sku, quantity: keys.length || 1, status, strategy: null, fixedContent: false, externalApi: false,
		buyer: { id: null, name: null, email: null, ip: null }, amount: null, shop: null,
		createdAt: '', updatedAt: '', sentAt: null, sentChannel: null, sentMessageId: null, shippedAt: null, shopReference: null,
		revokedAt: null, revokeReason: null, lastError: null, sendCount: 0, shipAttempts: 0,
		keys: keys.map((k, i) => ({ id: i + 1, status: 'assigned' as const, masked: 'x', key: k })),
	};
}
const view = (over: Partial<PageView>): PageView => ({ limited: false, retryAfterSeconds: 0, lines: [], waiting: [], held: [], refundedOrder: false, recordedSend: [], firstView: true, shipNow: [], ...over });

describe('the delivery page', () => {
	it('shows delivered keys with copy buttons, the usage guide and after-sale note, escaped, in the buyer\'s language', () => {
		const v = view({ lines: [{ delivery: delivered(1, 'P', ['KEY-<b>1</b>', 'KEY-2']), productName: 'Steam <50>', settings: product({ usageGuide: 'Redeem at\nstore.example', afterSaleNote: 'Reply within 7 days' }) }] });
		const zh = deliveryPage('O-<1>', v, { language: 'zh' });
		expect(zh.statusCode).toBe(200);
		expect(zh.state).toBe('delivered');
		expect(zh.html).toContain('<html lang="zh-CN">');
		expect(zh.html).toContain('订单提货');
		expect(zh.html).toContain('KEY-&lt;b&gt;1&lt;/b&gt;');
		expect(zh.html).not.toContain('KEY-<b>');
		expect(zh.html).toContain('Steam &lt;50&gt;');
		expect(zh.html).toContain('O-&lt;1&gt;');
		expect(zh.html).toContain('Redeem at<br>store.example');
		expect(zh.html).toContain('Reply within 7 days');
		expect(zh.html).toContain('data-copy="k1 k2"'); // copy all
		expect(zh.html).not.toContain('http-equiv="refresh"');
		const en = deliveryPage('O-1', v, { language: 'en', shopName: 'My shop' });
		expect(en.html).toContain('Your order');
		expect(en.html).toContain('My shop');
	});

	it('is served no-store, noindex, without referrer, with a CSP allowing only its own nonce', () => {
		const a = deliveryPage('O-1', view({}), { language: 'en' });
		expect(a.headers).toMatchObject({ 'cache-control': 'no-store', 'x-robots-tag': 'noindex, nofollow', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY', 'x-content-type-options': 'nosniff' });
		const nonce = /<style nonce="([^"]+)">/.exec(a.html)?.[1];
		expect(nonce).toBeTruthy();
		expect(a.html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'`);
		expect(a.html).toContain(`<script nonce="${nonce}">`);
		expect(a.html).toContain('<meta name="robots" content="noindex, nofollow">');
		// a fresh nonce each time
		expect(deliveryPage('O-1', view({}), { language: 'en' }).html).not.toContain(nonce as string);
	});

	it('never shows a refunded line\'s keys; says refunded', () => {
		const line = delivered(1, 'P', [], 'revoked');
		const a = deliveryPage('O-1', view({ lines: [{ delivery: line, productName: 'P', settings: product() }] }), { language: 'en' });
		expect(a.state).toBe('refunded');
		expect(a.html).toContain('This item was refunded');
		expect(a.html).not.toContain('<code');
		const whole = deliveryPage('O-1', view({ refundedOrder: true }), { language: 'zh' });
		expect(whole.state).toBe('refunded');
		expect(whole.html).toContain('此订单已退款');
	});

	it('says what is still pending and refreshes itself while anything is', () => {
		const waiting = { id: 1, orderId: 'O-1', shop: null, sku: 'Q', quantity: 2, reason: 'out_of_stock' as const, status: 'waiting' as const, buyer: { id: null, name: null, email: null, ip: null }, amount: null, paidAt: '', deliveryId: null, createdAt: '', updatedAt: '', productName: 'Q item', settings: product({ expectedWithin: '24 小时' }) };
		const a = deliveryPage('O-1', view({ lines: [{ delivery: delivered(1, 'P', ['K1']), productName: 'P', settings: product() }], waiting: [waiting] }), { language: 'zh', refreshSeconds: 20 });
		expect(a.state).toBe('partial');
		expect(a.html).toContain('预计 24 小时 内发货');
		expect(a.html).toContain('<meta http-equiv="refresh" content="20">');
		const review = deliveryPage('O-1', view({ held: [{ sku: '', decision: 'review' }] }), { language: 'en' });
		expect(review.state).toBe('pending');
		expect(review.html).toContain('being reviewed');
		const nothing = deliveryPage('O-1', view({}), { language: 'en' });
		expect(nothing.state).toBe('pending');
		expect(nothing.html).toContain('processing your order');
		const rejected = deliveryPage('O-1', view({ held: [{ sku: '', decision: 'reject' }] }), { language: 'en' });
		expect(rejected.state).toBe('rejected');
		expect(rejected.html).not.toContain('http-equiv="refresh"');
	});

	it('error pages name nothing', () => {
		expect(errorPage('forged', 'en')).toMatchObject({ statusCode: 403, state: 'invalid' });
		expect(errorPage('malformed', 'zh')).toMatchObject({ statusCode: 403, state: 'invalid' });
		expect(errorPage('expired', 'en')).toMatchObject({ statusCode: 410, state: 'expired' });
		const limited = errorPage('rate_limited', 'en', 17);
		expect(limited).toMatchObject({ statusCode: 429, state: 'rate_limited' });
		expect(limited.headers['retry-after']).toBe('17');
		expect(deliveryPage('O-9', view({ limited: true, retryAfterSeconds: 5 }), { language: 'en' })).toMatchObject({ statusCode: 429 });
		expect(deliveryPage('O-9', view({ limited: true, retryAfterSeconds: 5 }), { language: 'en' }).html).not.toContain('O-9');
	});
});
