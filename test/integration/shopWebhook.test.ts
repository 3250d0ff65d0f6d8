/**
 * Shop Webhook driven the way n8n drives it, by real HTTP requests: the n8n-like webhook server of
 * test/helpers/webhookHarness.ts (n8n's request preparation, n8n-core's WebhookContext, n8n's
 * answer for each response mode, the rest of the workflow in n8n's engine for "When Last Node
 * Finishes").
 *
 * Variants of the request preparation: 'n8n' (n8n's rawBodyReader + parseBody), 'lazy' (only
 * `readRawBody()` is defined, nothing read yet) and 'plain' (an untouched Node.js request: the
 * node reads the stream).
 */
import * as http from 'node:http';
import { createHmac } from 'node:crypto';
import { gzipSync } from 'node:zlib';

import { WorkflowConfigurationError, type INode } from 'n8n-workflow';

import { closeAllStores, getStore } from '../../nodes/core/store';
import { signPayload } from '../../nodes/core/intake';
import { dropStore, storeConfig } from '../helpers/db';
import {
	CLAIM,
	RESPOND,
	bootN8nCore,
	expectNothingEmitted,
	post,
	settled,
	shopWebhook,
	startHarness as startWebhookHarness,
	type Answer,
	type Harness,
	type HarnessOptions,
} from '../helpers/webhookHarness';

const SECRET = 'whsec-int-3b9d0c1f5a7e';

/** The harness with the shop credential holding SECRET unless the test gives its own credentials. */
function startHarness(opts: Partial<HarnessOptions> = {}): Promise<Harness> {
	return startWebhookHarness({ credentials: { autoDeliveryShopApi: { signingSecret: SECRET, authType: 'none' } }, ...opts });
}

/** Signs like the shop does (DESIGN §7) and posts. */
function sendSigned(url: string, raw: string | Buffer, over: { ts?: number | string; secret?: string; headers?: Record<string, string | undefined>; bodyOnWire?: Buffer } = {}) {
	const ts = String(over.ts ?? Math.floor(Date.now() / 1000));
	return post(url, over.bodyOnWire ?? raw, {
		'Content-Type': 'application/json',
		'X-Timestamp': ts,
		'X-Signature': signPayload(over.secret ?? SECRET, ts, raw),
		...over.headers,
	});
}

const ORDER = {
	event: 'order.paid',
	orderId: 'T20261123001',
	shop: 'helloworld',
	buyer: { id: 'u123', name: '小明', email: 'buyer@example.com', ip: '203.0.113.7' },
	items: [
		{ sku: 'STEAM-50', name: 'Steam 50', quantity: 2, price: 50 },
		{ sku: 'NETFLIX-1M', name: 'Netflix 1 month', quantity: 1, price: 60 },
	],
	amount: 160,
	currency: 'CNY',
	paidAt: '2026-11-23T18:00:00+08:00',
};
const RAW = JSON.stringify(ORDER);

const LINE_ITEMS = [
	{
		event: 'order.paid', orderId: 'T20261123001', shop: 'helloworld',
		buyer: { id: 'u123', name: '小明', email: 'buyer@example.com', ip: '203.0.113.7' },
		amount: 160, currency: 'CNY', paidAt: '2026-11-23T10:00:00.000Z',
		sku: 'STEAM-50', name: 'Steam 50', quantity: 2, price: 50, line: 0, lines: 2,
	},
	{
		event: 'order.paid', orderId: 'T20261123001', shop: 'helloworld',
		buyer: { id: 'u123', name: '小明', email: 'buyer@example.com', ip: '203.0.113.7' },
		amount: 160, currency: 'CNY', paidAt: '2026-11-23T10:00:00.000Z',
		sku: 'NETFLIX-1M', name: 'Netflix 1 month', quantity: 1, price: 60, line: 1, lines: 2,
	},
];

function expectNoSecret(a: Answer, raw: string | Buffer, ts?: string) {
	expect(a.text).not.toContain(SECRET);
	if (ts !== undefined) {
		const expected = createHmac('sha256', SECRET).update(`${ts}.`).update(raw).digest('hex');
		expect(a.text).not.toContain(expected);
	}
}

beforeAll(async () => {
	await bootN8nCore();
});

afterAll(async () => {
	await closeAllStores();
});

// ---------------------------------------------------------------------------------------------

describe('Shop Webhook in an n8n-like webhook server (defaults: order.paid, signature on, respond immediately)', () => {
	let h: Harness;
	beforeAll(async () => {
		h = await startHarness();
	});
	afterAll(() => h.close());

	it('registers POST /webhook/auto-delivery/order-paid with responseMode onReceived, 202, no responseData', () => {
		expect(h.path).toBe('auto-delivery/order-paid');
		expect(h.url.endsWith('/webhook/auto-delivery/order-paid')).toBe(true);
		const node = h.workflow.getNode('Shop Webhook') as INode;
		const d = shopWebhook.description.webhooks![0];
		const simple = (p: string) => h.workflow.expression.getSimpleParameterValue(node, d[p] as string, 'internal', {});
		expect(simple('httpMethod')).toBe('POST');
		expect(simple('responseMode')).toBe('onReceived');
		expect(simple('responseCode')).toBe(202);
		// must not fall back to n8n's default 'firstEntryJson' (that string would become the 202 body)
		expect(h.workflow.expression.getComplexParameterValue(node, d.responseData, 'internal', {}, undefined, 'firstEntryJson')).toBeUndefined();
	});

	it('a valid signed order: 202 {received, orderId} and one canonical item per order line', async () => {
		const ts = String(Math.floor(Date.now() / 1000));
		const a = await sendSigned(h.url, RAW, { ts });
		const call = await settled(h);
		expect(a.status).toBe(202);
		expect(a.headers['content-type']).toMatch(/^application\/json/);
		expect(a.body).toEqual({ received: true, orderId: 'T20261123001' });
		expect(call.emitted!.map((i) => i.json)).toEqual(LINE_ITEMS);
		expect(call.rawBodySet).toBe(true);
		expectNoSecret(a, RAW, ts);
	});

	it('a gzip-compressed signed body (n8n inflates it before the node sees rawBody)', async () => {
		const a = await sendSigned(h.url, RAW, { bodyOnWire: gzipSync(Buffer.from(RAW)), headers: { 'Content-Encoding': 'gzip' } });
		const call = await settled(h);
		expect(a.status).toBe(202);
		expect(call.emitted).toHaveLength(2);
	});

	describe('signature failures → 401 JSON, the workflow is not started, nothing secret in the answer', () => {
		const now = () => Math.floor(Date.now() / 1000);
		const cases: Array<[string, () => { raw: string | Buffer; over: Parameters<typeof sendSigned>[2] }, string]> = [
			['missing signature', () => ({ raw: RAW, over: { headers: { 'X-Signature': undefined } } }), 'missing_signature'],
			['missing timestamp', () => ({ raw: RAW, over: { headers: { 'X-Timestamp': undefined } } }), 'missing_timestamp'],
			['forged (another secret)', () => ({ raw: RAW, over: { secret: 'guessed-secret-123' } }), 'mismatch'],
			['expired (10 minutes old)', () => ({ raw: RAW, over: { ts: now() - 600 } }), 'expired'],
			['from the future (10 minutes ahead)', () => ({ raw: RAW, over: { ts: now() + 600 } }), 'expired'],
			['bad format', () => ({ raw: RAW, over: { headers: { 'X-Signature': 'md5=abc' } } }), 'bad_format'],
			['milliseconds timestamp', () => ({ raw: RAW, over: { ts: Date.now() } }), 'bad_timestamp'],
			['body changed by one byte after signing', () => ({ raw: RAW, over: { bodyOnWire: Buffer.from(RAW.replace('"quantity":2', '"quantity":3')) } }), 'mismatch'],
		];
		it.each(cases)('%s', async (_name, make, reason) => {
			const { raw, over } = make();
			const ts = String(over?.ts ?? now());
			const a = await sendSigned(h.url, raw, { ...over, ts });
			const call = await settled(h);
			expect(a.status).toBe(401);
			expect(a.body).toEqual({ error: expect.any(String), field: expect.stringMatching(/^x-(signature|timestamp)$/), reason });
			expect(call.nodeCalled).toBe(true);
			expect(call.result).toEqual({ noWebhookResponse: true });
			expectNothingEmitted(call);
			expectNoSecret(a, raw, ts);
		});
	});

	describe('bad payloads → 400 naming the field, the workflow is not started', () => {
		const cases: Array<[string, unknown, string]> = [
			['missing orderId', { ...ORDER, orderId: undefined }, 'orderId'],
			['quantity 0', { ...ORDER, items: [{ sku: 'A', quantity: 0 }] }, 'items[0].quantity'],
			['negative quantity', { ...ORDER, items: [{ sku: 'A', quantity: -2 }] }, 'items[0].quantity'],
			['fractional quantity', { ...ORDER, items: [{ sku: 'A', quantity: 1 }, { sku: 'B', quantity: 0.5 }] }, 'items[1].quantity'],
			['quantity a word', { ...ORDER, items: [{ sku: 'A', quantity: 'two' }] }, 'items[0].quantity'],
			['unknown event', { ...ORDER, event: 'order.created' }, 'event'],
			['empty items', { ...ORDER, items: [] }, 'items'],
			['a buyer that is not an object', { ...ORDER, buyer: 'u123' }, 'buyer'],
			['JSON that is not an object', [ORDER], 'body'],
		];
		it.each(cases)('%s', async (_name, body, field) => {
			const raw = JSON.stringify(body);
			const a = await sendSigned(h.url, raw);
			const call = await settled(h);
			expect(a.status).toBe(400);
			expect(a.body).toEqual({ error: expect.stringMatching(new RegExp(`^${field.replace(/[[\]]/g, '\\$&')} `)), field });
			expectNothingEmitted(call);
		});

		it('non-JSON: 415 for a non-JSON content type, 400 for a +json type, 422 from n8n itself for broken application/json', async () => {
			const form = await sendSigned(h.url, 'event=order.paid&orderId=T1', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
			expect(form.status).toBe(415);
			expect(form.body).toEqual({ error: expect.stringMatching(/application\/json/), field: 'content-type' });
			expectNothingEmitted(await settled(h));

			const vendor = await sendSigned(h.url, '{"event": "order.paid",', { headers: { 'Content-Type': 'application/vnd.shop+json' } });
			expect(vendor.status).toBe(400);
			expect(vendor.body).toEqual({ error: 'body is not valid JSON.', field: 'body' });
			expectNothingEmitted(await settled(h));

			// n8n's own body parser rejects it before any node runs
			const broken = await sendSigned(h.url, '{"event": "order.paid",');
			const call = await settled(h);
			expect(broken.status).toBe(422);
			expect(call.nodeCalled).toBe(false);
			expectNothingEmitted(call);
		});

		it('a wrong or missing content type → 415', async () => {
			for (const type of ['text/plain', 'application/xml', undefined]) {
				const a = await sendSigned(h.url, RAW, { headers: { 'Content-Type': type } });
				expect(a.status).toBe(415);
				expect((a.body as { field: string }).field).toBe('content-type');
				expectNothingEmitted(await settled(h));
			}
		});

		it('multipart/form-data, which n8n reads itself before the node runs → 415, not a 500 about the missing raw body', async () => {
			const a = await sendSigned(h.url, '--XyZ\r\nContent-Disposition: form-data; name="order"\r\n\r\n{}\r\n--XyZ--\r\n', { headers: { 'Content-Type': 'multipart/form-data; boundary=XyZ' } });
			expect(a.status).toBe(415);
			expect(a.body).toEqual({ error: 'Content-Type "multipart/form-data" is not accepted: send the order as application/json.', field: 'content-type' });
			expectNothingEmitted(await settled(h));
		});

		it('a huge body → 413', async () => {
			const huge = JSON.stringify({ ...ORDER, note: 'x'.repeat(1_000_000) });
			const a = await sendSigned(h.url, huge);
			const call = await settled(h);
			expect(a.status).toBe(413);
			expect(a.body).toEqual({ error: `body is too large (${Buffer.byteLength(huge)} bytes, at most 1000000 bytes).`, field: 'body' });
			expectNothingEmitted(call);
		});
	});

	it('a refund sent to the paid-order webhook: 200 {ignored: true}, the workflow is not started', async () => {
		const a = await sendSigned(h.url, JSON.stringify({ event: 'order.refunded', orderId: 'T20261123001' }));
		const call = await settled(h);
		expect(a.status).toBe(200);
		expect(a.body).toEqual({ ignored: true, event: 'order.refunded', message: expect.stringMatching(/order\.paid only/) });
		expectNothingEmitted(call);
	});

	it('n8n routes only POST to the node', async () => {
		const a = await post(h.url, '', {}, 'GET');
		expect(a.status).toBe(404);
		expect(h.calls[h.calls.length - 1].nodeCalled).toBe(false);
	});

	it('concurrent calls: 20 valid and 20 forged at once → exactly the 20 valid ones emit', async () => {
		const before = h.calls.length;
		const answers = await Promise.all(
			Array.from({ length: 40 }, (_, i) => {
				const raw = JSON.stringify({ ...ORDER, orderId: `C${i}` });
				return sendSigned(h.url, raw, i % 2 === 0 ? {} : { secret: 'forged-secret-xyz' });
			}),
		);
		await Promise.all(h.calls.slice(before).map((c) => c.done));
		expect(answers.filter((a) => a.status === 202)).toHaveLength(20);
		expect(answers.filter((a) => a.status === 401)).toHaveLength(20);
		const emitted = h.calls.slice(before).filter((c) => c.emitted !== null);
		expect(emitted).toHaveLength(20);
		expect(new Set(emitted.map((c) => c.emitted![0].json.orderId))).toEqual(new Set(Array.from({ length: 20 }, (_, i) => `C${i * 2}`)));
	});
});

describe('how the raw body is obtained', () => {
	it.each(['lazy', 'plain'] as const)('%s request: valid order accepted, one-byte change rejected, huge body 413', async (flavour) => {
		const h = await startHarness({ flavour });
		try {
			const ok = await sendSigned(h.url, RAW);
			expect(ok.status).toBe(202);
			const call = await settled(h);
			expect(call.emitted!.map((i) => i.json)).toEqual(LINE_ITEMS);
			// lazy: the node called n8n's readRawBody(); plain: it read the stream itself
			expect(call.rawBodySet).toBe(flavour === 'lazy');

			const tampered = await sendSigned(h.url, RAW, { bodyOnWire: Buffer.from(RAW.replace('小明', '小红')) });
			expect(tampered.status).toBe(401);
			expectNothingEmitted(await settled(h));

			const huge = JSON.stringify({ ...ORDER, note: 'y'.repeat(1_200_000) });
			const big = await sendSigned(h.url, huge);
			expect(big.status).toBe(413);
			expect((big.body as { field: string }).field).toBe('body');
			expectNothingEmitted(await settled(h));
		} finally {
			await h.close();
		}
	});

	it('plain request without Content-Length (chunked) over the limit → 413 while reading', async () => {
		const h = await startHarness({ flavour: 'plain', parameters: { options: { maxBodyKb: 2 } } });
		try {
			const raw = JSON.stringify({ ...ORDER, note: 'z'.repeat(5000) });
			const ts = String(Math.floor(Date.now() / 1000));
			const a = await new Promise<Answer>((resolve, reject) => {
				const req = http.request(h.url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Timestamp': ts, 'X-Signature': signPayload(SECRET, ts, raw), 'Transfer-Encoding': 'chunked' } }, (res) => {
					const chunks: Buffer[] = [];
					res.on('data', (c: Buffer) => chunks.push(c));
					res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString(), body: JSON.parse(Buffer.concat(chunks).toString()) }));
				});
				req.on('error', reject);
				for (let i = 0; i < raw.length; i += 1000) req.write(raw.slice(i, i + 1000));
				req.end();
			});
			expect(a.status).toBe(413);
			expect(a.body).toEqual({ error: 'body is too large (more than 2000 bytes, at most 2000 bytes).', field: 'body' });
			expectNothingEmitted(await settled(h));
		} finally {
			await h.close();
		}
	});
});

describe('configuration problems: 500, a failed start with a clear message, never the secret', () => {
	it('signature on but no signing secret in the credential', async () => {
		const h = await startHarness({ credentials: { autoDeliveryShopApi: { signingSecret: '', authType: 'none' } } });
		try {
			const a = await sendSigned(h.url, RAW);
			const call = await settled(h);
			expect(a.status).toBe(500);
			expect(call.error?.message).toMatch(/no webhook signing secret is configured/);
			expectNothingEmitted(call);
		} finally {
			await h.close();
		}
	});

	it('signature on but no credential attached', async () => {
		const h = await startHarness({ attachCredentials: false });
		try {
			const a = await sendSigned(h.url, RAW);
			const call = await settled(h);
			expect(a.status).toBe(500);
			expect(call.error?.message).toMatch(/credentials/i);
			expectNothingEmitted(call);
		} finally {
			await h.close();
		}
	});

	it('a malformed field mapping or a duplicate row', async () => {
		for (const fieldMapping of [
			{ fields: [{ field: 'orderId', path: 'data..tid' }] },
			{ fields: [{ field: 'orderId', path: 'a' }, { field: 'orderId', path: 'b' }] },
		]) {
			const h = await startHarness({ parameters: { fieldMapping } });
			try {
				const a = await sendSigned(h.url, RAW);
				const call = await settled(h);
				expect(a.status).toBe(500);
				expect(call.error?.message).toMatch(/Field Mapping|Field mapping/);
				expect(a.text).not.toContain(SECRET);
				expectNothingEmitted(call);
			} finally {
				await h.close();
			}
		}
	});

	it("Respond: Using 'Respond to Webhook' Node — needs such a node, of version 1", async () => {
		const respond = (typeVersion: number): INode => ({ id: 'r', name: 'Respond', type: RESPOND, typeVersion, position: [200, 0], parameters: {} });
		const none = await startHarness({ parameters: { responseMode: 'responseNode' } });
		try {
			const a = await sendSigned(none.url, RAW);
			expect(a.status).toBe(500);
			expect(a.body).toMatchObject({ message: 'No Respond to Webhook node found in the workflow' });
			expectNothingEmitted(await settled(none));
		} finally {
			await none.close();
		}
		const strict = await startHarness({ parameters: { responseMode: 'responseNode' }, downstream: [respond(1.5)] });
		try {
			const a = await sendSigned(strict.url, RAW);
			const call = await settled(strict);
			expect(a.status).toBe(500);
			expect(call.error).toBeInstanceOf(WorkflowConfigurationError);
			expect((a.body as { message: string }).message).toMatch(/"Respond" \(version 1.5\) cannot answer for Shop Webhook/);
			expectNothingEmitted(call);
		} finally {
			await strict.close();
		}
		const v1 = await startHarness({ parameters: { responseMode: 'responseNode' }, downstream: [respond(1)] });
		try {
			const a = await sendSigned(v1.url, RAW);
			const call = await settled(v1);
			expect(a.status).toBe(200);
			expect(call.result?.webhookResponse).toBeUndefined();
			expect(call.emitted).toHaveLength(2);
		} finally {
			await v1.close();
		}
	});
});

describe('node parameters', () => {
	it('field mapping and event mapping (incl. ignore) for a shop with its own JSON; refunds; "any"', async () => {
		const h = await startHarness({
			parameters: {
				events: 'any',
				fieldMapping: {
					fields: [
						{ field: 'event', path: 'type' },
						{ field: 'orderId', path: 'data.tid' },
						{ field: 'items', path: 'data.orders' },
						{ field: 'items.sku', path: 'outer_sku' },
						{ field: 'items.quantity', path: 'num' },
						{ field: 'buyer.email', path: 'data.buyer_email' },
					],
				},
				eventMapping: {
					values: [
						{ value: 'TRADE_PAID', event: 'order.paid' },
						{ value: 'REFUND_SUCCESS', event: 'order.refunded' },
						{ value: 'TRADE_CLOSED', event: 'ignore' },
					],
				},
			},
		});
		try {
			const body = { type: 'TRADE_PAID', data: { tid: 99887766, buyer_email: 'b@example.com', orders: [{ outer_sku: 'STEAM-50', num: '2' }] } };
			const paid = await sendSigned(h.url, JSON.stringify(body));
			expect(paid.status).toBe(202);
			expect(paid.body).toEqual({ received: true, orderId: '99887766' });
			expect((await settled(h)).emitted!.map((i) => i.json)).toEqual([
				{ event: 'order.paid', orderId: '99887766', shop: null, buyer: { id: null, name: null, email: 'b@example.com', ip: null }, amount: null, currency: null, paidAt: null, sku: 'STEAM-50', name: null, quantity: 2, price: null, line: 0, lines: 1 },
			]);

			const refund = await sendSigned(h.url, JSON.stringify({ ...body, type: 'REFUND_SUCCESS' }));
			expect(refund.status).toBe(202);
			expect((await settled(h)).emitted!.map((i) => i.json)).toEqual([
				{ event: 'order.refunded', orderId: '99887766', shop: null, buyer: { id: null, name: null, email: 'b@example.com', ip: null }, amount: null, currency: null, paidAt: null, items: [{ sku: 'STEAM-50', quantity: 2 }] },
			]);

			const closed = await sendSigned(h.url, JSON.stringify({ ...body, type: 'TRADE_CLOSED' }));
			expect(closed.status).toBe(200);
			expect(closed.body).toEqual({ ignored: true, event: 'TRADE_CLOSED', message: expect.any(String) });
			expectNothingEmitted(await settled(h));

			const nowhere = await sendSigned(h.url, JSON.stringify({ ...body, data: { orders: body.data.orders } }));
			expect(nowhere.status).toBe(400);
			expect(nowhere.body).toEqual({ error: 'orderId (from "data.tid") is required.', field: 'orderId' });
			expectNothingEmitted(await settled(h));
		} finally {
			await h.close();
		}
	});

	it('one item per order, custom headers and tolerance, signature off', async () => {
		const h = await startHarness({
			parameters: { paidOutput: 'order', options: { signatureHeader: 'X-Shop-Sign', timestampHeader: 'X-Shop-Time', toleranceSeconds: 30 } },
		});
		try {
			const now = Math.floor(Date.now() / 1000);
			const headers = (ts: number) => ({ 'X-Timestamp': undefined, 'X-Signature': undefined, 'X-Shop-Time': String(ts), 'X-Shop-Sign': signPayload(SECRET, ts, RAW) });
			const a = await post(h.url, RAW, { 'Content-Type': 'application/json', ...headers(now) });
			expect(a.status).toBe(202);
			const [item] = (await settled(h)).emitted!.map((i) => i.json);
			expect(item).toEqual({
				event: 'order.paid', orderId: 'T20261123001', shop: 'helloworld', buyer: ORDER.buyer, amount: 160, currency: 'CNY', paidAt: '2026-11-23T10:00:00.000Z',
				items: [
					{ sku: 'STEAM-50', name: 'Steam 50', quantity: 2, price: 50 },
					{ sku: 'NETFLIX-1M', name: 'Netflix 1 month', quantity: 1, price: 60 },
				],
			});
			const old = await post(h.url, RAW, { 'Content-Type': 'application/json', ...headers(now - 60) });
			expect(old.status).toBe(401);
			expect(old.body).toMatchObject({ reason: 'expired', field: 'x-shop-time' });
			const defaultHeaders = await sendSigned(h.url, RAW);
			expect(defaultHeaders.status).toBe(401);
			expect(defaultHeaders.body).toMatchObject({ reason: 'missing_signature', error: expect.stringMatching(/^The X-Shop-Sign header is missing/) });
		} finally {
			await h.close();
		}

		const open = await startHarness({ parameters: { verifySignature: false }, attachCredentials: false, credentials: {} });
		try {
			const a = await post(open.url, RAW, { 'Content-Type': 'application/json' });
			expect(a.status).toBe(202);
			expect((await settled(open)).emitted).toHaveLength(2);
		} finally {
			await open.close();
		}
	});
});

describe('in n8n\'s engine: Shop Webhook → Claim Key, "When Last Node Finishes"', () => {
	const cfg = storeConfig('sqlite');
	const storeCred = { database: 'sqlite', sqlitePath: cfg.sqlitePath as string, encryptionSecret: cfg.encryptionSecret, tablePrefix: 'ad_' };
	const KEYS = { 'STEAM-50': ['STEAM-AAAA-1111', 'STEAM-BBBB-2222', 'STEAM-CCCC-3333'], 'NETFLIX-1M': ['NFLX-DDDD-4444'] };
	let h: Harness;

	beforeAll(async () => {
		const store = await getStore({ ...cfg, tablePrefix: 'ad_' });
		for (const [sku, keys] of Object.entries(KEYS)) await store.importKeys({ sku, keys });
		h = await startHarness({
			parameters: { responseMode: 'lastNode', responseData: 'allEntries' },
			credentials: { autoDeliveryShopApi: { signingSecret: SECRET, authType: 'none' }, autoDeliveryKeyStore: storeCred },
			engine: true,
			downstream: [
				{
					id: 'c1', name: 'Claim Key', type: CLAIM, typeVersion: 1, position: [200, 0],
					parameters: {
						orderId: '={{ $json.orderId }}', sku: '={{ $json.sku }}', quantity: '={{ $json.quantity }}',
						details: { buyerEmail: '={{ $json.buyer.email }}', buyerName: '={{ $json.buyer.name }}', amount: '={{ $json.amount }}', shop: '={{ $json.shop }}' },
					},
				},
			],
		});
	});
	afterAll(async () => {
		await h.close();
		await closeAllStores();
		await dropStore(cfg);
	});

	it('a signed order runs the workflow from the trigger: each line claims its keys, the shop gets the result (keys masked)', async () => {
		const a = await sendSigned(h.url, RAW);
		const call = await settled(h);
		expect(call.run?.status).toBe('success');
		expect(call.run?.executionOrder).toEqual(['Shop Webhook', 'Claim Key']);
		expect(call.run?.outputs['Shop Webhook'][0].map((i) => i.json)).toEqual(LINE_ITEMS);
		expect(a.status).toBe(200);
		const delivered = a.body as Array<Record<string, unknown>>;
		expect(delivered.map((d) => [d.orderId, d.sku, d.quantity, d.status, d.alreadyDelivered])).toEqual([
			['T20261123001', 'STEAM-50', 2, 'claimed', false],
			['T20261123001', 'NETFLIX-1M', 1, 'claimed', false],
		]);
		expect(delivered[0].buyer).toMatchObject({ email: 'buyer@example.com', name: '小明' });
		for (const key of Object.values(KEYS).flat()) expect(a.text).not.toContain(key);

		// the same webhook delivered again (a retry): the same keys, nothing new claimed
		const again = await sendSigned(h.url, RAW);
		await settled(h);
		const second = again.body as Array<Record<string, unknown>>;
		expect(second.map((d) => d.alreadyDelivered)).toEqual([true, true]);
		expect(second.map((d) => d.keyIds)).toEqual(delivered.map((d) => d.keyIds));
		const store = await getStore({ ...cfg, tablePrefix: 'ad_' });
		const stock = await store.stock();
		expect(stock.map((s) => [s.sku, s.available])).toEqual(expect.arrayContaining([['STEAM-50', 1], ['NETFLIX-1M', 0]]));
	});

	it('rejected calls start nothing and claim nothing', async () => {
		const store = await getStore({ ...cfg, tablePrefix: 'ad_' });
		const other = JSON.stringify({ ...ORDER, orderId: 'T-FORGED', items: [{ sku: 'STEAM-50', quantity: 1 }] });
		const forged = await sendSigned(h.url, other, { secret: 'attacker-secret' });
		expect(forged.status).toBe(401);
		expectNothingEmitted(await settled(h));
		const bad = await sendSigned(h.url, JSON.stringify({ ...ORDER, orderId: 'T-BAD', items: [{ sku: 'STEAM-50', quantity: 0 }] }));
		expect(bad.status).toBe(400);
		expectNothingEmitted(await settled(h));
		expect(await store.getDeliveries({ orderId: 'T-FORGED' })).toEqual([]);
		expect(await store.getDeliveries({ orderId: 'T-BAD' })).toEqual([]);
		expect((await store.stock('STEAM-50'))[0].available).toBe(1);
	});
});
