/**
 * Issue point 4: keys are redacted from the whole text first, and only then is the text shortened.
 * Shortening first cuts a key that straddles the cut in two; the first part no longer matches the
 * key and stays readable (28 of 29 characters reached the error). Here: the core functions, with
 * the key at every offset around each cut, in every form a server may echo it in, against real
 * local peers (HTTP) and a real SQLite store (the stored error text).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import { maskKey, redactAndClip, redactSecrets } from '../../nodes/core/secrets';
import { HttpCallError, callWithRetry } from '../../nodes/core/outbound';
import { KeyStore } from '../../nodes/core/store';
import { describeMailError } from '../../nodes/core/outbound';
import { refusalIn } from '../../nodes/core/delivery';
import { dropStore, storeConfig } from '../helpers/db';
import { startShopServer, type ShopPeer } from '../helpers/shopServer';

/** Looks like a real key: 33 characters, with `/` and `+` (base64) so encodings differ. */
const KEY = 'Q7/x+Kp2Vn9Lw3Rt8Zb1Mc4Hd6Jf0Gs5y';
/** Every character that JSON, URLs and HTML escape, and non-ASCII. */
const ODD = 'Ab"c\\d é<&>\'/卡密-9f8e7d6c5b4a3z2y1x0w';

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
const json = (s: string) => JSON.stringify(s).slice(1, -1);
const php = (s: string) => json(s).replace(/\//g, '\\/').replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const lowerHex = (s: string) => s.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());

/** The forms a server may echo a key in. */
function forms(key: string): Array<[string, string]> {
	return [
		['as sent', key],
		['JSON-escaped', json(key)],
		['JSON-escaped twice (an error string quoting the body)', json(json(key))],
		['PHP json_encode (\\/ and \\uXXXX)', php(key)],
		['PHP json_encode, upper-case \\uXXXX', php(key).replace(/\\u([0-9a-f]{4})/g, (_m, h: string) => `\\u${h.toUpperCase()}`)],
		['URL-encoded', encodeURIComponent(key)],
		['URL-encoded, lower-case hex', lowerHex(encodeURIComponent(key))],
		['form-encoded (+ for a space)', new URLSearchParams({ k: key }).toString().slice(2)],
		['URL-encoded twice', encodeURIComponent(encodeURIComponent(key))],
		['HTML-escaped', escapeHtml(key)],
		['HTML numeric entities', Array.from(key, (c) => (/[a-z0-9]/i.test(c) ? c : `&#${c.codePointAt(0)};`)).join('')],
	];
}

const pieceSets = new Map<string, Set<string>>();
/** Every 6-character piece of the keys, also of their escaped forms (not pieces made of escape syntax only). */
function piecesOf(keys: string[]): Set<string> {
	const id = keys.join('\u0000');
	let set = pieceSets.get(id);
	if (!set) {
		set = new Set<string>();
		for (const k of keys) {
			for (const [, form] of [['', k], ...forms(k)]) {
				for (let i = 0; i + 6 <= form.length; i++) {
					const piece = form.slice(i, i + 6);
					if (/[A-Za-z0-9]{2}/.test(piece.replace(/%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}|&#?\w+;/g, ''))) set.add(piece);
				}
			}
		}
		pieceSets.set(id, set);
	}
	return set;
}
/** The pieces of the keys found in `text` (empty: nothing leaked). */
function leaksOf(text: string, keys: string[]): string[] {
	const pieces = piecesOf(keys);
	const found = new Set<string>();
	for (let i = 0; i + 6 <= text.length; i++) if (pieces.has(text.slice(i, i + 6))) found.add(text.slice(i, i + 6));
	return [...found];
}
const expectNoLeak = (where: string, text: string, keys = [KEY, ODD]) => expect({ where, leaked: leaksOf(text, keys) }).toEqual({ where, leaked: [] });

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('redactSecrets: every echo form of a key', () => {
	it.each([KEY, ODD].flatMap((k) => forms(k).map(([name, form]) => [name, k, form])))('%s (%s)', (_name, key, form) => {
		const out = redactSecrets(`before ${form} after`, [key]);
		expect(out).toBe(`before ${maskKey(key)} after`);
	});

	it('a key whose only "/" is its first character, PHP-escaped: the key as it is follows the "\\" and is masked there', () => {
		const key = '/oh3Kp2Vn9Lw3Rt8Zb1Mc4Hd6Jfb0f7';
		expect(php(key)).toBe(`\\${key}`);
		expect(redactSecrets(`"msg":"${php(key)}"`, [key])).toBe(`"msg":"\\${maskKey(key)}"`);
	});

	it('several keys, the longer first; short secrets are left alone', () => {
		expect(redactSecrets(`${KEY} / ${json(ODD)} / abc`, [ODD, KEY, 'abc'])).toBe(`${maskKey(KEY)} / ${maskKey(ODD)} / abc`);
	});
});

describe('redactAndClip: redact the whole text, then shorten', () => {
	it.each([KEY, ODD].flatMap((k) => forms(k).map(([name, form]) => [name, k, form])))('a key %s (%s) at every offset from 150 to 230 around the 200 cut', (_name, key, form) => {
		for (const offset of range(150, 230)) {
			const text = 'a'.repeat(offset) + form + ' and the rest of the answer ' + 'z'.repeat(300);
			const out = redactAndClip(text, [key], 200);
			expect(out.length).toBeLessThanOrEqual(200);
			expect(out.startsWith('a'.repeat(Math.min(offset, 200)))).toBe(true);
			expectNoLeak(`offset ${offset}`, out, [key]);
			if (offset + maskKey(key).length <= 200) expect(out).toContain(maskKey(key));
		}
	});

	it('the order matters: shortening first leaves most of the key readable (the bug)', () => {
		const text = 'a'.repeat(171) + KEY + 'z'.repeat(100);
		expect(leaksOf(redactSecrets(text.slice(0, 200), [KEY]), [KEY]).length).toBeGreaterThan(0);
		expect(leaksOf(redactAndClip(text, [KEY], 200), [KEY])).toEqual([]);
	});

	it('a long text: keys cut by the redaction window never show, however much earlier keys shrink', () => {
		const keys = Array.from({ length: 80 }, (_, i) => `${String(i).padStart(3, '0')}-${'Zq8Lm2Xv5Nb7Kc1Hj4Gf6Dp9Sw3Ry0Ta'.repeat(2)}`);
		for (const pad of range(0, 68).filter((p) => p % 4 === 0)) {
			const text = 'x'.repeat(pad) + keys.join(' ') + 'y'.repeat(5000);
			for (const max of [200, 1000]) {
				const out = redactAndClip(text, keys, max);
				expect(out.length).toBeLessThanOrEqual(max);
				expectNoLeak(`pad ${pad}, max ${max}`, out, keys);
			}
		}
		// a 5 MB error page: the start is redacted and shown
		const big = `Error: ${KEY} ` + 'y'.repeat(5 * 1024 * 1024);
		expect(redactAndClip(big, [KEY], 200)).toBe(`Error: ${maskKey(KEY)} ` + 'y'.repeat(200 - 8 - maskKey(KEY).length));
	});
});

describe('refusalIn (IM bots answering 200 with an error): the reason is redacted before it is shortened', () => {
	it.each([
		['errcode/errmsg', (t: string) => ({ errcode: 310000, errmsg: t })],
		['ok: false/description', (t: string) => ({ ok: false, description: t })],
	])('%s, the key at every offset from 150 to 230', (_name, answer) => {
		for (const offset of range(150, 230)) {
			const reason = refusalIn(answer(`invalid content: ${'p'.repeat(offset - 17)}${KEY} end`), [KEY]) as string;
			expect(reason).toMatch(/^(errcode 310000: |ok: false \()invalid content: ppp/);
			expectNoLeak(`offset ${offset}`, reason);
		}
	});
});

describe('describeMailError: SMTP replies and error texts are redacted before they are shortened', () => {
	const where = { host: 'smtp.example.com', port: 465 };
	const err = (fields: Record<string, unknown>) => Object.assign(new Error(String(fields.message ?? 'x')), fields);
	it.each([
		['550 reply (cut at 200)', 200, (t: string) => ({ code: 'EMESSAGE', responseCode: 550, response: `550 5.7.1 ${t}` }), /rejected the message \(550 5\.7\.1 Message refused: ppp/],
		['451 reply (cut at 200)', 200, (t: string) => ({ code: 'EMESSAGE', responseCode: 451, response: `451 4.7.1 ${t}` }), /deferred the message \(451 4\.7\.1 Message refused: ppp/],
		['other failure (cut at 200)', 200, (t: string) => ({ code: 'EOTHER', message: t }), /failed: Message refused: ppp/],
		['dropped connection (cut at 160)', 160, (t: string) => ({ code: 'ECONNECTION', message: t }), /\(ECONNECTION: Message refused: ppp/],
		['timeout (cut at 120)', 120, (t: string) => ({ code: 'ETIMEDOUT', message: `timeout ${t}` }), /no answer in time \(timeout Message refused: ppp/],
	])('%s, the key at every offset around the cut', (_name, cut, fields, says) => {
		for (const offset of range(cut - 50, cut + 30)) {
			const text = `Message refused: ${'p'.repeat(offset - 17)}${KEY} and more`;
			const e = describeMailError(where, err(fields(text)), [KEY]);
			expect(e.message).toMatch(says);
			expectNoLeak(`offset ${offset}`, e.message);
		}
	});
});

describe('callWithRetry with secrets: an answer echoing the request', () => {
	let shop: ShopPeer;
	const sleep = async () => undefined;
	beforeAll(async () => {
		shop = await startShopServer();
	});
	afterAll(async () => {
		await shop.close();
	});
	beforeEach(() => shop.clear());

	async function failure(p: Promise<unknown>): Promise<HttpCallError> {
		try {
			await p;
		} catch (e) {
			expect(e).toBeInstanceOf(HttpCallError);
			return e as HttpCallError;
		}
		throw new Error('expected the call to fail');
	}
	/** A JSON body whose echo has the key at `offset`. */
	const body = (offset: number) => `{"pad":"${'p'.repeat(offset - 17)}","msg":"${json(KEY)}","n":1}`;

	it('400: the message shows the status and the start of the answer, the key masked, at every offset around the 200 and 500 cuts', async () => {
		shop.respondWith('/echo', (req) => ({ status: 400, body: req.rawBody }));
		for (const offset of [...range(150, 230), ...range(460, 530)]) {
			const e = await failure(callWithRetry({ method: 'POST', url: `${shop.url}/echo`, headers: { 'Content-Type': 'application/json' }, body: body(offset), retries: 0, secrets: [KEY] }, sleep));
			expect(e.status).toBe(400);
			expect(e.message).toMatch(/^The server refused the request: 400 Bad Request — \{"pad":"ppp/);
			expectNoLeak(`message, offset ${offset}`, e.message);
			expectNoLeak(`responseBody, offset ${offset}`, e.responseBody ?? '');
			if (offset + maskKey(KEY).length <= 200) expect(e.message).toContain(maskKey(KEY));
			if (offset + maskKey(KEY).length <= 500) expect(e.responseBody).toContain(maskKey(KEY));
		}
	});

	it('500 on every attempt: the answer kept with the error is redacted too', async () => {
		shop.respondWith('/echo500', (req) => ({ status: 500, body: { error: 'boom', request: req.rawBody } }));
		for (const offset of [...range(180, 200), ...range(470, 500)]) {
			const e = await failure(callWithRetry({ method: 'POST', url: `${shop.url}/echo500`, headers: { 'Content-Type': 'application/json' }, body: body(offset), retries: 1, secrets: [KEY] }, sleep));
			expect(e.message).toBe('The server answered 500 Internal Server Error. Gave up after 2 attempts.');
			expectNoLeak(`responseBody, offset ${offset}`, e.responseBody ?? '');
		}
	});

	it('a redirect whose Location carries the key (URL-encoded) is redacted before it is shortened', async () => {
		let offset = 0;
		const server = http.createServer((_req, res) => {
			res.writeHead(302, { Location: `http://other.example/${'p'.repeat(offset - 20)}?k=${encodeURIComponent(KEY)}` });
			res.end();
		});
		await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
		const port = (server.address() as AddressInfo).port;
		try {
			for (offset of range(160, 230)) {
				const e = await failure(callWithRetry({ method: 'POST', url: `http://127.0.0.1:${port}/x`, body: { a: 1 }, secrets: [KEY] }, sleep));
				expect(e.message).toMatch(/answered 302 \(a redirect to http:\/\/other\.example\/ppp/);
				expectNoLeak(`offset ${offset}`, e.message);
			}
		} finally {
			await new Promise<void>((r) => server.close(() => r()));
		}
	});
});

describe('KeyStore: the stored error text (last_error, send_failed / ship_failed events) is redacted before it is shortened', () => {
	const cfg = storeConfig('sqlite');
	let store: KeyStore;
	// long keys (64 characters): each masked one shrinks by 55, so text from far behind the cut moves up
	const keys = Array.from({ length: 90 }, (_, i) => `LONG-${String(i).padStart(3, '0')}-${'h7Rk2Pq9Wm4Tx6Vz1Nc8Bd3Fg5Js0Ly'.repeat(2).slice(0, 55)}`);
	beforeAll(async () => {
		store = await KeyStore.open(cfg);
		await store.importKeys({ sku: 'LONG', keys });
	});
	afterAll(async () => {
		await store.close();
		await dropStore(cfg);
	});

	it('an answer echoing all 80 keys of a delivery: no piece of any key in last_error or the events, whatever the offsets', async () => {
		const r = await store.claim({ orderId: 'BULK-1', sku: 'LONG', quantity: 80, reveal: true });
		if (!r.delivered) throw new Error(r.reason);
		const delivered = r.delivery.keys.map((k) => k.key as string);
		for (const pad of range(0, 64).filter((p) => p % 3 === 0)) {
			const text = `Webhook POST https://hook.example/x failed: The server refused the request: 400 — ${'p'.repeat(pad)}${delivered.join(' ')}`;
			const failed = await store.markSendFailed(r.delivery.id, null, { channel: 'webhook', error: text });
			expect(failed.lastError!.length).toBeLessThanOrEqual(1000);
			expect(failed.lastError).toMatch(/^Webhook POST https:\/\/hook\.example\/x failed: The server refused the request: 400 — p*LONG/);
			expectNoLeak(`send, pad ${pad}`, failed.lastError!, delivered);
			const shipFailed = await store.markShipFailed(r.delivery.id, null, { error: text, status: 400 });
			expectNoLeak(`ship, pad ${pad}`, shipFailed.lastError!, delivered);
		}
		const events = await store.listEvents({ orderId: 'BULK-1' });
		expect(events.filter((e) => e.type === 'send_failed' || e.type === 'ship_failed')).toHaveLength(2 * 22);
		expectNoLeak('events', JSON.stringify(events), delivered);
	});
});
