/**
 * nodes/core/webhook.ts: the request → decision algorithm of Shop Webhook, without n8n.
 * Every rejection must say which field is wrong, emit nothing, and never echo a secret.
 */
import { createHmac } from 'crypto';
import { PassThrough } from 'stream';

import { ValidationError } from '../../nodes/core/errors';
import { parseOrderEvent } from '../../nodes/core/intake';
import { signPayload } from '../../nodes/core/intake';
import {
	WebhookConfigError,
	decideWebhook,
	decideWithoutBody,
	headerValue,
	readRawBody,
	resolveWebhookSettings,
	webhookItems,
	type WebhookDecision,
	type WebhookRequest,
	type WebhookSettings,
} from '../../nodes/core/intake';
import { EXAMPLE_ORDER } from '../helpers/orders';

const SECRET = 'whsec-test-7f3a91c4e2b8';
const NOW_S = 1_800_000_000;
const NOW_MS = NOW_S * 1000;

const EXAMPLE = EXAMPLE_ORDER;

const BASE: WebhookSettings = { secret: SECRET };

/** A request signed like the shop does (DESIGN §7), over exactly `raw`. */
function signed(
	raw: string | Buffer,
	over: { ts?: number | string; secret?: string; headers?: Record<string, string | undefined>; method?: string } = {},
): WebhookRequest {
	const ts = String(over.ts ?? NOW_S);
	return {
		method: over.method ?? 'POST',
		headers: {
			'content-type': 'application/json',
			'x-timestamp': ts,
			'x-signature': signPayload(over.secret ?? SECRET, ts, raw),
			...over.headers,
		},
		rawBody: raw,
		now: NOW_MS,
	};
}

const json = (body: unknown) => JSON.stringify(body);

function rejected(d: WebhookDecision, status: number) {
	if (d.action !== 'reject') throw new Error(`expected a ${status} rejection, got ${d.action}: ${json(d)}`);
	expect(d.status).toBe(status);
	// nothing emitted: a rejection carries no order and no items
	expect(d).not.toHaveProperty('items');
	expect(d).not.toHaveProperty('order');
	expect(d.headers['Content-Type']).toBe('application/json; charset=utf-8');
	return d.body;
}

function accepted(d: WebhookDecision) {
	if (d.action !== 'accept') throw new Error(`expected accept, got ${json(d)}`);
	return d;
}

function ignored(d: WebhookDecision) {
	if (d.action !== 'ignore') throw new Error(`expected ignore, got ${json(d)}`);
	expect(d.status).toBe(200);
	expect(d).not.toHaveProperty('items');
	return d.body;
}

/** Promise 6: no response names the secret or the signature the server expected. */
function expectNoSecret(d: WebhookDecision, req: WebhookRequest, secret = SECRET) {
	const text = json(d);
	expect(text).not.toContain(secret);
	const ts = headerValue(req.headers, 'x-timestamp') ?? '';
	const expected = createHmac('sha256', secret).update(`${ts}.`).update(req.rawBody ?? '').digest('hex');
	expect(text).not.toContain(expected);
	expect(text).not.toContain(expected.slice(0, 16));
}

describe('decideWebhook: a valid signed order', () => {
	it('accepts the DESIGN §7 example and emits one item per order line', () => {
		const d = accepted(decideWebhook(signed(json(EXAMPLE)), BASE));
		expect(d.ack).toEqual({ received: true, orderId: 'T20261123001' });
		expect(d.order.event).toBe('order.paid');
		expect(d.items).toEqual([
			{
				event: 'order.paid',
				orderId: 'T20261123001',
				shop: 'helloworld',
				buyer: { id: 'u123', name: '小明', email: 'buyer@example.com', ip: '203.0.113.7' },
				amount: 100,
				currency: 'CNY',
				paidAt: '2026-11-23T10:00:00.000Z',
				sku: 'STEAM-50',
				name: 'Steam 50',
				quantity: 2,
				price: 50,
				line: 0,
				lines: 1,
			},
		]);
	});

	it('emits per-line items with line/lines, merged duplicate skus, and a buyer object even without buyer', () => {
		const body = {
			event: 'order.paid',
			orderId: 'T2',
			items: [
				{ sku: 'A', quantity: 1 },
				{ sku: 'B', quantity: '3', price: 9.5 },
				{ sku: 'A', quantity: 2 },
			],
		};
		const d = accepted(decideWebhook(signed(json(body)), BASE));
		expect(d.items.map((i) => ('sku' in i ? [i.sku, i.quantity, i.line, i.lines] : null))).toEqual([
			['A', 3, 0, 2],
			['B', 3, 1, 2],
		]);
		for (const item of d.items) {
			expect(item.buyer).toEqual({ id: null, name: null, email: null, ip: null });
			expect(item).toMatchObject({ shop: null, amount: null, currency: null, paidAt: null });
		}
		// each item has its own buyer object
		expect(d.items[0].buyer).not.toBe(d.items[1].buyer);
	});

	it('emits one item per order with "one item per order"', () => {
		const d = accepted(decideWebhook(signed(json(EXAMPLE)), { ...BASE, paidOutput: 'order' }));
		expect(d.items).toEqual([
			{
				event: 'order.paid',
				orderId: 'T20261123001',
				shop: 'helloworld',
				buyer: EXAMPLE.buyer,
				amount: 100,
				currency: 'CNY',
				paidAt: '2026-11-23T10:00:00.000Z',
				items: [{ sku: 'STEAM-50', name: 'Steam 50', quantity: 2, price: 50 }],
			},
		]);
	});

	it('emits a refund as one item per order (quantity null = whole line)', () => {
		const body = { event: 'order.refunded', orderId: 'T1', items: [{ sku: 'A' }, { sku: 'B', quantity: 1 }] };
		const d = accepted(decideWebhook(signed(json(body)), { ...BASE, events: 'order.refunded' }));
		expect(d.items).toEqual([
			{
				event: 'order.refunded',
				orderId: 'T1',
				shop: null,
				buyer: { id: null, name: null, email: null, ip: null },
				amount: null,
				currency: null,
				paidAt: null,
				items: [
					{ sku: 'A', quantity: null },
					{ sku: 'B', quantity: 1 },
				],
			},
		]);
		// a refund with only the order id
		const only = accepted(decideWebhook(signed(json({ event: 'order.refunded', orderId: 'T1' })), { ...BASE, events: 'any' }));
		expect(only.items).toHaveLength(1);
		expect(only.items[0]).toMatchObject({ event: 'order.refunded', orderId: 'T1', items: [] });
	});

	it('verifies the exact raw bytes: whitespace, key order, a BOM and non-ASCII text as sent', () => {
		const raw = '\ufeff{ "orderId" : "T3",\r\n  "event":"order.paid", "items":[{"quantity":1,"sku":"卡密-1"}] }';
		const d = accepted(decideWebhook(signed(Buffer.from(raw, 'utf8')), BASE));
		expect(d.order.orderId).toBe('T3');
		// the same JSON re-serialised is NOT what was signed
		const req = signed(raw);
		req.rawBody = JSON.stringify(JSON.parse(raw.slice(1)));
		expect(rejected(decideWebhook(req, BASE), 401).reason).toBe('mismatch');
	});

	it('accepts application/json with utf-8 charset, +json types, and any type with acceptAnyContentType', () => {
		for (const type of ['application/json; charset=utf-8', 'Application/JSON;charset="UTF-8"', 'application/vnd.shop.order+json']) {
			accepted(decideWebhook(signed(json(EXAMPLE), { headers: { 'content-type': type } }), BASE));
		}
		for (const type of ['text/plain', undefined]) {
			accepted(decideWebhook(signed(json(EXAMPLE), { headers: { 'content-type': type } }), { ...BASE, acceptAnyContentType: true }));
		}
	});

	it('can run without a signature check (no secret needed)', () => {
		const req: WebhookRequest = { method: 'POST', headers: { 'content-type': 'application/json' }, rawBody: json(EXAMPLE) };
		expect(accepted(decideWebhook(req, { verifySignature: false })).items).toHaveLength(1);
	});

	it('reads headers case-insensitively and joins repeated ones', () => {
		const req = signed(json(EXAMPLE));
		const h = req.headers;
		req.headers = { 'Content-Type': h['content-type'], 'X-TIMESTAMP': h['x-timestamp'], 'X-Signature': h['x-signature'] };
		accepted(decideWebhook(req, BASE));
		expect(headerValue({ 'x-a': ['1', '2'] }, 'X-A')).toBe('1, 2');
		// a repeated signature header is not a valid signature
		const twice = signed(json(EXAMPLE));
		twice.headers['x-signature'] = [String(twice.headers['x-signature']), String(twice.headers['x-signature'])];
		expect(rejected(decideWebhook(twice, BASE), 401).reason).toBe('bad_format');
	});
});

describe('decideWebhook: signature failures → 401, nothing emitted, no secret echoed', () => {
	const raw = json(EXAMPLE);

	const cases: Array<[string, () => WebhookRequest, string, string]> = [
		['missing signature', () => signed(raw, { headers: { 'x-signature': undefined } }), 'missing_signature', 'x-signature'],
		['empty signature', () => signed(raw, { headers: { 'x-signature': '' } }), 'missing_signature', 'x-signature'],
		['missing timestamp', () => signed(raw, { headers: { 'x-timestamp': undefined } }), 'missing_timestamp', 'x-timestamp'],
		['forged (other secret)', () => signed(raw, { secret: 'not-the-shop-secret' }), 'mismatch', 'x-signature'],
		['expired (301 s old)', () => signed(raw, { ts: NOW_S - 301 }), 'expired', 'x-timestamp'],
		['future (301 s ahead)', () => signed(raw, { ts: NOW_S + 301 }), 'expired', 'x-timestamp'],
		['bad format (no sha256= prefix)', () => {
			const r = signed(raw);
			r.headers['x-signature'] = String(r.headers['x-signature']).slice('sha256='.length);
			return r;
		}, 'bad_format', 'x-signature'],
		['bad format (sha1=)', () => {
			const r = signed(raw);
			r.headers['x-signature'] = String(r.headers['x-signature']).replace('sha256=', 'sha1=');
			return r;
		}, 'bad_format', 'x-signature'],
		['milliseconds timestamp', () => signed(raw, { ts: NOW_MS }), 'bad_timestamp', 'x-timestamp'],
		['non-numeric timestamp', () => signed(raw, { ts: '2026-11-23T10:00:00Z' }), 'bad_timestamp', 'x-timestamp'],
		['truncated signature', () => {
			const r = signed(raw);
			r.headers['x-signature'] = String(r.headers['x-signature']).slice(0, -2);
			return r;
		}, 'mismatch', 'x-signature'],
		['signature for another timestamp', () => {
			const r = signed(raw);
			r.headers['x-timestamp'] = String(NOW_S - 1);
			return r;
		}, 'mismatch', 'x-signature'],
	];

	it.each(cases)('%s', (_name, make, reason, field) => {
		const req = make();
		const d = decideWebhook(req, BASE);
		const body = rejected(d, 401);
		expect(body.reason).toBe(reason);
		expect(body.field).toBe(field);
		expect(body.error).toEqual(expect.any(String));
		expectNoSecret(d, req);
	});

	it('a body changed by one byte (at every position of the body) is a mismatch', () => {
		const req = signed(Buffer.from(raw, 'utf8'));
		const original = req.rawBody as Buffer;
		let checked = 0;
		for (let i = 0; i < original.length; i += 7) {
			const tampered = Buffer.from(original);
			tampered[i] ^= 0x01;
			const d = decideWebhook({ ...req, rawBody: tampered }, BASE);
			expect(rejected(d, 401).reason).toBe('mismatch');
			checked++;
		}
		// and one byte appended / removed
		expect(rejected(decideWebhook({ ...req, rawBody: Buffer.concat([original, Buffer.from(' ')]) }, BASE), 401).reason).toBe('mismatch');
		expect(rejected(decideWebhook({ ...req, rawBody: original.subarray(0, -1) }, BASE), 401).reason).toBe('mismatch');
		expect(checked).toBeGreaterThan(20);
	});

	it('accepts the tolerance edges and honours a custom tolerance', () => {
		accepted(decideWebhook(signed(raw, { ts: NOW_S - 300 }), BASE));
		accepted(decideWebhook(signed(raw, { ts: NOW_S + 300 }), BASE));
		expect(rejected(decideWebhook(signed(raw, { ts: NOW_S - 61 }), { ...BASE, toleranceSeconds: 60 }), 401).reason).toBe('expired');
		accepted(decideWebhook(signed(raw, { ts: NOW_S - 3600 }), { ...BASE, toleranceSeconds: 3600 }));
	});

	it('uses configured header names, also in messages and the field', () => {
		const ts = String(NOW_S);
		const req: WebhookRequest = {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'x-shop-time': ts, 'x-shop-sign': signPayload(SECRET, ts, raw) },
			rawBody: raw,
			now: NOW_MS,
		};
		const settings = { ...BASE, signatureHeader: 'X-Shop-Sign', timestampHeader: 'X-Shop-Time' };
		accepted(decideWebhook(req, settings));
		// the default headers are not looked at any more
		const missing = rejected(decideWebhook(signed(raw), settings), 401);
		expect(missing).toEqual({
			error: 'The X-Shop-Sign header is missing: the request was not signed, so it was rejected.',
			field: 'x-shop-sign',
			reason: 'missing_signature',
		});
		const ms = rejected(decideWebhook({ ...req, headers: { ...req.headers, 'x-shop-time': String(NOW_MS) } }, settings), 401);
		expect(ms.error).toMatch(/X-Shop-Time header is not a unix time in whole seconds \(it looks like milliseconds/);
	});

	it('checks the signature before the payload: an unsigned malformed order is a 401, not a 400', () => {
		const req = signed('{"event":"order.paid"', { headers: { 'x-signature': undefined } });
		expect(rejected(decideWebhook(req, BASE), 401).reason).toBe('missing_signature');
		const forgedBadQty = signed(json({ ...EXAMPLE, items: [{ sku: 'A', quantity: 0 }] }), { secret: 'x'.repeat(20) });
		expect(rejected(decideWebhook(forgedBadQty, BASE), 401).reason).toBe('mismatch');
	});
});

describe('decideWebhook: bad payloads → 400 naming the field, nothing emitted', () => {
	const bad = (body: unknown, settings: WebhookSettings = BASE) => {
		const req = signed(typeof body === 'string' ? body : json(body));
		const d = decideWebhook(req, settings);
		const b = rejected(d, 400);
		expect(b.error.startsWith(b.field ?? '')).toBe(true);
		expectNoSecret(d, req);
		return b;
	};

	it('missing orderId', () => {
		for (const orderId of [undefined, null, '', '  ']) {
			expect(bad({ ...EXAMPLE, orderId })).toEqual({ error: 'orderId is required.', field: 'orderId' });
		}
	});

	it.each([
		['0', 0],
		['negative', -1],
		['fractional', 1.5],
		['a word', 'two'],
		['digits with letters', '2x'],
		['a boolean', true],
		['over 1000', 1001],
	])('quantity %s', (_name, quantity) => {
		const b = bad({ ...EXAMPLE, items: [{ sku: 'A', quantity: 1 }, { sku: 'B', quantity }] });
		expect(b.field).toBe('items[1].quantity');
		expect(b.error).toMatch(/^items\[1\]\.quantity /);
	});

	it('unknown event', () => {
		const b = bad({ ...EXAMPLE, event: 'order.shipped' });
		expect(b.field).toBe('event');
		expect(b.error).toMatch(/order\.paid.*order\.refunded.*order\.shipped/);
		expect(bad({ ...EXAMPLE, event: undefined }).field).toBe('event');
	});

	it('empty items, missing items, items not an array, an item not an object, a missing sku', () => {
		expect(bad({ ...EXAMPLE, items: [] })).toEqual({ error: 'items is empty: a paid order needs at least one item.', field: 'items' });
		expect(bad({ ...EXAMPLE, items: undefined }).field).toBe('items');
		expect(bad({ ...EXAMPLE, items: 'STEAM-50' }).field).toBe('items');
		expect(bad({ ...EXAMPLE, items: ['STEAM-50'] }).field).toBe('items[0]');
		expect(bad({ ...EXAMPLE, items: [{ quantity: 1 }] }).field).toBe('items[0].sku');
	});

	it('other fields: buyer email, ip, amount, currency, paidAt', () => {
		expect(bad({ ...EXAMPLE, buyer: { email: 'nope' } }).field).toBe('buyer.email');
		expect(bad({ ...EXAMPLE, buyer: { ip: '999.1.1.1' } }).field).toBe('buyer.ip');
		expect(bad({ ...EXAMPLE, buyer: 'u1' }).field).toBe('buyer');
		expect(bad({ ...EXAMPLE, amount: -1 }).field).toBe('amount');
		expect(bad({ ...EXAMPLE, currency: 'RMB1' }).field).toBe('currency');
		expect(bad({ ...EXAMPLE, paidAt: 'yesterday' }).field).toBe('paidAt');
	});

	it('non-JSON, an empty body, and JSON that is not an object', () => {
		expect(bad('event=order.paid&orderId=T1')).toEqual({ error: 'body is not valid JSON.', field: 'body' });
		expect(bad('{"event":"order.paid",')).toEqual({ error: 'body is not valid JSON.', field: 'body' });
		expect(bad('')).toEqual({ error: 'body is empty: expected a JSON order.', field: 'body' });
		expect(bad('[1,2]').field).toBe('body');
		expect(bad('"order"').field).toBe('body');
		const none = decideWebhook({ ...signed(''), rawBody: null }, BASE);
		expect(rejected(none, 400).field).toBe('body');
	});

	it('JSON nested 10,000 levels deep is a 400 saying so (not "not valid JSON", not a stack overflow); 100 levels still parse', () => {
		const tooDeep = { error: 'body is nested too deeply (more than 100 levels of objects and arrays).', field: 'body' };
		expect(bad('['.repeat(10_000) + ']'.repeat(10_000))).toEqual(tooDeep);
		expect(bad(json({ ...EXAMPLE, note: 'x' }).replace('"x"', '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000)))).toEqual(tooDeep);
		expect(bad('{"a":'.repeat(101) + '1' + '}'.repeat(101))).toEqual(tooDeep);
		// truncated: deep and unterminated is still "too deep", never a RangeError
		expect(bad('['.repeat(200_000))).toEqual(tooDeep);
		// brackets inside strings (escaped quotes too) do not count; 99 levels under the order object parse
		const inText = { ...EXAMPLE, buyer: { ...EXAMPLE.buyer, name: '[[[{"\\"'.repeat(20) } };
		expect(accepted(decideWebhook(signed(json(inText)), BASE)).order.buyer?.name).toBe(inText.buyer.name.trim());
		const deepOk = json({ ...EXAMPLE, note: 'x' }).replace('"x"', '['.repeat(99) + ']'.repeat(99));
		expect(accepted(decideWebhook(signed(deepOk), BASE)).order.orderId).toBe(EXAMPLE.orderId);
	});

	it('a mapping that points nowhere names the canonical field and the shop path', () => {
		const settings: WebhookSettings = { ...BASE, mapping: { orderId: 'data.tid', items: 'data.orders' } };
		const b = bad({ event: 'order.paid', data: { orders: [{ sku: 'A', quantity: 1 }] } }, settings);
		expect(b).toEqual({ error: 'orderId (from "data.tid") is required.', field: 'orderId' });
		const items = bad({ event: 'order.paid', data: { tid: 'T1' } }, settings);
		expect(items.field).toBe('items');
		expect(items.error).toMatch(/^items \(from "data\.orders"\) is required/);
		const event = bad({ ...EXAMPLE }, { ...BASE, mapping: { event: 'type' } });
		expect(event.field).toBe('event');
		expect(event.error).toMatch(/^event \(from "type"\) is required/);
	});

	it('maps a differently shaped shop order, with event values', () => {
		const settings: WebhookSettings = {
			...BASE,
			mapping: { event: 'type', orderId: 'data.tid', items: 'data.orders', 'items.sku': 'outer_sku', 'items.quantity': 'num', 'buyer.email': 'data.buyer_email' },
			eventValues: { TRADE_PAID: 'order.paid', REFUND_SUCCESS: 'order.refunded', TRADE_CLOSED: 'ignore' },
			events: 'any',
		};
		const shopBody = { type: 'TRADE_PAID', data: { tid: 99887766, buyer_email: 'b@example.com', orders: [{ outer_sku: 'STEAM-50', num: 2 }] } };
		const d = accepted(decideWebhook(signed(json(shopBody)), settings));
		expect(d.items).toEqual([
			expect.objectContaining({ event: 'order.paid', orderId: '99887766', sku: 'STEAM-50', quantity: 2, buyer: { id: null, name: null, email: 'b@example.com', ip: null } }),
		]);
		const refund = accepted(decideWebhook(signed(json({ ...shopBody, type: 'REFUND_SUCCESS' })), settings));
		expect(refund.items[0]).toMatchObject({ event: 'order.refunded', orderId: '99887766', items: [{ sku: 'STEAM-50', quantity: 2 }] });
		const closed = ignored(decideWebhook(signed(json({ ...shopBody, type: ' TRADE_CLOSED ' })), settings));
		expect(closed).toEqual({ ignored: true, event: 'TRADE_CLOSED', message: 'Event "TRADE_CLOSED" is acknowledged and ignored by this webhook.' });
		const bad400 = rejected(decideWebhook(signed(json({ ...shopBody, data: { ...shopBody.data, orders: [{ outer_sku: 'X', num: 0 }] } })), settings), 400);
		expect(bad400.field).toBe('items[0].quantity');
		expect(bad400.error).toMatch(/^items\[0\]\.quantity \(from "data\.orders\[0\]\.num"\)/);
		const unknown = rejected(decideWebhook(signed(json({ ...shopBody, type: 'TRADE_FINISHED' })), settings), 400);
		expect(unknown.field).toBe('event');
		expect(unknown.error).toMatch(/TRADE_FINISHED/);
	});
});

describe('decideWebhook: method, content type and size', () => {
	it('405 for anything but POST, with Allow: POST', () => {
		for (const method of ['GET', 'PUT', 'HEAD', undefined]) {
			const d = decideWebhook({ ...signed(json(EXAMPLE)), method }, BASE);
			expect(rejected(d, 405).error).toMatch(/POST/);
			if (d.action === 'reject') expect(d.headers.Allow).toBe('POST');
		}
	});

	it('415 for a missing or wrong content type or a non-UTF-8 charset', () => {
		for (const type of [undefined, '', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp', 'text/json']) {
			const b = rejected(decideWebhook(signed(json(EXAMPLE), { headers: { 'content-type': type } }), BASE), 415);
			expect(b.field).toBe('content-type');
			expect(b.error).toMatch(/application\/json/);
		}
		const gbk = rejected(decideWebhook(signed(json(EXAMPLE), { headers: { 'content-type': 'application/json; charset=GBK' } }), BASE), 415);
		expect(gbk).toEqual({ error: 'charset "gbk" is not supported: send the order as UTF-8 JSON.', field: 'content-type' });
	});

	it('413 for a body over the limit (bytes, not characters), before the signature is computed', () => {
		const limit = 1000;
		const pad = (n: number) => json({ ...EXAMPLE, note: 'x'.repeat(n) });
		const base = Buffer.byteLength(pad(0));
		const at = pad(limit - base);
		expect(Buffer.byteLength(at)).toBe(limit);
		accepted(decideWebhook(signed(at), { ...BASE, maxBodyBytes: limit }));
		const over = signed(pad(limit - base + 1));
		const d = decideWebhook(over, { ...BASE, maxBodyBytes: limit });
		expect(rejected(d, 413)).toEqual({ error: 'body is too large (1001 bytes, at most 1000 bytes).', field: 'body' });
		if (d.action === 'reject') expect(d.headers.Connection).toBe('close');
		// multi-byte characters count as bytes: 334 × "卡" = 1002 bytes
		const cjk = json({ ...EXAMPLE, note: '卡'.repeat(334) });
		expect(rejected(decideWebhook(signed(cjk), { ...BASE, maxBodyBytes: cjk.length + 10 }), 413).field).toBe('body');
		// a huge unsigned body is refused for its size, not hashed
		const huge = { method: 'POST', headers: { 'content-type': 'application/json' }, rawBody: Buffer.alloc(2_000_001, 0x20) };
		expect(rejected(decideWebhook(huge, BASE), 413).error).toBe('body is too large (2000001 bytes, at most 1000000 bytes).');
		// a reader that stopped at the limit
		expect(rejected(decideWebhook({ ...signed(''), rawBody: null, truncated: true }, BASE), 413).error).toBe(
			'body is too large (more than 1000000 bytes, at most 1000000 bytes).',
		);
	});
});

describe('decideWithoutBody: the raw body is gone (n8n read multipart itself)', () => {
	it('still answers 415 for a refused Content-Type and 405 for a method, else null (the body was needed)', () => {
		const multipart = { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=x' } };
		expect(decideWithoutBody(multipart, BASE)).toMatchObject({ action: 'reject', status: 415, body: { field: 'content-type' } });
		expect(decideWithoutBody({ method: 'PUT', headers: {} }, BASE)).toMatchObject({ status: 405 });
		expect(decideWithoutBody({ method: 'POST', headers: { 'content-type': 'application/json' } }, BASE)).toBeNull();
		expect(decideWithoutBody(multipart, { ...BASE, acceptAnyContentType: true })).toBeNull();
	});
});

describe('decideWebhook: event filter', () => {
	const paid = json(EXAMPLE);
	const refund = json({ event: 'order.refunded', orderId: 'T20261123001' });

	it('a paid-only webhook acknowledges refunds with 200 {ignored: true} without validating them', () => {
		expect(ignored(decideWebhook(signed(refund), BASE))).toEqual({
			ignored: true,
			event: 'order.refunded',
			message: 'This webhook handles order.paid only; order.refunded was acknowledged and ignored.',
		});
		// the rest of an ignored payload is not validated (a bad quantity in a refund does not matter here)
		const badRefund = json({ event: 'order.refunded', orderId: '', items: [{ sku: 'A', quantity: 0 }] });
		ignored(decideWebhook(signed(badRefund), BASE));
	});

	it('a refund-only webhook ignores paid orders, "any" takes both', () => {
		expect(ignored(decideWebhook(signed(paid), { ...BASE, events: 'order.refunded' })).event).toBe('order.paid');
		accepted(decideWebhook(signed(refund), { ...BASE, events: 'order.refunded' }));
		accepted(decideWebhook(signed(paid), { ...BASE, events: 'any' }));
		accepted(decideWebhook(signed(refund), { ...BASE, events: 'any' }));
	});

	it('ignoring still requires a valid signature', () => {
		expect(rejected(decideWebhook(signed(refund, { secret: 'forged-secret' }), BASE), 401).reason).toBe('mismatch');
	});
});

describe('decideWebhook: secrets are never echoed', () => {
	it('redacts the secret if a caller puts it into a value that would be echoed', () => {
		const settings: WebhookSettings = { ...BASE, eventValues: { [SECRET]: 'ignore' } };
		const req = signed(json({ ...EXAMPLE, event: SECRET }));
		const d = decideWebhook(req, settings);
		expect(ignored(d).event).toBe('[redacted]');
		expectNoSecret(d, req);
		const req2 = signed(json({ ...EXAMPLE, event: `x${SECRET}` }));
		const d2 = decideWebhook(req2, BASE);
		expect(rejected(d2, 400).error).toContain('[redacted]');
		expectNoSecret(d2, req2);
	});
});

describe('resolveWebhookSettings: configuration problems throw, they are not answered 4xx', () => {
	const cfg = (s: WebhookSettings): WebhookConfigError => {
		try {
			resolveWebhookSettings(s);
		} catch (e) {
			expect(e).toBeInstanceOf(WebhookConfigError);
			expect((e as Error).message).not.toContain(SECRET);
			return e as WebhookConfigError;
		}
		throw new Error('expected a WebhookConfigError');
	};

	it('needs a secret while the signature check is on', () => {
		for (const secret of [undefined, '', '   ']) expect(cfg({ secret }).setting).toBe('secret');
		expect(() => decideWebhook(signed(json(EXAMPLE)), {})).toThrow(WebhookConfigError);
		expect(() => resolveWebhookSettings({ verifySignature: false })).not.toThrow();
	});

	it('checks header names, tolerance, size, events, output, mappings', () => {
		expect(cfg({ ...BASE, signatureHeader: 'X Signature' }).setting).toBe('signatureHeader');
		expect(cfg({ ...BASE, timestampHeader: 'X-Time:' }).setting).toBe('timestampHeader');
		expect(cfg({ ...BASE, toleranceSeconds: -1 }).setting).toBe('toleranceSeconds');
		expect(cfg({ ...BASE, toleranceSeconds: NaN }).setting).toBe('toleranceSeconds');
		expect(cfg({ ...BASE, maxBodyBytes: 0 }).setting).toBe('maxBodyBytes');
		expect(cfg({ ...BASE, maxBodyBytes: 1.5 }).setting).toBe('maxBodyBytes');
		expect(cfg({ ...BASE, events: 'order.shipped' as never }).setting).toBe('events');
		expect(cfg({ ...BASE, paidOutput: 'item' as never }).setting).toBe('paidOutput');
		expect(cfg({ ...BASE, mapping: { orderID: 'x' } as never }).setting).toBe('mapping.orderID');
		expect(cfg({ ...BASE, mapping: { orderId: 'a..b' } }).message).toMatch(/^Field mapping: mapping\.orderId must be a dotted path/);
		expect(cfg({ ...BASE, mapping: { orderId: '' } }).setting).toBe('mapping.orderId');
		expect(cfg({ ...BASE, eventValues: { PAID: 'paid' as never } }).setting).toBe('eventValues.PAID');
		expect(cfg({ ...BASE, eventValues: { ' ': 'order.paid' } }).setting).toBe('eventValues');
		// defaults are fine
		expect(resolveWebhookSettings(BASE)).toMatchObject({ events: 'order.paid', verify: true, signatureHeader: 'X-Signature', timestampHeader: 'X-Timestamp', tolerance: 300, maxBodyBytes: 1_000_000, paidOutput: 'line' });
	});
});

describe('parseOrderEvent (order.ts)', () => {
	it('reads only the event, mapped, without validating the rest', () => {
		expect(parseOrderEvent({ event: 'order.paid' })).toBe('order.paid');
		expect(parseOrderEvent({ type: 'TRADE_PAID' }, { mapping: { event: 'type' }, eventValues: { TRADE_PAID: 'order.paid' } })).toBe('order.paid');
		expect(parseOrderEvent({ meta: { kind: ' order.refunded ' } }, { mapping: { event: 'meta.kind' } })).toBe('order.refunded');
		expect(() => parseOrderEvent({ event: 'nope' })).toThrow(ValidationError);
		expect(() => parseOrderEvent([])).toThrow(/^body must be a JSON object/);
		expect(() => parseOrderEvent({}, { mapping: { event: 'type' } })).toThrow(/^event \(from "type"\) is required/);
	});
});

describe('webhookItems', () => {
	it('keeps the contract field names', () => {
		const [item] = webhookItems({
			event: 'order.paid', orderId: 'T1', shop: 's', buyer: null, amount: 1, currency: 'CNY', paidAt: null,
			items: [{ sku: 'A', name: null, quantity: 1, price: null }],
		});
		expect(Object.keys(item).sort()).toEqual(
			['event', 'orderId', 'shop', 'buyer', 'amount', 'currency', 'paidAt', 'sku', 'name', 'quantity', 'price', 'line', 'lines'].sort(),
		);
	});
});

describe('readRawBody', () => {
	const headers = { 'content-type': 'application/json' };

	it('takes req.rawBody as n8n sets it (Buffer or string)', async () => {
		const buf = Buffer.from('{"a":1}');
		expect(await readRawBody({ headers, rawBody: buf, body: { a: 1 } }, 100)).toEqual({ rawBody: buf, truncated: false, source: 'rawBody' });
		expect((await readRawBody({ headers, rawBody: '{"a":1}' }, 100)).rawBody).toBe('{"a":1}');
	});

	it("calls n8n's lazy req.readRawBody() when rawBody is not read yet", async () => {
		const req: { headers: typeof headers; rawBody?: Buffer; readRawBody: () => Promise<void> } = {
			headers,
			readRawBody: async () => {
				req.rawBody = Buffer.from('{"b":2}');
			},
		};
		expect(await readRawBody(req, 100)).toEqual({ rawBody: Buffer.from('{"b":2}'), truncated: false, source: 'readRawBody' });
		const tooLarge = { headers, readRawBody: async () => Promise.reject(Object.assign(new Error('request entity too large'), { type: 'entity.too.large', status: 413 })) };
		expect(await readRawBody(tooLarge, 100)).toEqual({ rawBody: null, truncated: true, source: 'readRawBody' });
	});

	it('reads an unconsumed stream, and stops at the limit', async () => {
		const stream = Object.assign(new PassThrough(), { headers });
		const p = readRawBody(stream, 100);
		stream.write('{"c":');
		stream.end('3}');
		expect(await p).toEqual({ rawBody: Buffer.from('{"c":3}'), truncated: false, source: 'stream' });

		const big = Object.assign(new PassThrough(), { headers });
		const q = readRawBody(big, 10);
		big.write('0123456789');
		big.end('0123456789');
		expect(await q).toEqual({ rawBody: null, truncated: true, source: 'stream' });

		const declared = Object.assign(new PassThrough(), { headers: { ...headers, 'content-length': '5000' } });
		expect(await readRawBody(declared, 10)).toEqual({ rawBody: null, truncated: true, source: 'stream' });
		declared.end();
	});

	it('falls back to the parsed body when the stream was consumed (not signable), else none', async () => {
		expect(await readRawBody({ headers, readable: false, body: { d: 4 } }, 100)).toEqual({ rawBody: '{"d":4}', truncated: false, source: 'parsedBody' });
		expect(await readRawBody({ headers, readable: false }, 100)).toEqual({ rawBody: null, truncated: false, source: 'none' });
	});
});

describe('decideWebhook: ids keep their exact digits, text is strict UTF-8, counts are decimal (issue: order identity)', () => {
	// Three Taobao-style 19-digit ids that are the same double (2840188394502391300).
	const IDS = ['2840188394502391201', '2840188394502391202', '2840188394502391250'];

	it('numeric order, buyer, sku ids above 2^53 keep every digit: three ids equal as doubles are three orders', () => {
		expect(new Set(IDS.map(Number)).size).toBe(1); // what JSON.parse did to them
		const seen = IDS.map((id) => {
			const raw = `{"event":"order.paid","orderId":${id},"buyer":{"id":${id}9},"items":[{"sku":${id},"quantity":1}]}`;
			const d = accepted(decideWebhook(signed(raw), BASE));
			expect(d.order.orderId).toBe(id);
			expect(d.ack.orderId).toBe(id);
			expect(d.items[0]).toMatchObject({ orderId: id, sku: id, buyer: { id: `${id}9` } });
			return d.order.orderId;
		});
		expect(new Set(seen).size).toBe(3);
	});

	it('keeps exact digits through a Field Mapping too (Taobao-like tid / num_iid), and small ids as before', () => {
		const raw = `{"type":"TRADE_PAID","data":{"tid":${IDS[2]},"orders":[{"num_iid":12345678901234567890123,"num":"2"}],"buyer_id":1001}}`;
		const d = accepted(
			decideWebhook(signed(raw), {
				...BASE,
				mapping: { event: 'type', orderId: 'data.tid', items: 'data.orders', 'items.sku': 'num_iid', 'items.quantity': 'num', 'buyer.id': 'data.buyer_id' },
				eventValues: { TRADE_PAID: 'order.paid' },
			}),
		);
		expect(d.order).toMatchObject({ orderId: IDS[2], buyer: { id: '1001' }, items: [{ sku: '12345678901234567890123', quantity: 2 }] });
	});

	it('amounts and prices still read as numbers (also long decimals); a quantity too large for a double is refused, not rounded', () => {
		const ok = accepted(decideWebhook(signed(`{"event":"order.paid","orderId":"A","amount":100.10000000000000000001,"items":[{"sku":"S","quantity":1,"price":0.1}]}`), BASE));
		expect(ok.order).toMatchObject({ amount: 100.1, items: [{ price: 0.1 }] });
		const big = rejected(decideWebhook(signed(`{"event":"order.paid","orderId":"A","items":[{"sku":"S","quantity":90071992547409930}]}`), BASE), 400);
		expect(big).toMatchObject({ field: 'items[0].quantity' });
		expect(big.error).toMatch(/too large/);
	});

	it('quantity as text must be decimal digits: "0x10", "1e2", "+3", "2.0", "-1", "1_000", "Infinity", "２" are a 400 naming the field', () => {
		for (const q of ['0x10', '1e2', '+3', '2.0', '-1', '1_000', 'Infinity', '２']) {
			const raw = json({ event: 'order.paid', orderId: 'Q', items: [{ sku: 'S', quantity: q }] });
			const body = rejected(decideWebhook(signed(raw), BASE), 400);
			expect(body).toMatchObject({ field: 'items[0].quantity' });
			expect(body.error).toMatch(/^items\[0\]\.quantity .*whole number/);
		}
		const ok = accepted(decideWebhook(signed(json({ event: 'order.paid', orderId: 'Q', items: [{ sku: 'S', quantity: ' 16 ' }] })), BASE));
		expect(ok.order.items[0]).toMatchObject({ quantity: 16 });
		// a refund's quantity follows the same rule
		const refund = rejected(decideWebhook(signed(json({ event: 'order.refunded', orderId: 'Q', items: [{ sku: 'S', quantity: '0x1' }] })), { ...BASE, events: 'any' }), 400);
		expect(refund).toMatchObject({ field: 'items[0].quantity' });
	});

	it('amounts as text must be decimal: "1e2" and "0x10" are a 400 naming the field', () => {
		for (const amount of ['1e2', '0x10', '-5', '1,5']) {
			const body = rejected(decideWebhook(signed(json({ event: 'order.paid', orderId: 'A', amount, items: [{ sku: 'S', quantity: 1 }] })), BASE), 400);
			expect(body).toMatchObject({ field: 'amount' });
		}
		expect(accepted(decideWebhook(signed(json({ event: 'order.paid', orderId: 'A', amount: ' 12.50 ', items: [{ sku: 'S', quantity: 1 }] })), BASE)).order.amount).toBe(12.5);
	});

	it('a correctly signed body that is not valid UTF-8 is a 400 naming the problem (never U+FFFD in a buyer name)', () => {
		const head = Buffer.from('{"event":"order.paid","orderId":"U8","buyer":{"name":"');
		const tail = Buffer.from('"},"items":[{"sku":"S","quantity":1}]}');
		for (const bad of [[0xff, 0xfe], [0xc3], [0xe4, 0xb8], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf8, 0x88, 0x80, 0x80, 0x80]]) {
			const raw = Buffer.concat([head, Buffer.from(bad), tail]);
			const body = rejected(decideWebhook(signed(raw), BASE), 400);
			expect(body).toEqual({ error: 'body is not valid UTF-8: send the order as UTF-8 encoded JSON.', field: 'body' });
		}
		// valid multi-byte text and a BOM still pass
		const good = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), head, Buffer.from('小明 🎮'), tail]);
		expect(accepted(decideWebhook(signed(good), BASE)).order.buyer).toMatchObject({ name: '小明 🎮' });
	});

	it('a key that appears twice in one object with different values is ambiguous: 400', () => {
		const body = rejected(decideWebhook(signed('{"event":"order.paid","orderId":"A","orderId":"B","items":[{"sku":"S","quantity":1}]}'), BASE), 400);
		expect(body).toMatchObject({ field: 'body' });
		expect(body.error).toMatch(/"orderId" appears twice/);
	});
});

describe('decideWebhook: a clipped quote never keeps a piece of the signing secret', () => {
	it('an event value holding the secret, cut at the 60/80-character clip at any offset, is redacted whole', () => {
		for (let pad = 40; pad <= 90; pad++) {
			const value = `${'x'.repeat(pad)}${SECRET}`;
			for (const settings of [{ ...BASE }, { ...BASE, eventValues: { [value]: 'ignore' as const } }]) {
				const req = signed(json({ event: value, orderId: 'A', items: [{ sku: 'S', quantity: 1 }] }));
				const d = decideWebhook(req, settings);
				const text = json(d);
				for (let k = 0; k + 8 <= SECRET.length; k++) expect(text).not.toContain(SECRET.slice(k, k + 8));
			}
		}
	});
});
