/**
 * callWithRetry (nodes/core/http.ts) against real local peers: the shop peer (plain HTTP, with
 * fault injection: 5xx, 4xx, hung requests, reset connections), a closed port, and an HTTPS server
 * with a self-signed certificate. Backoff waits go through an injected sleep that records them, so
 * nothing here depends on timing.
 */
import * as net from 'node:net';

import { HttpCallError, callWithRetry, isTlsErrorCode, joinUrl } from '../../nodes/core/outbound';
import { startShopServer, type ShopPeer } from '../helpers/shopServer';
import { startTlsServer, type TlsPeer } from '../helpers/tlsServer';

let shop: ShopPeer;
let tls: TlsPeer;
const slept: number[] = [];
const sleep = async (ms: number) => void slept.push(ms);

beforeAll(async () => {
	shop = await startShopServer();
	tls = await startTlsServer();
});
afterAll(async () => {
	await shop.close();
	await tls.close();
});
beforeEach(() => {
	shop.clear();
	slept.length = 0;
});

async function failure(p: Promise<unknown>): Promise<HttpCallError> {
	try {
		await p;
	} catch (err) {
		expect(err).toBeInstanceOf(HttpCallError);
		return err as HttpCallError;
	}
	throw new Error('expected the call to fail');
}

/** A port that nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
	const srv = net.createServer();
	await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
	const port = (srv.address() as net.AddressInfo).port;
	await new Promise<void>((r) => srv.close(() => r()));
	return port;
}

describe('callWithRetry against the shop peer', () => {
	it('2xx: one call with method, JSON body and headers; the JSON answer parsed', async () => {
		const r = await callWithRetry({ method: 'post', url: `${shop.url}/orders/T1/ship?x=1`, headers: { Authorization: 'Bearer tok' }, body: { orderId: 'T1', 名: '小明' } }, sleep);
		expect(r).toMatchObject({ status: 200, attempts: 1, data: { ok: true, reference: 'SHIP-1' } });
		expect(shop.requests).toHaveLength(1);
		const [req] = shop.requests;
		expect(req).toMatchObject({ method: 'POST', path: '/orders/T1/ship', query: { x: '1' }, body: { orderId: 'T1', 名: '小明' } });
		expect(req.headers.authorization).toBe('Bearer tok');
		expect(req.headers['content-type']).toMatch(/application\/json/);
		expect(slept).toEqual([]);
	});

	it('a JSON answer keeps the exact digits of numbers a double cannot hold (a 19-digit shop reference)', async () => {
		shop.respondWith('/big', () => ({ status: 200, body: '{"reference":2840188394502391201,"n":12,"x":0.5,"dup":1,"dup":2}' }));
		const r = await callWithRetry({ method: 'post', url: `${shop.url}/big`, body: {} }, sleep);
		// a key repeated in one object is no reason to lose the answer: the last one counts, as with JSON.parse
		expect(r.data).toEqual({ reference: Number('2840188394502391201'), n: 12, x: 0.5, dup: 2 });
		shop.respondWith('/big2', () => ({ status: 200, body: '{"reference":2840188394502391201,"n":12,"x":0.5}' }));
		const r2 = await callWithRetry({ method: 'post', url: `${shop.url}/big2`, body: {} }, sleep);
		expect(r2.data).toEqual({ reference: '2840188394502391201', n: 12, x: 0.5 });
	});

	it('a raw string body keeps the caller’s Content-Type; GET sends no body', async () => {
		await callWithRetry({ method: 'PUT', url: `${shop.url}/raw`, headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: '{"a":"\\u00e9"}' }, sleep);
		await callWithRetry({ method: 'GET', url: `${shop.url}/get`, body: { ignored: true } }, sleep);
		expect(shop.requests.map((q) => [q.method, q.rawBody])).toEqual([['PUT', '{"a":"\\u00e9"}'], ['GET', '']]);
		expect(shop.requests[0].headers['content-type']).toBe('application/json; charset=utf-8');
	});

	it('500, 500, ok → 3 calls, success on the third, backoff doubling', async () => {
		shop.faults('/s', [500, 500, 'ok']);
		const r = await callWithRetry({ method: 'POST', url: `${shop.url}/s`, body: {}, backoffMs: 100 }, sleep);
		expect(r).toMatchObject({ status: 200, attempts: 3 });
		expect(shop.requests.map((q) => q.outcome)).toEqual([500, 500, 200]);
		expect(slept).toHaveLength(2);
		expect(slept[0]).toBeGreaterThanOrEqual(80);
		expect(slept[0]).toBeLessThanOrEqual(120);
		expect(slept[1]).toBeGreaterThanOrEqual(160);
		expect(slept[1]).toBeLessThanOrEqual(240);
	});

	it('4 × 5xx → gives up after 4 attempts (3 retries) with the last status', async () => {
		shop.faults('/s', [500, 502, 503, 500, 'ok']);
		const e = await failure(callWithRetry({ method: 'POST', url: `${shop.url}/s`, body: {} }, sleep));
		expect(shop.requests).toHaveLength(4);
		expect(e.status).toBe(500);
		expect(e.attempts).toBe(4);
		expect(e.message).toBe('The server answered 500 Internal Server Error. Gave up after 4 attempts.');
		expect(slept).toHaveLength(3);
	});

	it('retries is configurable: 0 retries → exactly one call', async () => {
		shop.faults('/s', [503]);
		const e = await failure(callWithRetry({ method: 'POST', url: `${shop.url}/s`, retries: 0 }, sleep));
		expect(shop.requests).toHaveLength(1);
		expect(e.message).toMatch(/503 Service Unavailable\. Gave up after 1 attempts\./);
	});

	it.each([400, 401, 404])('%i → exactly one call, never retried, the answer quoted', async (status) => {
		shop.faults('/s', [status as 400, 'ok']);
		const e = await failure(callWithRetry({ method: 'POST', url: `${shop.url}/s`, body: { a: 1 } }, sleep));
		expect(shop.requests).toHaveLength(1);
		expect(e.status).toBe(status);
		expect(e.attempts).toBe(1);
		expect(e.message).toMatch(new RegExp(`refused the request: ${status}.*Not retried`));
		expect(e.responseBody).toContain('"ok":false');
		expect(slept).toEqual([]);
	});

	it('a hung request times out and is retried', async () => {
		shop.faults('/s', ['timeout', 'ok']);
		const r = await callWithRetry({ method: 'POST', url: `${shop.url}/s`, body: {}, timeoutMs: 300 }, sleep);
		expect(r.attempts).toBe(2);
		expect(shop.requests.map((q) => q.outcome)).toEqual(['timeout', 200]);
	});

	it('timeouts only → gives up with a timeout message', async () => {
		shop.faults('/s', ['timeout', 'timeout']);
		const e = await failure(callWithRetry({ method: 'POST', url: `${shop.url}/s`, body: {}, timeoutMs: 200, retries: 1 }, sleep));
		expect(shop.requests).toHaveLength(2);
		expect(e.code).toBe('ETIMEDOUT');
		expect(e.status).toBeNull();
		expect(e.message).toBe(`No answer from 127.0.0.1:${shop.port} within 200 ms. Gave up after 2 attempts.`);
	});

	it('a dropped connection (reset) is retried', async () => {
		shop.faults('/s', ['reset', 'reset', 'ok']);
		const r = await callWithRetry({ method: 'POST', url: `${shop.url}/s`, body: {} }, sleep);
		expect(r.attempts).toBe(3);
		expect(shop.requests.map((q) => q.outcome)).toEqual(['reset', 'reset', 200]);
	});

	it('a refused connection is retried, then a clear message', async () => {
		const port = await closedPort();
		const e = await failure(callWithRetry({ method: 'POST', url: `http://127.0.0.1:${port}/s`, retries: 2 }, sleep));
		expect(e.code).toBe('ECONNREFUSED');
		expect(e.attempts).toBe(3);
		expect(e.message).toBe(`127.0.0.1:${port} refused the connection. Is the server running and the port right? Gave up after 3 attempts.`);
	});

	it('an invalid header name is a clear error, not retried', async () => {
		const e = await failure(callWithRetry({ method: 'POST', url: `${shop.url}/s`, headers: { 'X Api Key': 'value' } }, sleep));
		expect(e.attempts).toBe(1);
		expect(e.message).toMatch(/invalid name or value/);
		expect(shop.requests).toHaveLength(0);
	});

	it('bad method / URL are refused before any call', async () => {
		await expect(callWithRetry({ method: 'TRACE', url: `${shop.url}/s` }, sleep)).rejects.toThrow('HTTP method TRACE is not supported.');
		await expect(callWithRetry({ method: 'POST', url: 'ftp://x/y' }, sleep)).rejects.toThrow('is not a valid http(s) URL');
		expect(shop.requests).toHaveLength(0);
	});

	it('joinUrl joins a base and a relative path', () => {
		expect(joinUrl('http://h/api/', '/orders/1')).toBe('http://h/api/orders/1');
		expect(joinUrl('http://h/api', 'orders/1')).toBe('http://h/api/orders/1');
		expect(() => joinUrl('', '/x')).toThrow(/No base URL/);
	});
});

describe('callWithRetry and TLS', () => {
	it('a self-signed certificate is refused with a TLS message naming "Ignore SSL Issues", not retried', async () => {
		const e = await failure(callWithRetry({ method: 'GET', url: `${tls.url}/x` }, sleep));
		expect(isTlsErrorCode(e.code)).toBe(true);
		expect(e.attempts).toBe(1);
		expect(e.message).toMatch(/^TLS\/SSL problem with 127\.0\.0\.1:\d+: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\. .*Ignore SSL Issues/);
		expect(tls.requests).toHaveLength(0);
	});

	it('with ignoreSsl the same server is reached', async () => {
		const r = await callWithRetry({ method: 'GET', url: `${tls.url}/x`, ignoreSsl: true }, sleep);
		expect(r).toMatchObject({ status: 200, attempts: 1 });
		expect(tls.requests).toHaveLength(1);
	});

	it('https to a plain-HTTP server (it answers 400 to the TLS hello) is a TLS problem, not retried', async () => {
		let hellos = 0;
		const plain = net.createServer((s) => s.once('data', () => {
			hellos++;
			s.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
		}));
		await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
		try {
			const port = (plain.address() as net.AddressInfo).port;
			const e = await failure(callWithRetry({ method: 'GET', url: `https://127.0.0.1:${port}/x` }, sleep));
			expect(isTlsErrorCode(e.code)).toBe(true);
			expect(e.message).toMatch(/TLS\/SSL problem .*http\/https scheme/);
			expect(e.attempts).toBe(1);
			expect(hellos).toBe(1);
		} finally {
			await new Promise<void>((r) => plain.close(() => r()));
		}
	});
});

describe('callWithRetry and redirects', () => {
	it('does not follow a redirect (custom auth headers must never reach another host)', async () => {
		const other = await startShopServer();
		const http = await import('node:http');
		const redirector = http.createServer((_req, res) => {
			res.writeHead(302, { Location: `${other.url}/steal` });
			res.end();
		});
		await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', () => r()));
		const port = (redirector.address() as net.AddressInfo).port;
		try {
			const err = await failure(callWithRetry({ method: 'POST', url: `http://127.0.0.1:${port}/ship`, headers: { 'X-Api-Key': 'secret-api-key' }, body: { a: 1 } }, sleep));
			expect(err.status).toBe(302);
			expect(err.attempts).toBe(1);
			expect(err.message).toMatch(/redirect/i);
			expect(other.requests).toHaveLength(0);
		} finally {
			await new Promise<void>((r) => redirector.close(() => r()));
			await other.close();
		}
	});
});
