import { readFileSync } from 'fs';
import { join } from 'path';
import { ValidationError } from '../../../nodes/core/errors';
import { parseJsonBody, parseOrder } from '../../../nodes/core/intake';
import { stripe } from '../../../nodes/core/intake/platforms/stripe';
import type { Classification, FetchJson, PlatformOptions, VerifyInput } from '../../../nodes/core/intake/platforms/types';

const DIR = join(__dirname, '../../fixtures/platforms/stripe');
const raw = (name: string) => readFileSync(join(DIR, name));
const json = (name: string) => parseJsonBody(raw(name)) as Record<string, any>;

const SECRET = 'whsec_fixture0only0not0a0real0secret';
const T = 1763892000; // 2025-11-23T10:00:00Z
const SESSION = 'checkout.session.completed.json';
const SESSION_ID = 'cs_test_a1enSAC01IA3Ps2vL32mNoWKMCNmmfUGTeEeHXI5tLCvyFNGsdG2UNA7mr';
const PI = 'pi_3MtwBwLkdIwHu7ix28a3tqPa';
/** The canonical order of the session fixture, without its items. */
const ORDER = {
	event: 'order.paid',
	orderId: PI,
	buyer: { id: 'cus_NffrFeUfNV2Hib', name: 'Jenny Rosen', email: 'jenny.rosen@example.com' },
	amount: 100,
	currency: 'USD',
	paidAt: '2025-11-23T10:00:00.000Z',
};

/*
 * Vectors computed independently of the code, over the fixture files' exact bytes:
 *   S=whsec_fixture0only0not0a0real0secret; t=1763892000
 *   { printf '%s.' "$t"; cat test/fixtures/platforms/stripe/checkout.session.completed.json; } | openssl dgst -sha256 -hmac "$S"
 *   { printf '%s.' "$t"; cat test/fixtures/platforms/stripe/charge.refunded.json; } | openssl dgst -sha256 -hmac "$S"
 *   { printf '%s.' "$t"; cat test/fixtures/platforms/stripe/checkout.session.completed.json; } | openssl dgst -sha256 -hmac whsec_previous0secret0rolled0away
 */
const V1_SESSION = 'f162f781a5cde6a6a892a94966050adfcf3ce1fa6cea7de1f6e019223ca62ca1';
const V1_REFUND = 'f2e3a4cccf0a873b3bcf90e3f8e5d33dcb340ee355a73099655b3c219adcf3be';
const V1_SESSION_OLD_SECRET = 'e6c6bb7119584eac18887df88d98aac2c57daca3d9fea24165321942255c861c';

function verify(header: string | undefined, over: Partial<VerifyInput> = {}) {
	return stripe.verify({
		headers: header === undefined ? {} : { 'stripe-signature': header },
		rawBody: raw(SESSION),
		secret: SECRET,
		now: T * 1000,
		toleranceSeconds: 300,
		options: {},
		...over,
	});
}

function failure(r: ReturnType<typeof verify>) {
	if (r.ok) throw new Error('expected a failure, got ok');
	expect(r.field).toBe('stripe-signature');
	expect(r.message).not.toContain(SECRET);
	expect(r.message).not.toContain(V1_SESSION);
	return r;
}

function classify(body: unknown, options: PlatformOptions = {}): Classification {
	return stripe.classify(body, { headers: {}, options });
}

function paid(c: Classification) {
	if (c.kind !== 'paid') throw new Error(`expected paid, got ${c.kind}`);
	return c;
}

/** The ValidationError `fn` throws (anything else fails the test). */
const thrown = (fn: () => unknown): ValidationError => {
	try { fn(); } catch (e) { if (e instanceof ValidationError) return e; throw e; } // prettier-ignore
	throw new Error('expected a ValidationError');
};

describe('stripe.verify', () => {
	it('accepts the openssl vectors over the raw body', () => {
		expect(verify(`t=${T},v1=${V1_SESSION}`)).toEqual({ ok: true });
		expect(verify(`t=${T},v1=${V1_REFUND}`, { rawBody: raw('charge.refunded.json') })).toEqual({ ok: true });
		expect(stripe.verify({ headers: { 'Stripe-Signature': ` t=${T} , v1=${V1_SESSION.toUpperCase()} ` }, rawBody: raw(SESSION), secret: SECRET, now: T * 1000, toleranceSeconds: 300, options: {} })).toEqual({ ok: true });
	});

	it('accepts any of several v1 signatures (a rolled secret) and ignores v0', () => {
		expect(verify(`t=${T},v1=${V1_SESSION_OLD_SECRET},v1=${V1_SESSION},v0=${'0'.repeat(64)}`)).toEqual({ ok: true });
		expect(verify(`t=${T},v1=${V1_SESSION},v1=${V1_SESSION_OLD_SECRET}`)).toEqual({ ok: true });
	});

	it('refuses a v0-only header (test scheme) as bad_format', () => {
		expect(failure(verify(`t=${T},v0=${V1_SESSION}`)).reason).toBe('bad_format');
	});

	it('refuses another secret, a tampered body and a forged signature as mismatch', () => {
		expect(failure(verify(`t=${T},v1=${V1_SESSION_OLD_SECRET}`)).reason).toBe('mismatch');
		const tampered = Buffer.from(raw(SESSION).toString('utf8').replace('"amount_total": 10000', '"amount_total": 10001'));
		expect(failure(verify(`t=${T},v1=${V1_SESSION}`, { rawBody: tampered })).reason).toBe('mismatch');
		expect(failure(verify(`t=${T},v1=${'ab'.repeat(32)}`)).reason).toBe('mismatch');
		expect(failure(verify(`t=${T + 1},v1=${V1_SESSION}`)).reason).toBe('mismatch');
		expect(failure(verify(`t=${T},v1=${V1_SESSION}`, { secret: 'whsec_other' })).reason).toBe('mismatch');
	});

	it('refuses a missing header', () => {
		for (const h of [undefined, '', '   ']) expect(failure(verify(h)).reason).toBe('missing_signature');
	});

	it('names what is malformed in the header', () => {
		expect(failure(verify('garbage')).reason).toBe('missing_timestamp');
		expect(failure(verify(`v1=${V1_SESSION}`)).reason).toBe('missing_timestamp');
		expect(failure(verify(`t=abc,v1=${V1_SESSION}`)).reason).toBe('bad_timestamp');
		const ms = failure(verify(`t=${T}000,v1=${V1_SESSION}`));
		expect(ms.reason).toBe('bad_timestamp');
		expect(ms.message).toMatch(/milliseconds/);
		expect(failure(verify(`t=${T}`)).reason).toBe('bad_format');
		expect(failure(verify(`t=${T},v1=xyz`)).reason).toBe('bad_format');
		expect(failure(verify(`t=${T},v1=${V1_SESSION.slice(2)}`)).reason).toBe('bad_format');
	});

	it('refuses timestamps outside the tolerance, past and future', () => {
		const h = `t=${T},v1=${V1_SESSION}`;
		expect(verify(h, { now: (T + 300) * 1000 })).toEqual({ ok: true });
		expect(verify(h, { now: (T - 300) * 1000 })).toEqual({ ok: true });
		const old = failure(verify(h, { now: (T + 301) * 1000 }));
		expect(old.reason).toBe('expired');
		expect(old.message).toMatch(/301 seconds old/);
		const future = failure(verify(h, { now: (T - 301) * 1000 }));
		expect(future.reason).toBe('expired');
		expect(future.message).toMatch(/in the future/);
		expect(failure(verify(h, { now: (T + 61) * 1000, toleranceSeconds: 60 })).reason).toBe('expired');
	});
});

describe('stripe.classify', () => {

	it('checkout.session.completed (paid) → the canonical order, SKU and quantity from the session metadata', () => {
		const c = paid(classify(json(SESSION)));
		expect(c).toEqual({
			kind: 'paid',
			eventId: 'evt_1PqWm2LkdIwHu7ix0aBcDeF1',
			order: { ...ORDER, items: [{ sku: 'STEAM-50', quantity: '2', price: 50 }] },
		});
		expect(parseOrder(c.order)).toMatchObject({ orderId: PI, items: [{ sku: 'STEAM-50', name: null, quantity: 2, price: 50 }], amount: 100 });
	});

	it('checkout.session.async_payment_succeeded → paid; metadata keys are options; quantity defaults to 1', () => {
		const body = json(SESSION);
		body.type = 'checkout.session.async_payment_succeeded';
		body.data.object.metadata = { product_code: 'NETFLIX-15' };
		const c = paid(classify(body, { skuKey: 'product_code', quantityKey: 'qty' }));
		expect(c.order.items).toEqual([{ sku: 'NETFLIX-15', quantity: 1, price: 100 }]);
	});

	it('a session without the SKU in its metadata is refused, naming the key', () => {
		const body = json(SESSION);
		body.data.object.metadata = {};
		const e = thrown(() => classify(body));
		expect(e.field).toBe('items');
		expect(e.message).toMatch(/metadata "sku"/);
	});

	it('an unpaid session (delayed payment method) and a session without PaymentIntent are ignored', () => {
		const unpaid = json(SESSION);
		unpaid.data.object.payment_status = 'unpaid';
		const c = classify(unpaid);
		expect(c).toMatchObject({ kind: 'ignore', event: 'checkout.session.completed', eventId: 'evt_1PqWm2LkdIwHu7ix0aBcDeF1' });
		expect(c.kind === 'ignore' && c.message).toMatch(/"unpaid", not paid.*async_payment_succeeded/);
		const subscription = json(SESSION);
		subscription.data.object.payment_intent = null;
		expect(classify(subscription)).toMatchObject({ kind: 'ignore', message: expect.stringMatching(/no PaymentIntent/) });
	});

	it('zero-decimal currencies are not divided (JPY), three-decimal ones by 1000 (KWD)', () => {
		const jpy = json(SESSION);
		jpy.data.object.currency = 'jpy';
		jpy.data.object.amount_total = 5000;
		expect(paid(classify(jpy)).order).toMatchObject({ amount: 5000, currency: 'JPY', items: [{ sku: 'STEAM-50', quantity: '2', price: 2500 }] });
		const kwd = json(SESSION);
		kwd.data.object.currency = 'kwd';
		kwd.data.object.amount_total = 12340;
		expect(paid(classify(kwd)).order).toMatchObject({ amount: 12.34, currency: 'KWD' });
		const bad = json(SESSION);
		bad.data.object.amount_total = -5;
		expect(thrown(() => classify(bad)).field).toBe('data.object.amount_total');
	});

	it('charge.refunded (in full) → a refund of the whole order, by PaymentIntent', () => {
		expect(classify(json('charge.refunded.json'))).toEqual({
			kind: 'refunded',
			eventId: 'evt_3MtwBwLkdIwHu7ix1rEfUnD0',
			order: { event: 'order.refunded', orderId: PI },
		});
	});

	it('a partial refund is ignored unless partialRefunds is refund_order', () => {
		const partial = json('charge.refunded.json');
		partial.data.object.refunded = false;
		partial.data.object.amount_refunded = 2000;
		expect(classify(partial)).toMatchObject({ kind: 'ignore', event: 'charge.refunded', message: expect.stringMatching(/refunded in part/) });
		expect(classify(partial, { partialRefunds: 'refund_order' })).toEqual({
			kind: 'refunded',
			eventId: 'evt_3MtwBwLkdIwHu7ix1rEfUnD0',
			order: { event: 'order.refunded', orderId: PI },
		});
	});

	it('other events are ignored with their name; a body that is not an event is refused', () => {
		const other = json(SESSION);
		other.type = 'payment_intent.succeeded';
		expect(classify(other)).toEqual({
			kind: 'ignore',
			event: 'payment_intent.succeeded',
			eventId: 'evt_1PqWm2LkdIwHu7ix0aBcDeF1',
			message: expect.stringMatching(/not handled.*checkout\.session\.completed/),
		});
		expect(thrown(() => classify({ hello: 'world' })).field).toBe('body');
		expect(thrown(() => classify([1])).field).toBe('body');
	});

	it('checkOptions names a bad option', () => {
		expect(() => stripe.checkOptions?.({ skuFrom: 'line_items', lineItemSku: 'product_metadata', skuKey: 'code' })).not.toThrow();
		expect(thrown(() => stripe.checkOptions?.({ skuFrom: 'nope' })).field).toBe('platformOptions.skuFrom');
		expect(thrown(() => stripe.checkOptions?.({ skuKey: 'two words' })).field).toBe('platformOptions.skuKey');
		expect(thrown(() => stripe.checkOptions?.({ partialRefunds: 'sometimes' })).field).toBe('platformOptions.partialRefunds');
	});
});

describe('stripe line items (skuFrom: line_items)', () => {
	const URL = `https://api.stripe.com/v1/checkout/sessions/${SESSION_ID}/line_items`;

	function fakeStripe() {
		const calls: Parameters<FetchJson>[0][] = [];
		const fetch: FetchJson = async (req) => {
			calls.push(req);
			return json(req.query?.starting_after === undefined ? 'line_items.page1.json' : 'line_items.page2.json');
		};
		return { calls, fetch };
	}

	it('reads every page (starting_after while has_more) and maps each line', async () => {
		const c = paid(classify(json(SESSION), { skuFrom: 'line_items' }));
		expect(c.order.items).toBeUndefined();
		const { calls, fetch } = fakeStripe();
		const order = await c.complete!(fetch);
		expect(calls).toEqual([
			{ method: 'GET', url: URL, query: { limit: '100', 'expand[]': 'data.price.product' } },
			{ method: 'GET', url: URL, query: { limit: '100', 'expand[]': 'data.price.product', starting_after: 'li_1N4BEoLkdIwHu7ixWtXug1yk' } },
		]);
		expect(order).toEqual({
			...ORDER,
			items: [
				{ sku: 'STEAM-50', name: 'Steam Gift Card 50', quantity: 2, price: 50 },
				{ sku: 'NETFLIX-15', name: 'Netflix 15', quantity: 1, price: 15 },
			],
		});
		expect(parseOrder(order).items).toHaveLength(2);
	});

	it('takes the SKU from the product metadata or the price id when asked', async () => {
		const byProduct = paid(classify(json(SESSION), { skuFrom: 'line_items', lineItemSku: 'product_metadata' }));
		expect(((await byProduct.complete!(fakeStripe().fetch)).items as Array<{ sku: string }>).map((i) => i.sku)).toEqual([
			'STEAM-50-PRODUCT',
			'NETFLIX-15-PRODUCT',
		]);
		const byPrice = paid(classify(json(SESSION), { skuFrom: 'line_items', lineItemSku: 'price_id' }));
		expect(((await byPrice.complete!(fakeStripe().fetch)).items as Array<{ sku: string }>).map((i) => i.sku)).toEqual([
			'price_1N4AEsLkdIwHu7ix7Ssho8Cl',
			'price_1N4AFtLkdIwHu7ixkVx2QzWb',
		]);
	});

	it('a line without a lookup key is refused, naming the line; a malformed answer is an error', async () => {
		const c = paid(classify(json(SESSION), { skuFrom: 'line_items' }));
		const page = json('line_items.page1.json');
		page.data[0].price.lookup_key = null;
		page.has_more = false;
		await expect(c.complete!(async () => page)).rejects.toMatchObject({ field: 'items[0].sku', message: expect.stringMatching(/Steam Gift Card 50.*lookup key/) });
		await expect(c.complete!(async () => ({ error: { message: 'No such checkout.session' } }))).rejects.toThrow(/without a "data" list/);
	});

	it('zero-decimal line amounts are not divided', async () => {
		const c = paid(classify(json(SESSION), { skuFrom: 'line_items' }));
		const page = json('line_items.page2.json');
		page.data[0].currency = 'jpy';
		page.data[0].amount_total = 1500;
		page.data[0].quantity = 3;
		expect((await c.complete!(async () => page)).items).toEqual([{ sku: 'NETFLIX-15', name: 'Netflix 15', quantity: 3, price: 500 }]);
	});
});
