import { readFileSync } from 'fs';
import { join } from 'path';
import { ValidationError } from '../../../nodes/core/errors';
import { parseJsonBody, parseOrder } from '../../../nodes/core/intake';
import { lemonSqueezy } from '../../../nodes/core/intake/platforms/lemonsqueezy';
import type { Classification, PlatformOptions, VerifyInput } from '../../../nodes/core/intake/platforms/types';
import type { HeaderMap } from '../../../nodes/core/intake/rawBody';

const DIR = join(__dirname, '../../fixtures/platforms/lemonsqueezy');
const raw = (name: string) => readFileSync(join(DIR, name));
const json = (name: string) => parseJsonBody(raw(name)) as Record<string, any>;

const SECRET = 'ls-fixture-signing-secret';
const CREATED = 'order_created.json';

/*
 * Vectors computed independently of the code, over the fixture files' exact bytes:
 *   openssl dgst -sha256 -hmac ls-fixture-signing-secret < test/fixtures/platforms/lemonsqueezy/order_created.json
 *   openssl dgst -sha256 -hmac ls-fixture-signing-secret < test/fixtures/platforms/lemonsqueezy/order_refunded.json
 * (Lemon Squeezy's signing page publishes no vector.)
 */
const SIG_CREATED = '45b3d918f284a9fe6a0e22b6bcc3f076f8cdc17b10f0885cb98cab7fca7daecd';
const SIG_REFUNDED = '74264a3a25380bda4972364f3b61690f10887320a552f994b9b9dd1ccba2e177';

function verify(headers: HeaderMap, over: Partial<VerifyInput> = {}) {
	return lemonSqueezy.verify({ headers, rawBody: raw(CREATED), secret: SECRET, now: Date.now(), toleranceSeconds: 300, options: {}, ...over });
}

function failure(r: ReturnType<typeof verify>) {
	if (r.ok) throw new Error('expected a failure, got ok');
	expect(r.field).toBe('x-signature');
	expect(r.message).not.toContain(SECRET);
	expect(r.message).not.toContain(SIG_CREATED);
	return r;
}

function classify(body: unknown, options: PlatformOptions = {}, headers: HeaderMap = {}): Classification {
	return lemonSqueezy.classify(body, { headers, options });
}

/** The ValidationError `fn` throws (anything else fails the test). */
const thrown = (fn: () => unknown): ValidationError => {
	try { fn(); } catch (e) { if (e instanceof ValidationError) return e; throw e; } // prettier-ignore
	throw new Error('expected a ValidationError');
};

describe('lemonSqueezy.verify', () => {
	it('accepts the openssl vectors (hex HMAC-SHA256 of the raw body), whatever the time', () => {
		expect(verify({ 'X-Signature': SIG_CREATED })).toEqual({ ok: true });
		expect(verify({ 'x-signature': ` ${SIG_REFUNDED.toUpperCase()} ` }, { rawBody: raw('order_refunded.json') })).toEqual({ ok: true });
		expect(verify({ 'x-signature': SIG_CREATED }, { now: 0 })).toEqual({ ok: true });
	});

	it('refuses another secret, a tampered body and a forged signature as mismatch', () => {
		expect(failure(verify({ 'x-signature': SIG_CREATED }, { secret: 'another-secret' })).reason).toBe('mismatch');
		const tampered = Buffer.from(raw(CREATED).toString('utf8').replace('"total": 1199', '"total": 1'));
		expect(failure(verify({ 'x-signature': SIG_CREATED }, { rawBody: tampered })).reason).toBe('mismatch');
		expect(failure(verify({ 'x-signature': SIG_REFUNDED })).reason).toBe('mismatch');
		expect(failure(verify({ 'x-signature': 'cd'.repeat(32) })).reason).toBe('mismatch');
	});

	it('refuses a missing or malformed header', () => {
		expect(failure(verify({})).reason).toBe('missing_signature');
		expect(failure(verify({ 'x-signature': '' })).reason).toBe('missing_signature');
		expect(failure(verify({ 'x-signature': `sha256=${SIG_CREATED}` })).reason).toBe('bad_format');
		expect(failure(verify({ 'x-signature': SIG_CREATED.slice(0, 40) })).reason).toBe('bad_format');
		expect(failure(verify({ 'x-signature': 'not hex at all' })).reason).toBe('bad_format');
	});
});

describe('lemonSqueezy.classify', () => {
	it('order_created (paid) → the canonical order; SKU from the variant id', () => {
		const c = classify(json(CREATED), {}, { 'X-Event-Name': 'order_created' });
		const first = json(CREATED).data.attributes.first_order_item;
		expect(c).toEqual({
			kind: 'paid',
			order: {
				event: 'order.paid',
				orderId: '1',
				buyer: { id: '1', name: 'John Doe', email: 'johndoe@example.com' },
				items: [{ sku: '1', name: 'Test Limited License for 2 years', quantity: 1, price: 11.99 }],
				amount: 11.99,
				currency: 'USD',
				paidAt: '2021-08-17T09:45:53.000000Z',
			},
			lines: [first],
		});
		if (c.kind !== 'paid') throw new Error('paid');
		expect(parseOrder(c.order)).toMatchObject({ orderId: '1', paidAt: '2021-08-17T09:45:53.000Z', items: [{ sku: '1', quantity: 1 }] });
	});

	it('the SKU and the order id follow the options', () => {
		const order = (options: PlatformOptions) => {
			const c = classify(json(CREATED), options);
			if (c.kind !== 'paid') throw new Error('paid');
			return c.order as { orderId: string; items: Array<{ sku: string }> };
		};
		expect(order({ skuFrom: 'product_id' }).items[0].sku).toBe('1');
		expect(order({ skuFrom: 'custom_data' }).items[0].sku).toBe('LIC-2Y');
		expect(order({ skuFrom: 'custom_data', skuKey: 'customer_id' }).items[0].sku).toBe('25');
		expect(order({ orderIdFrom: 'identifier' }).orderId).toBe('104e18a2-d755-4d4b-80c4-a6c1dcbe1c10');
		expect(order({ orderIdFrom: 'order_number' }).orderId).toBe('1');
		const noData = json(CREATED);
		delete noData.meta.custom_data;
		expect(thrown(() => classify(noData, { skuFrom: 'custom_data' }))).toMatchObject({ field: 'items[0].sku', message: expect.stringMatching(/custom_data\.sku/) });
	});

	it('a variant name other than Default is part of the item name; a zero-decimal total is not divided', () => {
		const body = json(CREATED);
		body.data.attributes.first_order_item.variant_name = 'Lifetime';
		body.data.attributes.currency = 'JPY';
		body.data.attributes.total = 1500;
		body.data.attributes.first_order_item.price = 1500;
		const c = classify(body);
		expect(c.kind === 'paid' && c.order).toMatchObject({ amount: 1500, currency: 'JPY', items: [{ name: 'Test Limited License for 2 years - Lifetime', price: 1500 }] });
	});

	it('order_created that is not paid is ignored', () => {
		const body = json(CREATED);
		body.data.attributes.status = 'pending';
		expect(classify(body)).toEqual({ kind: 'ignore', event: 'order_created', message: expect.stringMatching(/"pending", not paid/) });
	});

	it('order_refunded in full → a refund of the whole order', () => {
		expect(classify(json('order_refunded.json'), {}, { 'x-event-name': 'order_refunded' })).toEqual({
			kind: 'refunded',
			order: { event: 'order.refunded', orderId: '1' },
		});
		expect(classify(json('order_refunded.json'), { orderIdFrom: 'identifier' })).toEqual({
			kind: 'refunded',
			order: { event: 'order.refunded', orderId: '104e18a2-d755-4d4b-80c4-a6c1dcbe1c10' },
		});
	});

	it('a partial refund is ignored unless partialRefunds is refund_order', () => {
		const partial = json('order_refunded.json');
		Object.assign(partial.data.attributes, { status: 'paid', refunded: false, refunded_amount: 100 });
		expect(classify(partial)).toMatchObject({ kind: 'ignore', event: 'order_refunded', message: expect.stringMatching(/refunded in part/) });
		expect(classify(partial, { partialRefunds: 'refund_order' })).toEqual({ kind: 'refunded', order: { event: 'order.refunded', orderId: '1' } });
	});

	it('the event name comes from the signed body; an unsigned header may not contradict it', () => {
		expect(thrown(() => classify(json(CREATED), {}, { 'X-Event-Name': 'order_refunded' })).field).toBe('x-event-name');
		const noMeta = json(CREATED);
		delete noMeta.meta;
		expect(classify(noMeta, {}, { 'X-Event-Name': 'order_created' })).toMatchObject({ kind: 'paid' });
		expect(thrown(() => classify(noMeta)).field).toBe('body');
	});

	it('other events are ignored with their name; a body without an order is refused', () => {
		const sub = json(CREATED);
		sub.meta.event_name = 'subscription_created';
		expect(classify(sub)).toEqual({ kind: 'ignore', event: 'subscription_created', message: expect.stringMatching(/not handled.*order_created, order_refunded/) });
		const notOrder = json(CREATED);
		notOrder.data.type = 'subscriptions';
		expect(thrown(() => classify(notOrder)).field).toBe('data');
		expect(thrown(() => classify('text')).field).toBe('body');
	});

	it('checkOptions names a bad option', () => {
		expect(() => lemonSqueezy.checkOptions?.({ skuFrom: 'custom_data', skuKey: 'sku', orderIdFrom: 'order_number' })).not.toThrow();
		expect(thrown(() => lemonSqueezy.checkOptions?.({ skuFrom: 'sku' })).field).toBe('platformOptions.skuFrom');
		expect(thrown(() => lemonSqueezy.checkOptions?.({ orderIdFrom: 'uuid' })).field).toBe('platformOptions.orderIdFrom');
	});
});
