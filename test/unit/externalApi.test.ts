/**
 * External API products, the client (nodes/core/delivery/externalApi.ts) against a real local HTTP
 * peer (test/helpers/contentApiServer.ts): config checks, the Idempotency-Key, retries on 5xx,
 * timeouts and dropped connections with the same key, slow answers, 4xx, answers without content,
 * a seller system answering the same key twice, the revoke call; no error text carries the
 * content, the answer's body or a header token.
 */
import {
	type ApiConfig,
	ExternalApiError,
	callRevokeApi,
	fetchApiContent,
	idempotencyKey,
	parseApiConfig,
	parseContentPath,
	readContent,
} from '../../nodes/core/delivery';
import { ValidationError } from '../../nodes/core/errors';
import { type ContentApi, startContentApi } from '../helpers/contentApiServer';

const TOKEN = 'tok-SECRET-9f8e7d6c5b4a';
const order = { shop: 'helloworld', orderId: 'T1', sku: 'VIP-30', quantity: 2, productName: 'VIP "30" days', buyerName: '小明', date: '2026-11-23T10:00:00Z' };

let api: ContentApi;
beforeAll(async () => {
	api = await startContentApi({ prefix: 'VIP' });
});
afterAll(() => api.close());
beforeEach(() => api.clear());

const config = (over: Record<string, unknown> = {}): ApiConfig =>
	parseApiConfig({
		url: `${api.url}/codes?order={orderId}`,
		method: 'POST',
		headers: JSON.stringify({ Authorization: `Bearer ${TOKEN}` }),
		body: '{"orderId": "{orderId}", "quantity": {quantity}, "product": "{productName}", "buyer": "{buyerName}"}',
		contentPath: 'data.codes',
		timeoutMs: 2000,
		retries: 2,
		...over,
	});
const fast = { backoffMs: 1 };

/** The error `fn` rejects with (fails the test when it resolves). */
async function failure(fn: () => Promise<unknown>): Promise<ExternalApiError> {
	const err = await fn().then(
		() => null,
		(e: unknown) => e,
	);
	expect(err).toBeInstanceOf(ExternalApiError);
	return err as ExternalApiError;
}

describe('config', () => {
	it('fills the defaults and keeps what was given', () => {
		const c = parseApiConfig({ url: 'https://api.example.com/codes', contentPath: 'data.items[0].code' });
		expect(c).toEqual({ url: 'https://api.example.com/codes', method: 'POST', headers: {}, body: null, timeoutMs: 10000, retries: 2, contentPath: 'data.items[0].code', revoke: null });
		const r = parseApiConfig({ url: 'http://x.example/a', method: 'put', headers: { 'X-Api-Key': 'k1234' }, contentPath: 'code', revoke: { url: 'http://x.example/r', body: '{"codes": "{deliveryContent}"}' } });
		expect(r.method).toBe('PUT');
		expect(r.revoke).toEqual({ url: 'http://x.example/r', method: 'POST', headers: {}, body: '{"codes": "{deliveryContent}"}', timeoutMs: 10000, retries: 2 });
	});

	it.each([
		[{ url: '' }, 'apiUrl', /API URL is required/],
		[{ url: 'ftp://x.example/a' }, 'apiUrl', /not an http\(s\) URL/],
		[{ url: 'https://x.example/{nope}' }, 'apiUrl', /Unknown variable in the API URL: \{nope\}/],
		[{ url: 'https://x.example/{deliveryContent}' }, 'apiUrl', /cannot be used in the API URL/],
		[{ method: 'DELETE' }, 'apiMethod', /GET, POST, PUT/],
		[{ headers: '[1]' }, 'apiHeaders', /JSON object/],
		[{ headers: 'not json' }, 'apiHeaders', /JSON object/],
		[{ headers: { 'Idempotency-Key': 'x' } }, 'apiHeaders', /set by Auto Delivery/],
		[{ headers: { 'Bad Name': 'x' } }, 'apiHeaders', /not a valid header name/],
		[{ headers: { Authorization: `${TOKEN}\r\nX: y` } }, 'apiHeaders', /line break/],
		[{ body: '{"a": {orderId}' }, 'apiBody', /not valid JSON/],
		[{ body: '{"a": "{what}"}' }, 'apiBody', /Unknown variable/],
		[{ body: '{"a": "{deliveryContent}"}' }, 'apiBody', /no content yet/],
		[{ method: 'GET', body: '{}' }, 'apiBody', /GET request has no body/],
		[{ contentPath: '' }, 'apiContentPath', /Content Path is required/],
		[{ contentPath: 'data..codes' }, 'apiContentPath', /Content Path is required/],
		[{ timeoutMs: 50 }, 'apiTimeoutMs', /from 100 to 120000/],
		[{ retries: 9 }, 'apiRetries', /from 0 to 5/],
		[{ revoke: { url: 'mailto:x' } }, 'revokeUrl', /Revoke URL is not an http/],
	])('refuses %j (field %s), never quoting a token', (over, field, message) => {
		let err: unknown;
		try {
			parseApiConfig({ url: 'https://api.example.com/codes', contentPath: 'data.codes', ...over });
		} catch (e) {
			err = e;
		}
		expect(err).toBeInstanceOf(ValidationError);
		expect((err as ValidationError).field).toBe(field);
		expect((err as Error).message).toMatch(message);
		expect((err as Error).message).not.toContain(TOKEN);
	});

	it('reads content paths with dots and indexes', () => {
		expect(parseContentPath('data.items[0].code')).toEqual(['data', 'items', 0, 'code']);
		expect(parseContentPath('items.1.code')).toEqual(['items', 1, 'code']);
		expect(parseContentPath('a[1][2]')).toEqual(['a', 1, 2]);
		expect(parseContentPath('a.')).toBeNull();
		const data = { data: { items: [{ code: ' A-1 ' }, { code: 'B-2' }], list: ['X', 'Y'] } };
		expect(readContent(data, 'data.items[1].code', 'API')).toEqual(['B-2']);
		expect(readContent(data, 'data.items.0.code', 'API')).toEqual(['A-1']);
		expect(readContent(data, 'data.list', 'API')).toEqual(['X', 'Y']);
	});

	it('builds the Idempotency-Key from shop, order and SKU, each part URL-encoded', () => {
		expect(idempotencyKey({ shop: 'helloworld', orderId: 'T1', sku: 'VIP-30' })).toBe('helloworld:T1:VIP-30');
		expect(idempotencyKey({ shop: null, orderId: 'T1', sku: 'VIP-30' })).toBe(':T1:VIP-30');
		expect(idempotencyKey({ shop: 'a:b', orderId: 'c', sku: 'd' })).not.toBe(idempotencyKey({ shop: 'a', orderId: 'b:c', sku: 'd' }));
		expect(idempotencyKey({ shop: '淘宝', orderId: 'T 1', sku: 'x' }, 'revoke')).toBe('%E6%B7%98%E5%AE%9D:T%201:x:revoke');
	});
});

describe('the content call', () => {
	it('sends the order with the Idempotency-Key and the headers, and reads the content', async () => {
		const { items, attempts } = await fetchApiContent(config(), order, fast);
		expect(attempts).toBe(1);
		const [req] = api.requests;
		expect(items).toEqual(api.issued.get('helloworld:T1:VIP-30'));
		expect(items).toHaveLength(2);
		expect(req.method).toBe('POST');
		expect(req.path).toBe('/codes');
		expect(req.query).toEqual({ order: 'T1' });
		expect(req.idempotencyKey).toBe('helloworld:T1:VIP-30');
		expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
		expect(req.body).toEqual({ orderId: 'T1', quantity: 2, product: 'VIP "30" days', buyer: '小明' });
	});

	it('a 500, then OK: retried with the same Idempotency-Key', async () => {
		api.faults([500, 'ok']);
		const { items, attempts } = await fetchApiContent(config(), order, fast);
		expect(attempts).toBe(2);
		expect(api.requests.map((r) => [r.fault, r.idempotencyKey])).toEqual([[500, 'helloworld:T1:VIP-30'], ['ok', 'helloworld:T1:VIP-30']]);
		expect(items).toEqual(api.issued.get('helloworld:T1:VIP-30'));
	});

	it.each(['timeout', 'reset'] as const)('an answer lost by %s: the retry with the same key gets the codes issued the first time', async (fault) => {
		api.faults([fault, 'ok']);
		const { items } = await fetchApiContent(config({ timeoutMs: 300 }), order, fast);
		expect(api.requests).toHaveLength(2);
		expect(api.issued.size).toBe(1);
		expect(items).toEqual(api.issued.get('helloworld:T1:VIP-30'));
	});

	it('a slow answer within the timeout is taken at once, without a retry', async () => {
		api.faults(['slow']);
		const { items, attempts } = await fetchApiContent(config({ timeoutMs: 5000 }), order, fast);
		expect(attempts).toBe(1);
		expect(api.requests).toHaveLength(1);
		expect(items).toHaveLength(2);
	});

	it('no answer at all: gives up after the retries, naming the host, never the URL query or token', async () => {
		api.faults(['timeout', 'timeout']);
		const err = await failure(() => fetchApiContent(config({ timeoutMs: 200, retries: 1, url: `${api.url}/codes?token=${TOKEN}` }), order, fast));
		expect(err.message).toMatch(/^The content API 127\.0\.0\.1:\d+ failed: No answer from 127\.0\.0\.1:\d+ within 200 ms\. Gave up after 2 attempts\.$/);
		expect(err.message).not.toContain(TOKEN);
		expect(err.attempts).toBe(2);
		expect(api.requests).toHaveLength(2);
	});

	it('5xx every time: gives up after 1 + retries attempts, all with the same key', async () => {
		api.faults([503, 503, 503]);
		const err = await failure(() => fetchApiContent(config(), order, fast));
		expect(err.status).toBe(503);
		expect(err.message).toMatch(/answered 503 .*Gave up after 3 attempts/);
		expect(new Set(api.requests.map((r) => r.idempotencyKey))).toEqual(new Set(['helloworld:T1:VIP-30']));
	});

	it('a 4xx is not retried and its body (which may echo a code or the token) is not quoted', async () => {
		api.faults([{ status: 409, body: { error: `already issued VIP-LEAKED-CODE-1234 for ${TOKEN}` } }]);
		const err = await failure(() => fetchApiContent(config(), order, fast));
		expect(err.status).toBe(409);
		expect(err.message).toMatch(/refused the request: 409\. Not retried/);
		expect(err.message).not.toMatch(/LEAKED|SECRET/);
		expect(api.requests).toHaveLength(1);
	});

	it.each([
		[{ status: 200, raw: 'VIP-PLAIN-TEXT-1' }, /answered 200 with something that is not JSON/],
		[{ status: 200, raw: '' }, /answered 200 with an empty body/],
		[{ status: 200, body: { data: {} } }, /without content at "data\.codes" \(nothing there\)/],
		[{ status: 200, body: { data: { codes: '   ' } } }, /without content at "data\.codes" \(an empty text\)/],
		[{ status: 200, body: { data: { codes: [] } } }, /without content at "data\.codes" \(an empty list\)/],
		[{ status: 200, body: { data: { codes: ['VIP-OK-CODE-1', ''] } } }, /\(an empty text\)/],
		[{ status: 200, body: { data: { codes: 12345678 } } }, /with a number at "data\.codes"; the content must be text/],
		[{ status: 200, body: { data: { codes: { code: 'VIP-NESTED-1' } } } }, /with a JSON object at "data\.codes"/],
		[{ status: 200, body: { data: { codes: ['VIP-OK-CODE-2', 7] } } }, /a list that holds something other than text/],
		[{ status: 200, body: 'VIP-JSON-STRING-1' }, /not JSON/],
	])('%j is a failure, never an empty delivery, and the error quotes nothing of the answer', async (answer, message) => {
		api.faults([answer]);
		const err = await failure(() => fetchApiContent(config(), order, fast));
		expect(err.message).toMatch(message);
		expect(err.message).toMatch(/Nothing was delivered\.$/);
		expect(err.message).not.toMatch(/VIP-/);
		expect(api.requests).toHaveLength(1);
	});

	it('answers twice: the same order line asked again (or twice at once) gets the same content', async () => {
		const first = await fetchApiContent(config(), order, fast);
		const again = await fetchApiContent(config(), order, fast);
		const both = await Promise.all([fetchApiContent(config(), order, fast), fetchApiContent(config(), order, fast)]);
		expect(api.requests).toHaveLength(4);
		for (const r of [again, ...both]) expect(r.items).toEqual(first.items);
		const other = await fetchApiContent(config(), { ...order, orderId: 'T2' }, fast);
		expect(other.items).not.toEqual(first.items);
	});

	it('GET sends no body; URL variables are URL-encoded', async () => {
		const { items } = await fetchApiContent(config({ method: 'GET', body: '', url: `${api.url}/codes/{orderId}` }), { ...order, orderId: 'A/B 1' }, fast);
		expect(items).toHaveLength(1);
		expect(api.requests[0]).toMatchObject({ method: 'GET', path: '/codes/A%2FB%201', rawBody: '' });
	});
});

describe('the revoke call', () => {
	it('sends the content in its body with the key <shop>:<orderId>:<sku>:revoke', async () => {
		const cfg = config({ revoke: { url: `${api.url}/revoke`, headers: { Authorization: `Bearer ${TOKEN}` }, body: '{"orderId": "{orderId}", "codes": "{deliveryContent}"}' } });
		const res = await callRevokeApi(cfg.revoke!, order, ['VIP-A', 'VIP-B'], fast);
		expect(res).toEqual({ status: 200, attempts: 1 });
		expect(api.requests[0]).toMatchObject({ path: '/revoke', idempotencyKey: 'helloworld:T1:VIP-30:revoke', body: { orderId: 'T1', codes: 'VIP-A\nVIP-B' } });
	});

	it('a failing revoke call says so without the content', async () => {
		api.faults([{ status: 500, body: { error: 'cannot revoke VIP-SECRET-CODE-77' } }, 500]);
		const cfg = config({ revoke: { url: `${api.url}/revoke`, retries: 1, body: '{"codes": "{deliveryContent}"}' } });
		const err = await failure(() => callRevokeApi(cfg.revoke!, order, ['VIP-SECRET-CODE-77'], fast));
		expect(err.message).toMatch(/^The revoke API 127\.0\.0\.1:\d+ failed: The server answered 500/);
		expect(err.message).not.toContain('VIP-SECRET');
	});
});
