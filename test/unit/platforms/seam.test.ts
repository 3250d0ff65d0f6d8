/**
 * The platform seam: the registry (platforms/index.ts), the canonical platform, the HMAC helpers
 * (platforms/hmac.ts) and the preset decision with its `complete` step (platformWebhook.ts).
 */
import { ValidationError } from '../../../nodes/core/errors';
import {
	PLATFORMS,
	WebhookConfigError,
	canonical,
	completeWebhook,
	decideWebhook,
	finishWebhook,
	isPreset,
	platformFor,
	resolveWebhookSettings,
	shopFor,
	signPayload,
	verifySignature,
	type CompleteDecision,
	type FetchJson,
	type Platform,
	type WebhookSettings,
} from '../../../nodes/core/intake';
import { decidePreset } from '../../../nodes/core/intake/platformWebhook';
import { decodeDigest, sameBytes, timestampProblem } from '../../../nodes/core/intake/platforms/hmac';
import { decide, expectAction, fixtureBytes, hmacOf, post } from '../../helpers/platformRequests';

const SECRET = 'seam-test-secret-0only0not0real';
const NOW_S = 1_800_000_000;

describe('registry', () => {
	it('lists every platform once, the default first, each with its sources', () => {
		expect(PLATFORMS.map((p) => p.id)).toEqual(['canonical', 'woocommerce', 'shopify', 'stripe', 'lemonsqueezy', 'paddle', 'goofish', 'youzan', 'generic']);
		expect(new Set(PLATFORMS.map((p) => p.label)).size).toBe(PLATFORMS.length);
		for (const p of PLATFORMS) expect(p.sources.length).toBeGreaterThan(0);
		expect(platformFor('shopify')).toBe(PLATFORMS[2]);
		expect(platformFor('magento')).toBeUndefined();
	});

	it('shopFor: <platform>:<Shop Name> for presets, null (the order’s own shop) for canonical and generic', () => {
		expect(shopFor('woocommerce', 'mystore')).toBe('woocommerce:mystore');
		expect(shopFor(platformFor('shopify') as Platform, ' jsmith ')).toBe('shopify:jsmith');
		expect(shopFor('canonical', 'mystore')).toBeNull();
		expect(shopFor('generic', 'mystore')).toBeNull();
		expect(PLATFORMS.filter((p) => isPreset(p)).map((p) => p.id)).toEqual(['woocommerce', 'shopify', 'stripe', 'lemonsqueezy', 'paddle', 'goofish', 'youzan']);
	});
});

describe('canonical platform (today’s behaviour as a Platform)', () => {
	const raw = Buffer.from('{"event":"order.refunded","orderId":"T1","shop":"helloworld"}');
	const input = (headers: Record<string, string>, options = {}) => ({ headers, rawBody: raw, secret: SECRET, now: NOW_S * 1000, toleranceSeconds: 300, options });

	it('verify is verifySignature with the failing header named', () => {
		const sig = signPayload(SECRET, NOW_S, raw);
		expect(canonical.verify(input({ 'X-Timestamp': String(NOW_S), 'X-Signature': sig }))).toEqual({ ok: true });
		const old = canonical.verify(input({ 'X-Timestamp': String(NOW_S - 301), 'X-Signature': sig }));
		const direct = verifySignature({ secret: SECRET, rawBody: raw, timestampHeader: String(NOW_S - 301), signatureHeader: sig, now: NOW_S * 1000 });
		expect(old).toEqual({ ...direct, field: 'x-timestamp' });
		expect(canonical.verify(input({ 'X-Timestamp': String(NOW_S), 'X-Signature': 'sha256=00' }))).toMatchObject({ reason: 'mismatch', field: 'x-signature' });
		const named = canonical.verify(input({ 'Shop-Time': String(NOW_S) }, { signatureHeader: 'Shop-Sig', timestampHeader: 'Shop-Time' }));
		expect(named).toMatchObject({ reason: 'missing_signature', field: 'shop-sig', message: expect.stringContaining('The Shop-Sig header is missing') });
	});

	it('classify reads the canonical event and keeps the order (its shop included)', () => {
		const body = JSON.parse(raw.toString());
		expect(canonical.classify(body, { headers: {}, options: {} })).toEqual({ kind: 'refunded', order: body });
		expect(canonical.classify({ ...body, event: 'order.paid' }, { headers: {}, options: {} }).kind).toBe('paid');
		expect(() => canonical.classify({ ...body, event: 'order.created' }, { headers: {}, options: {} })).toThrow(ValidationError);
	});

	it('the default platform is canonical: decideWebhook is unchanged without the setting', () => {
		const req = post(raw, { 'X-Timestamp': String(NOW_S), 'X-Signature': signPayload(SECRET, NOW_S, raw) }, NOW_S * 1000);
		const before = decideWebhook(req, { secret: SECRET, events: 'any' });
		expect(decideWebhook(req, { secret: SECRET, events: 'any', platform: 'canonical', shopName: 'x', platformOptions: { a: 1 } })).toEqual(before);
		expect(expectAction(before, 'accept').order.shop).toBe('helloworld');
	});
});

describe('hmac helpers', () => {
	it('decode hex / padded base64 strictly and compare bytes of equal length only', () => {
		expect(decodeDigest('0aFF', 'hex')).toEqual(Buffer.from([10, 255]));
		expect(decodeDigest('0aF', 'hex')).toBeNull();
		expect(decodeDigest('zz', 'hex')).toBeNull();
		expect(decodeDigest('AAE=', 'base64')).toEqual(Buffer.from([0, 1]));
		expect(decodeDigest('AAE', 'base64')).toBeNull();
		expect(decodeDigest('AA-_', 'base64')).toBeNull();
		expect(decodeDigest('', 'base64')).toBeNull();
		expect(sameBytes(Buffer.from('ab'), Buffer.from('ab'))).toBe(true);
		expect(sameBytes(Buffer.from('ab'), Buffer.from('abc'))).toBe(false);
	});

	it('timestampProblem: whole seconds within the tolerance, past and future', () => {
		expect(timestampProblem(String(NOW_S), 'X-T', 300, NOW_S * 1000)).toBeNull();
		expect(timestampProblem(String(NOW_S - 300), 'X-T', 300, NOW_S * 1000)).toBeNull();
		expect(timestampProblem(String(NOW_S + 301), 'X-T', 300, NOW_S * 1000)).toMatchObject({ reason: 'expired', field: 'x-t' });
		expect(timestampProblem(`${NOW_S}000`, 'X-T', 300, NOW_S * 1000)).toMatchObject({ reason: 'bad_timestamp', message: expect.stringContaining('milliseconds') });
		expect(timestampProblem('1.5', 'X-T', 300, NOW_S * 1000)).toMatchObject({ reason: 'bad_timestamp' });
	});
});

/** A platform for the seam alone: signed by `x-fake: ok`, classifying by the payload's `type`. */
const FAKE: Platform = {
	id: 'stripe',
	label: 'Fake',
	sources: ['this test'],
	contentTypes: ['application/json'],
	ping: ({ rawBody }) => (rawBody.toString() === 'ping' ? { event: 'ping', message: 'pong' } : null),
	verify: ({ headers }) => (headers['x-fake'] === 'ok' ? { ok: true } : { ok: false, reason: 'mismatch', message: 'no', field: 'x-fake' }),
	classify(body) {
		const b = body as { type: string; id: string; email?: string; lines?: Array<{ code: string }> };
		if (b.type === 'other') return { kind: 'ignore', event: 'other', message: 'not ours' };
		const order = { orderId: b.id, items: (b.lines ?? []).map((l) => ({ sku: l.code, quantity: 1 })) };
		if (b.type === 'refund') return { kind: 'refunded', order, lines: b.lines };
		const complete = async (fetch: FetchJson) => ({ ...order, items: ((await fetch({ url: `https://api.example/${b.id}` })) as { items: unknown[] }).items });
		return { kind: 'paid', order, eventId: 'evt_1', ...(b.lines ? { lines: b.lines } : { complete }) };
	},
};
const SETTINGS: WebhookSettings = { platform: 'stripe', shopName: 'acct', secret: SECRET, events: 'any' };
const resolved = (over: WebhookSettings = {}) => ({ ...resolveWebhookSettings({ ...SETTINGS, ...over }), platform: FAKE });
const fake = (body: unknown, headers: Record<string, string> = { 'x-fake': 'ok' }) => post(JSON.stringify(body), headers);

describe('preset decision (platformWebhook.ts)', () => {
	it('ping first, then content type, size, verify, JSON, classify, event filter', () => {
		expect(expectAction(decidePreset({ method: 'POST', headers: {}, rawBody: 'ping' }, resolved()), 'ignore', 200).body).toEqual({ ignored: true, event: 'ping', message: 'pong' });
		expectAction(decidePreset({ ...fake({}), headers: { 'content-type': 'text/plain', 'x-fake': 'ok' } }, resolved()), 'reject', 415);
		expectAction(decidePreset(fake({ type: 'refund', id: 'x'.repeat(100) }), resolved({ maxBodyBytes: 50 })), 'reject', 413);
		expect(expectAction(decidePreset(fake({ type: 'refund', id: 'o1' }, {}), resolved()), 'reject', 401).body).toEqual({ error: 'no', field: 'x-fake', reason: 'mismatch' });
		expectAction(decidePreset(fake({ type: 'refund', id: 'o1' }, {}), resolved({ verifySignature: false })), 'accept');
		expect(expectAction(decidePreset(post('{"type":', { 'x-fake': 'ok' }), resolved()), 'reject', 400).body.field).toBe('body');
		expect(expectAction(decidePreset(fake({ type: 'other' }), resolved()), 'ignore', 200).body).toEqual({ ignored: true, event: 'other', message: 'not ours' });
		const filtered = expectAction(decidePreset(fake({ type: 'refund', id: 'o1' }), resolved({ events: 'order.paid' })), 'ignore', 200);
		expect(filtered.body.event).toBe('order.refunded');
	});

	it('a paid order that needs the API → complete; completeWebhook finishes it with the shop, overrides and items', async () => {
		const d = expectAction(decidePreset(fake({ type: 'paid', id: 'pi_1', email: 'b@example.com' }), resolved()), 'complete');
		expect(d).toMatchObject({ platform: 'stripe', eventId: 'evt_1', pending: { kind: 'paid', order: { orderId: 'pi_1', items: [] } } });
		const calls: string[] = [];
		const fetch: FetchJson = async (req) => {
			calls.push(req.url);
			return { items: [{ sku: 'STEAM-50', quantity: 2 }] };
		};
		const done = expectAction(await completeWebhook(d, fetch, { ...SETTINGS, mapping: { 'buyer.email': 'email' } }), 'accept');
		expect(calls).toEqual(['https://api.example/pi_1']);
		expect(done.order).toMatchObject({ event: 'order.paid', orderId: 'pi_1', shop: 'stripe:acct', buyer: { email: 'b@example.com' } });
		expect(done.items).toHaveLength(1);
		expect(done.eventId).toBe('evt_1');
	});

	it('finishWebhook validates the completed order (400 naming the field); errors of the API call are thrown', async () => {
		const d = expectAction(decidePreset(fake({ type: 'paid', id: 'pi_1' }), resolved()), 'complete') as CompleteDecision;
		const bad = expectAction(finishWebhook(d, { orderId: 'pi_1', items: [{ sku: 'A', quantity: 0 }] }, SETTINGS), 'reject', 400);
		expect(bad.body.field).toBe('items[0].quantity');
		const invalid: CompleteDecision = { ...d, complete: async () => { throw new ValidationError('items[0].sku', 'items[0].sku is required.'); } };
		expect(expectAction(await completeWebhook(invalid, async () => ({}), SETTINGS), 'reject', 400).body.field).toBe('items[0].sku');
		const down: CompleteDecision = { ...d, complete: async () => { throw new Error('API down'); } };
		await expect(completeWebhook(down, async () => ({}), SETTINGS)).rejects.toThrow('API down');
		expect(() => finishWebhook(d, 'nope' as never, SETTINGS)).toThrow('no order object');
	});

	it('item fields of Field Mapping read the payload line behind each item; without such lines they are a configuration error', () => {
		const lines = [{ code: 'A', alt: 'ALT-A' }, { code: 'B', alt: 'ALT-B' }];
		const d = expectAction(decidePreset(fake({ type: 'refund', id: 'o1', lines }), resolved({ mapping: { 'items.sku': 'alt' } })), 'accept');
		expect(d.order.items.map((i) => i.sku)).toEqual(['ALT-A', 'ALT-B']);
		const mappedArray = decidePreset(fake({ type: 'refund', id: 'o1', lines, more: [{ alt: 'X' }] }), resolved({ mapping: { items: 'more', 'items.sku': 'alt' } }));
		expect(expectAction(mappedArray, 'accept').order.items.map((i) => i.sku)).toEqual(['X']);
		const completed = expectAction(decidePreset(fake({ type: 'paid', id: 'pi_1' }), resolved()), 'complete');
		expect(() => finishWebhook(completed, { orderId: 'pi_1', items: [{ sku: 'A', quantity: 1 }] }, { ...SETTINGS, mapping: { 'items.sku': 'alt' } })).toThrow(WebhookConfigError);
	});

	it('decideWebhook, which cannot call an API, refuses a Stripe event that needs it (decideShopWebhook returns complete)', () => {
		const raw = fixtureBytes('stripe', 'checkout.session.completed.json');
		const t = 1763892000;
		const req = post(raw, { 'Stripe-Signature': `t=${t},v1=${hmacOf('sha256', SECRET, [String(t), '.', raw], 'hex')}` }, t * 1000);
		const settings = { ...SETTINGS, platformOptions: { skuFrom: 'line_items' } };
		expect(decide(req, settings).action).toBe('complete');
		expect(() => decideWebhook(req, settings)).toThrow(WebhookConfigError);
	});
});
