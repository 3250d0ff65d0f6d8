import { readFileSync } from 'fs';
import { join } from 'path';
import { ValidationError } from '../../../nodes/core/errors';
import { parseJsonBody, parseOrder } from '../../../nodes/core/intake';
import { paddle } from '../../../nodes/core/intake/platforms/paddle';
import type { Classification, FetchJson, PlatformOptions, VerifyInput } from '../../../nodes/core/intake/platforms/types';

const DIR = join(__dirname, '../../fixtures/platforms/paddle');
const raw = (name: string) => readFileSync(join(DIR, name));
const json = (name: string) => parseJsonBody(raw(name)) as Record<string, any>;

const SECRET = 'pdl_ntfset_01h8e1jxna32kc43ev1vkqsq8x_fixtureOnly0NotReal';
const TS = 1692688545; // 2023-08-22T07:15:45Z
const TXN = 'transaction.completed.json';
const TXN_ID = 'txn_01h8dzxgkvdwemdhbpcapj2tbj';

/*
 * Vectors computed independently of the code, over the fixture files' exact bytes:
 *   P=pdl_ntfset_01h8e1jxna32kc43ev1vkqsq8x_fixtureOnly0NotReal; ts=1692688545
 *   { printf '%s:' "$ts"; cat test/fixtures/platforms/paddle/transaction.completed.json; } | openssl dgst -sha256 -hmac "$P"
 *   { printf '%s:' "$ts"; cat test/fixtures/platforms/paddle/adjustment.updated.json; } | openssl dgst -sha256 -hmac "$P"
 *   { printf '%s:' "$ts"; cat test/fixtures/platforms/paddle/transaction.completed.json; } | openssl dgst -sha256 -hmac pdl_ntfset_01h8e1jxna32kc43ev1vkqsq8x_oldSecretRotated
 */
const H1_TXN = 'bc4cba165ca1890c31ce6625b106e20fba333fc44cc904a9b493389ed42af658';
const H1_ADJ = '834a553404b86622039ee31d390e39948780139e48b8eca29235e13ea5025556';
const H1_TXN_OLD_SECRET = 'f74a608eb6ab9d6dbf2702481564d733c29e38d736c1e0735bf84aa0659cf45b';

/*
 * Published vector: paddle-node-sdk src/__tests__/notifications/webhooks-validator.test.ts
 * (body '{"data": ["1", "2"]}', secret VALID_SECRET, ts 1698796800), checked with
 *   printf '%s' '1698796800:{"data": ["1", "2"]}' | openssl dgst -sha256 -hmac VALID_SECRET
 */
const SDK_BODY = '{"data": ["1", "2"]}';
const SDK_HEADER = 'ts=1698796800;h1=a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9';

function verify(header: string | undefined, over: Partial<VerifyInput> = {}) {
	return paddle.verify({
		headers: header === undefined ? {} : { 'Paddle-Signature': header },
		rawBody: raw(TXN),
		secret: SECRET,
		now: TS * 1000,
		toleranceSeconds: 300,
		options: {},
		...over,
	});
}

function failure(r: ReturnType<typeof verify>) {
	if (r.ok) throw new Error('expected a failure, got ok');
	expect(r.field).toBe('paddle-signature');
	expect(r.message).not.toContain(SECRET);
	expect(r.message).not.toContain(H1_TXN);
	return r;
}

function classify(body: unknown, options: PlatformOptions = {}): Classification {
	return paddle.classify(body, { headers: {}, options });
}

function expectKind(c: Classification, kind: 'paid' | 'refunded'): Exclude<Classification, { kind: 'ignore' }> {
	if (c.kind !== kind) throw new Error(`expected ${kind}, got ${c.kind}`);
	return c as Exclude<Classification, { kind: 'ignore' }>;
}

/** The ValidationError `fn` throws (anything else fails the test). */
const thrown = (fn: () => unknown): ValidationError => {
	try { fn(); } catch (e) { if (e instanceof ValidationError) return e; throw e; } // prettier-ignore
	throw new Error('expected a ValidationError');
};

/** A fake Paddle API: GET /customers/{id} and GET /transactions/{id} from the fixtures. */
function fakePaddle() {
	const calls: Parameters<FetchJson>[0][] = [];
	const fetch: FetchJson = async (req) => {
		calls.push(req);
		if (req.url.endsWith('/customers/ctm_01h8e18bxp9hby49dnm8ewf0m0')) return json('customer.json');
		if (req.url.endsWith(`/transactions/${TXN_ID}`)) return { data: json(TXN).data, meta: { request_id: 'req' } };
		throw new Error(`unexpected ${req.url}`);
	};
	return { calls, fetch };
}

describe('paddle.verify', () => {
	it("accepts the openssl vectors and the SDK's published vector", () => {
		expect(verify(`ts=${TS};h1=${H1_TXN}`)).toEqual({ ok: true });
		expect(verify(`ts=${TS};h1=${H1_ADJ}`, { rawBody: raw('adjustment.updated.json') })).toEqual({ ok: true });
		expect(verify(SDK_HEADER, { rawBody: Buffer.from(SDK_BODY), secret: 'VALID_SECRET', now: 1698796800_000 })).toEqual({ ok: true });
	});

	it('accepts any of several h1 signatures (secret rotation)', () => {
		expect(verify(`ts=${TS};h1=${H1_TXN_OLD_SECRET};h1=${H1_TXN}`)).toEqual({ ok: true });
		expect(verify(`ts=${TS}; h1=${H1_TXN}; h1=${H1_TXN_OLD_SECRET}; h2=RANDOM_HASH`)).toEqual({ ok: true });
	});

	it('refuses another secret, a tampered body and a forged signature as mismatch', () => {
		expect(failure(verify(`ts=${TS};h1=${H1_TXN_OLD_SECRET}`)).reason).toBe('mismatch');
		expect(failure(verify(`ts=${TS};h1=${H1_TXN}`, { secret: 'pdl_ntfset_other' })).reason).toBe('mismatch');
		const tampered = Buffer.from(raw(TXN).toString('utf8').replace('"quantity": 2,', '"quantity": 20,'));
		expect(failure(verify(`ts=${TS};h1=${H1_TXN}`, { rawBody: tampered })).reason).toBe('mismatch');
		expect(failure(verify(`ts=${TS};h1=${'ef'.repeat(32)}`)).reason).toBe('mismatch');
		expect(failure(verify(SDK_HEADER, { rawBody: Buffer.from('{ "data": [ "1", "2" ]}'), secret: 'VALID_SECRET', now: 1698796800_000 })).reason).toBe('mismatch');
	});

	it('refuses a missing or malformed header', () => {
		expect(failure(verify(undefined)).reason).toBe('missing_signature');
		expect(failure(verify('')).reason).toBe('missing_signature');
		expect(failure(verify('invalid_header')).reason).toBe('missing_timestamp');
		expect(failure(verify(`h1=${H1_TXN}`)).reason).toBe('missing_timestamp');
		expect(failure(verify(`ts=1.5;h1=${H1_TXN}`)).reason).toBe('bad_timestamp');
		expect(failure(verify(`ts=${TS};h2=${H1_TXN}`)).reason).toBe('bad_format');
		expect(failure(verify(`ts=${TS};h1=invalid_signature`)).reason).toBe('bad_format');
		expect(failure(verify(`ts=${TS},h1=${H1_TXN}`)).reason).toBe('bad_timestamp');
	});

	it('refuses timestamps outside the tolerance, past and future (not the SDK 5 s: the tolerance is a setting)', () => {
		const h = `ts=${TS};h1=${H1_TXN}`;
		expect(verify(h, { now: (TS + 300) * 1000 })).toEqual({ ok: true });
		expect(verify(h, { now: (TS - 300) * 1000 })).toEqual({ ok: true });
		expect(failure(verify(h, { now: (TS + 301) * 1000 })).reason).toBe('expired');
		expect(failure(verify(h, { now: (TS - 301) * 1000 })).message).toMatch(/in the future/);
		expect(verify(h, { now: (TS + 5) * 1000, toleranceSeconds: 5 })).toEqual({ ok: true });
		expect(failure(verify(h, { now: (TS + 6) * 1000, toleranceSeconds: 5 })).reason).toBe('expired');
	});
});

describe('paddle.classify: transaction.completed', () => {
	const items = [
		{ sku: 'pri_01gsz8x8sawmvhz1pv30nge1ke', name: 'ChatApp Pro', quantity: 2, price: 32.66 },
		{ sku: 'pri_01gsz98e27ak2tyhexptwc58yk', name: 'Custom domains', quantity: 1, price: 216.66 },
	];
	const order = {
		event: 'order.paid',
		orderId: TXN_ID,
		buyer: { id: 'ctm_01h8e18bxp9hby49dnm8ewf0m0' },
		items,
		amount: 281.98,
		currency: 'USD',
		paidAt: '2023-08-22T07:15:44.296865Z',
	};

	it('→ the canonical order; the email is completed from GET /customers/{id}', async () => {
		const c = expectKind(classify(json(TXN)), 'paid');
		expect(c).toEqual({ kind: 'paid', eventId: 'evt_01h8e1jxjnw9ra6zarhnz1a7y1', order, complete: expect.any(Function), lines: json(TXN).data.items });
		const { calls, fetch } = fakePaddle();
		const completed = await c.complete!(fetch);
		expect(calls).toEqual([{ method: 'GET', url: 'https://api.paddle.com/customers/ctm_01h8e18bxp9hby49dnm8ewf0m0' }]);
		expect(completed).toEqual({ ...order, buyer: { id: 'ctm_01h8e18bxp9hby49dnm8ewf0m0', name: 'Sam Miller', email: 'sam@example.com' } });
		expect(parseOrder(completed)).toMatchObject({ orderId: TXN_ID, amount: 281.98, buyer: { email: 'sam@example.com' } });
	});

	it("takes the email from the transaction's custom data when there, without an API call", () => {
		const body = json(TXN);
		body.data.custom_data = { email: 'buyer@example.com' };
		const c = expectKind(classify(body), 'paid');
		expect(c.complete).toBeUndefined();
		expect(c.order.buyer).toEqual({ id: 'ctm_01h8e18bxp9hby49dnm8ewf0m0', email: 'buyer@example.com' });
		body.data.custom_data = { contact: 'other@example.com' };
		expect(expectKind(classify(body, { emailKey: 'contact' }), 'paid').order.buyer).toMatchObject({ email: 'other@example.com' });
		expect(expectKind(classify(json(TXN), { fetchCustomer: false }), 'paid').complete).toBeUndefined();
	});

	it('sandbox accounts call the sandbox API', async () => {
		const { calls, fetch } = fakePaddle();
		await expectKind(classify(json(TXN), { environment: 'sandbox' }), 'paid').complete!(fetch);
		expect(calls[0].url).toBe('https://sandbox-api.paddle.com/customers/ctm_01h8e18bxp9hby49dnm8ewf0m0');
	});

	it('the SKU follows skuFrom', () => {
		const skus = (options: PlatformOptions) => (expectKind(classify(json(TXN), options), 'paid').order.items as Array<{ sku: string }>).map((i) => i.sku);
		expect(skus({ skuFrom: 'product_id' })).toEqual(['pro_01gsz4t5hdjse780zja8vvr7jg', 'pro_01gsz97mq9pa4fkyy0wqenepkz']);
		expect(thrown(() => skus({ skuFrom: 'price_custom_data' }))).toMatchObject({ field: 'items[1].sku', message: expect.stringMatching(/custom data "sku"/) });
		const body = json(TXN);
		body.data.items[1].price.custom_data = { sku: 'DOMAIN-1' };
		expect((expectKind(classify(body, { skuFrom: 'price_custom_data' }), 'paid').order.items as Array<{ sku: string }>).map((i) => i.sku)).toEqual([
			'CHATAPP-PRO',
			'DOMAIN-1',
		]);
	});

	it('zero-decimal currencies are not divided', () => {
		const body = json(TXN);
		body.data.currency_code = 'JPY';
		body.data.details.totals.grand_total = '28198';
		expect(expectKind(classify(body), 'paid').order).toMatchObject({ amount: 28198, currency: 'JPY', items: [{ price: 3266 }, { price: 21666 }] });
	});
});

describe('paddle.classify: refunds', () => {
	const whole = { kind: 'refunded', eventId: 'evt_01h8c6wz4ac017hxdehrgdvpz4', order: { event: 'order.refunded', orderId: TXN_ID } };

	it('an approved refund of whole lines → those lines, looked up with GET /transactions/{id}', async () => {
		const c = expectKind(classify(json('adjustment.updated.json')), 'refunded');
		expect(c.order).toEqual({ event: 'order.refunded', orderId: TXN_ID });
		const { calls, fetch } = fakePaddle();
		expect(await c.complete!(fetch)).toEqual({ event: 'order.refunded', orderId: TXN_ID, items: [{ sku: 'pri_01gsz98e27ak2tyhexptwc58yk' }] });
		expect(calls).toEqual([{ method: 'GET', url: `https://api.paddle.com/transactions/${TXN_ID}` }]);
		const byProduct = expectKind(classify(json('adjustment.updated.json'), { skuFrom: 'product_id' }), 'refunded');
		expect((await byProduct.complete!(fetch)).items).toEqual([{ sku: 'pro_01gsz97mq9pa4fkyy0wqenepkz' }]);
	});

	it('every line refunded → the whole order; refundLines whole_order or a full adjustment skip the lookup', async () => {
		const all = json('adjustment.updated.json');
		all.data.items.push({ ...all.data.items[0], id: 'adjitm_2', item_id: 'txnitm_01h8e18cjzkpvj81m223nvag50' });
		expect(await expectKind(classify(all), 'refunded').complete!(fakePaddle().fetch)).toEqual({ event: 'order.refunded', orderId: TXN_ID });
		expect(classify(json('adjustment.updated.json'), { refundLines: 'whole_order' })).toEqual(whole);
		const full = json('adjustment.updated.json');
		full.data.type = 'full';
		full.event_type = 'adjustment.created';
		expect(classify(full)).toEqual(whole);
	});

	it('a refund naming a line the transaction lacks is an error', async () => {
		const odd = json('adjustment.updated.json');
		odd.data.items[0].item_id = 'txnitm_unknown';
		await expect(expectKind(classify(odd), 'refunded').complete!(fakePaddle().fetch)).rejects.toThrow(/no line "txnitm_unknown"/);
	});

	it('a partial refund is ignored unless partialRefunds is refund_order', () => {
		const partial = json('adjustment.updated.json');
		partial.data.items[0].type = 'partial';
		partial.data.items[0].amount = '100';
		expect(classify(partial)).toMatchObject({ kind: 'ignore', event: 'adjustment.updated', message: expect.stringMatching(/refunded in part/) });
		expect(classify(partial, { partialRefunds: 'refund_order' })).toEqual(whole);
	});

	it('refunds not yet approved, rejected refunds and credits are ignored', () => {
		for (const status of ['pending_approval', 'rejected']) {
			const adj = json('adjustment.updated.json');
			adj.data.status = status;
			expect(classify(adj)).toMatchObject({ kind: 'ignore', eventId: 'evt_01h8c6wz4ac017hxdehrgdvpz4', message: expect.stringContaining(`"${status}"`) });
		}
		const credit = json('adjustment.updated.json');
		credit.data.action = 'credit';
		expect(classify(credit)).toMatchObject({ kind: 'ignore', message: expect.stringMatching(/credit, not a refund/) });
	});
});

describe('paddle.classify: other payloads', () => {
	it('other events are ignored with their name; a body that is not a notification is refused', () => {
		const other = json(TXN);
		other.event_type = 'transaction.paid';
		expect(classify(other)).toEqual({
			kind: 'ignore',
			event: 'transaction.paid',
			eventId: 'evt_01h8e1jxjnw9ra6zarhnz1a7y1',
			message: expect.stringMatching(/not handled.*transaction\.completed/),
		});
		expect(thrown(() => classify({ event_type: 'transaction.completed' })).field).toBe('body');
		const noItems = json(TXN);
		noItems.data.items = [];
		expect(thrown(() => classify(noItems)).field).toBe('items');
	});

	it('checkOptions names a bad option', () => {
		expect(() => paddle.checkOptions?.({ skuFrom: 'price_custom_data', fetchCustomer: false, environment: 'sandbox', refundLines: 'whole_order' })).not.toThrow();
		expect(thrown(() => paddle.checkOptions?.({ environment: 'test' })).field).toBe('platformOptions.environment');
		expect(thrown(() => paddle.checkOptions?.({ fetchCustomer: 'yes' })).field).toBe('platformOptions.fetchCustomer');
		expect(thrown(() => paddle.checkOptions?.({ refundLines: 'some' })).field).toBe('platformOptions.refundLines');
	});
});
