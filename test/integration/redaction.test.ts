/**
 * Issue point 4: a key must never leak into an error text when the webhook or the shop answers
 * with (part of) the request. Real peers only: a local HTTP server (test/helpers/shopServer.ts)
 * that answers 400 / 500 / 200-with-an-error echoing the request body, driven through Notify Buyer
 * (Webhook channel) and Mark Shipped inside n8n's engine, on a real SQLite store file.
 *
 * The echo is padded so that the key starts at every offset from 150 to 230 of the echoed text,
 * i.e. on both sides of the 200-character cut of the HTTP client (and of refusal reasons). The
 * echo comes back as it was sent (the JSON body: key JSON-escaped), wrapped in a JSON error (escaped
 * twice) and re-encoded PHP-style (`\/`, `\uXXXX`). Checked: no substring of a key of 6 characters
 * or more in the node error (message, description, everything n8n keeps of the run), the failed
 * item (continueOnFail), `deliveries.last_error`, the send_failed / ship_failed events, and anything
 * written to stdout / stderr / the console. The seller still sees the status and the start of the
 * answer, with the key masked.
 */
import { randomBytes } from 'node:crypto';

import type { INode, INodeExecutionData, INodeType } from 'n8n-workflow';

import { maskKey } from '../../nodes/core/secrets';
import type { KeyStore } from '../../nodes/core/store';
import { closeAllStores, getStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { MarkShipped } from '../../nodes/MarkShipped/MarkShipped.node';
import { NotifyBuyer } from '../../nodes/NotifyBuyer/NotifyBuyer.node';
import { storeConfigFromCredentials } from '../../nodes/shared/store';
import { captureOutput } from '../helpers/capture';
import { dropStore, storeConfig } from '../helpers/db';
import { MANUAL_TRIGGER_NODE_TYPE, SET_ITEMS_NODE_TYPE, chain, manualTriggerNode, runWorkflow, setItemsNode, type RunResult } from '../helpers/n8nEngine';
import { startShopServer, type ShopPeer } from '../helpers/shopServer';
import { shipParams } from '../helpers/nodeParams';

const NOTIFY = 'n8n-nodes-auto-delivery.notifyBuyer';
const SHIP = 'n8n-nodes-auto-delivery.markShipped';
const nodeTypes: Record<string, INodeType> = {
	[MANUAL_TRIGGER_NODE_TYPE]: manualTriggerNode,
	[SET_ITEMS_NODE_TYPE]: setItemsNode,
	[NOTIFY]: new NotifyBuyer(),
	[SHIP]: new MarkShipped(),
};

const cfg = storeConfig('sqlite');
const keyCred = { database: 'sqlite', sqlitePath: cfg.sqlitePath, encryptionSecret: cfg.encryptionSecret, tablePrefix: 'ad_' };
/** The shop API token (Mark Shipped's bearer credential): kept out of everything too. */
const TOKEN = `tok${randomBytes(12).toString('hex')}`;
const SKU = 'ECHO-KEY';
/** 32-character random keys (base64: letters, digits, `+` and `/`), so any 6-character piece is telling. */
const KEYS = Array.from({ length: 200 }, () => randomBytes(24).toString('base64'));
/** From 150 to 230: the key starts before, across and after the 200-character cut. */
const AROUND_200 = Array.from({ length: 81 }, (_, i) => 150 + i);
/** From 215 to 295: across the 255-character cut of a stored shop reference. */
const AROUND_255 = Array.from({ length: 81 }, (_, i) => 215 + i);

/** Every 6-character piece of every key (and of the token), also as the JSON-escaped, PHP-escaped and URL-encoded text. */
const PIECES = new Set<string>();
for (const k of [...KEYS, TOKEN]) {
	for (const form of [k, JSON.stringify(k).slice(1, -1), k.replace(/\//g, '\\/'), encodeURIComponent(k)]) {
		for (let i = 0; i + 6 <= form.length; i++) PIECES.add(form.slice(i, i + 6));
	}
}
/** The pieces of any key found in `text` (empty: nothing leaked). */
function leaks(text: string): string[] {
	const found = new Set<string>();
	for (let i = 0; i + 6 <= text.length; i++) {
		const piece = text.slice(i, i + 6);
		if (PIECES.has(piece)) found.add(piece);
	}
	return [...found];
}
function expectNoLeak(where: string, text: string): void {
	expect({ where, leaked: leaks(text) }).toEqual({ where, leaked: [] });
}

let n = 0;
const node = (name: string, type: string, parameters: Record<string, unknown>, extra: Partial<INode> = {}): INode =>
	({ id: `n${++n}`, name, type, typeVersion: 1, position: [n * 200, 0], parameters, ...extra }) as INode;
const json = (items: INodeExecutionData[] | undefined) => (items ?? []).map((i) => i.json as Record<string, any>);

let shop: ShopPeer;
let store: KeyStore;
let seq = 0;

const credentials = () => [
	{ type: 'autoDeliveryKeyStore', data: keyCred },
	{ type: 'autoDeliveryShopApi', data: { baseUrl: `${shop.url}/api`, authType: 'bearer', token: TOKEN } },
];
const run = (items: unknown[], last: INode): Promise<RunResult> =>
	runWorkflow(
		{ nodes: [node('Start', MANUAL_TRIGGER_NODE_TYPE, {}), node('Data', SET_ITEMS_NODE_TYPE, { items: JSON.stringify(items) }), last], connections: chain('Start', 'Data', last.name) },
		{ nodeTypes, credentials: credentials() },
	);

// Everything written to stdout/stderr/console while the nodes run.
const captured = captureOutput();

beforeAll(async () => {
	shop = await startShopServer();
	store = await getStore(storeConfigFromCredentials(keyCred as never));
	await store.importKeys({ sku: SKU, keys: KEYS, productName: 'Echo product' });
});
afterAll(async () => {
	await shop?.close();
	await closeAllStores();
	await dropStore(cfg);
});
beforeEach(() => shop.clear());

/** A claimed delivery (one key) and that key; `sent` records a send first, as Notify Buyer would. */
async function delivery(sent = false): Promise<{ id: number; orderId: string; key: string }> {
	const orderId = `ECHO-${++seq}`;
	const r = await store.claim({ orderId, sku: SKU, quantity: 1, reveal: true, buyer: { id: `b${seq}`, name: 'Buyer', email: 'buyer@example.com' } });
	if (!r.delivered) throw new Error(`not delivered: ${r.reason}`);
	if (sent) {
		const b = await store.beginSend(r.delivery.id);
		if (b.kind !== 'go') throw new Error(`beginSend: ${b.kind}`);
		await store.markSent(r.delivery.id, b.token, { channel: 'email', messageId: `<m${r.delivery.id}@test>` });
	}
	return { id: r.delivery.id, orderId, key: r.delivery.keys[0].key as string };
}

/** PHP's json_encode: `/` as `\/`, non-ASCII as `\uXXXX`. */
const phpJson = (v: unknown) => JSON.stringify(v).replace(/\//g, '\\/').replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

type Echo = 'raw' | 'wrapped' | 'php';
/** The echoed text for a request body. */
function echoOf(kind: Echo, rawBody: string): string {
	if (kind === 'raw') return rawBody;
	if (kind === 'wrapped') return JSON.stringify({ error: 'invalid message', request: rawBody });
	return phpJson({ error: 'invalid message', request: JSON.parse(rawBody) });
}

interface Mode {
	title: string;
	status: number;
	echo: Echo;
	/** The peer's answer around the echo. */
	answer: (echo: string) => unknown;
	/** Where the key starts in the echoed text. */
	offsets: number[];
	/** What the error must still say (the status and the start of the answer). */
	says: (echo: string) => RegExp;
	/** The mask of the key is shown when it lies wholly before this cut. */
	cut?: number;
}
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const refused400 = (echo: string) => new RegExp(`The server refused the request: 400 Bad Request — ${esc(echo.slice(0, 20))}`);
const MODES: Record<string, Mode> = {
	raw400: { title: '400 echoing the request body', status: 400, echo: 'raw', answer: (e) => e, offsets: AROUND_200, says: refused400, cut: 200 },
	wrapped400: { title: '400, the body inside a JSON error (escaped twice)', status: 400, echo: 'wrapped', answer: (e) => e, offsets: AROUND_200, says: refused400, cut: 200 },
	php400: { title: '400, the body re-encoded PHP-style (\\/ and \\uXXXX)', status: 400, echo: 'php', answer: (e) => e, offsets: AROUND_200, says: refused400, cut: 200 },
	echo500: {
		title: '500 echoing the request body, every attempt',
		status: 500,
		echo: 'raw',
		answer: (e) => e,
		offsets: AROUND_200,
		says: () => /The server answered 500 Internal Server Error\. Gave up after 2 attempts\./,
	},
	errcode200: {
		title: '200 with errcode ≠ 0, the body in errmsg',
		status: 200,
		echo: 'raw',
		answer: (e) => ({ errcode: 40001, errmsg: e }),
		offsets: AROUND_200,
		says: (e) => new RegExp(`answered 200 but refused the message \\(errcode 40001: ${esc(e.slice(0, 20))}`),
		cut: 200,
	},
	okFalse200: {
		title: '200 with ok: false, the body in description',
		status: 200,
		echo: 'raw',
		answer: (e) => ({ ok: false, description: e }),
		offsets: AROUND_200,
		says: (e) => new RegExp(`answered 200 but refused the message \\(ok: false \\(${esc(e.slice(0, 20))}`),
		cut: 200,
	},
};

/** The peer answers every request with the mode's answer and notes where the key starts in the echo. */
function answerWith(mode: Mode, key: string, seen: number[]): void {
	shop.respondWith('*', (req) => {
		const echo = echoOf(mode.echo, req.rawBody);
		const at = [key, key.replace(/\//g, '\\/')].map((f) => echo.indexOf(f)).filter((i) => i >= 0);
		seen.push(at.length ? Math.min(...at) : -1);
		return { status: mode.status, body: mode.answer(echo) };
	});
}

/** Padding that puts the key at `offset` of the echo; `rawBody(pad, key)` is what the node sends. */
function padFor(mode: Mode, rawBody: (pad: string, key: string) => string, offset: number): string {
	const marker = 'MARKERMARKERMARKER';
	const base = echoOf(mode.echo, rawBody('', marker)).indexOf(marker);
	if (base < 0 || base > offset) throw new Error(`cannot place the key at ${offset} (base ${base})`);
	return 'p'.repeat(offset - base);
}

async function stored(deliveryId: number, type: 'send_failed' | 'ship_failed'): Promise<{ lastError: string; events: Array<Record<string, unknown>> }> {
	const row = await internals(store).db(internals(store).t.deliveries).where({ id: deliveryId }).first();
	const events = (await internals(store).db(internals(store).t.events).where({ delivery_id: deliveryId, type }).select('*')) as Array<Record<string, unknown>>;
	return { lastError: String(row.last_error ?? ''), events };
}

/** Checks the error text of one failure: useful (status, start of the answer, the mask) and without any piece of the key. */
function checkMessage(where: string, message: string, mode: Mode, key: string, offset: number, echo: string): void {
	expectNoLeak(where, message);
	expect(message).toMatch(mode.says(echo));
	// PHP-style echo of a key whose only '/' is its first character: `\/abc…` holds the key as it is after
	// the '\', so the mask replaces it there and lands one character later than the echo's offset.
	const shift = mode.echo === 'php' && key.startsWith('/') && !key.includes('/', 1) ? 1 : 0;
	if (mode.cut !== undefined && offset + shift + maskKey(key).length <= mode.cut) expect(message).toContain(maskKey(key));
}

// ------------------------------------------------------------------------------------------------

describe('Notify Buyer (Webhook): an answer echoing the key, at every offset around the cut', () => {
	const rawBody = (pad: string, key: string) => JSON.stringify({ pad, msg: key, n: 1 });
	const notifyNode = (mode: Mode, jsonBody: string, extra: Partial<INode> = {}) =>
		node('Notify', NOTIFY, { channel: 'webhook', webhookUrl: `${shop.url}/hook/echo`, jsonBody, options: { backoffMs: 5, retries: mode.status >= 500 ? 1 : 0 } }, extra);

	it.each(Object.keys(MODES).map((k) => [k, MODES[k].title]))('%s: %s', async (name) => {
		const mode = MODES[name];
		const d = await delivery();
		const seen: number[] = [];
		answerWith(mode, d.key, seen);

		// continueOnFail off: one run per offset, the node fails
		for (const offset of mode.offsets) {
			const pad = padFor(mode, rawBody, offset);
			const r = await run([{ deliveryId: d.id }], notifyNode(mode, `{"pad":"${pad}","msg":"{发货内容}","n":{数量}}`));
			expect(r.status).toBe('error');
			const echo = echoOf(mode.echo, rawBody(pad, d.key));
			checkMessage(`${name} @${offset}: node error`, r.error!.message, mode, d.key, offset, echo);
			expectNoLeak(`${name} @${offset}: node error description`, String((r.error as { description?: string }).description ?? ''));
			expectNoLeak(`${name} @${offset}: run data`, JSON.stringify(r.raw));
			const s = await stored(d.id, 'send_failed');
			checkMessage(`${name} @${offset}: last_error`, s.lastError, mode, d.key, offset, echo);
		}
		expect(new Set(seen)).toEqual(new Set(mode.offsets));

		// continueOnFail on: every offset as one item each, in one run; the failed items carry the error
		const c = await run(
			mode.offsets.map((offset) => ({ deliveryId: d.id, pad: padFor(mode, rawBody, offset) })),
			notifyNode(mode, '={"pad":"{{ $json.pad }}","msg":"{发货内容}","n":{数量}}', { onError: 'continueRegularOutput' }),
		);
		expect(c.status).toBe('success');
		const items = json(c.outputs.Notify[0]);
		expect(items).toHaveLength(mode.offsets.length);
		items.forEach((item, i) => {
			const offset = mode.offsets[i];
			expect(item.notify).toMatchObject({ sent: false, channel: 'webhook' });
			checkMessage(`${name} @${offset}: failed item`, item.notify.error, mode, d.key, offset, echoOf(mode.echo, rawBody(item.pad, d.key)));
		});
		expectNoLeak(`${name}: continueOnFail run data`, JSON.stringify(c.raw));

		const s = await stored(d.id, 'send_failed');
		expect(s.events).toHaveLength(mode.offsets.length * 2);
		expectNoLeak(`${name}: send_failed events`, JSON.stringify(s.events));
		expectNoLeak(`${name}: whole store`, JSON.stringify([await internals(store).db(internals(store).t.deliveries).select('*'), await internals(store).db(internals(store).t.events).select('*')]));
		expect(await store.getDeliveryById(d.id)).toMatchObject({ status: 'claimed', sendCount: 0 });
	});
});

describe('Mark Shipped: a shop answer echoing the key (the body sends {deliveryContent}), at every offset around the cut', () => {
	const rawBody = (pad: string, key: string) => `{"pad":"${pad}","content":"${JSON.stringify(key).slice(1, -1)}"}`;
	const shipNode = (mode: Mode, body: string, extra: Partial<INode> = {}) =>
		node('Ship', SHIP, shipParams(body, { backoffMs: 5, timeoutMs: 3000, retries: mode.status >= 500 ? 1 : 0 }), extra);
	const shipModes = ['raw400', 'wrapped400', 'php400', 'echo500'];

	it.each(shipModes.map((k) => [k, MODES[k].title]))('%s: %s', async (name) => {
		const mode = MODES[name];
		const d = await delivery(true);
		const seen: number[] = [];
		answerWith(mode, d.key, seen);

		for (const offset of mode.offsets) {
			const pad = padFor(mode, rawBody, offset);
			const r = await run([{ deliveryId: d.id }], shipNode(mode, `{"pad":"${pad}","content":"{deliveryContent}"}`));
			expect(r.status).toBe('error');
			const echo = echoOf(mode.echo, rawBody(pad, d.key));
			checkMessage(`${name} @${offset}: node error`, r.error!.message, mode, d.key, offset, echo);
			expectNoLeak(`${name} @${offset}: node error description`, String((r.error as { description?: string }).description ?? ''));
			expectNoLeak(`${name} @${offset}: run data`, JSON.stringify(r.raw));
			const s = await stored(d.id, 'ship_failed');
			checkMessage(`${name} @${offset}: last_error`, s.lastError, mode, d.key, offset, echo);
		}
		expect(new Set(seen)).toEqual(new Set(mode.offsets));

		const c = await run(
			mode.offsets.map((offset) => ({ deliveryId: d.id, pad: padFor(mode, rawBody, offset) })),
			shipNode(mode, '={"pad":"{{ $json.pad }}","content":"{deliveryContent}"}', { onError: 'continueRegularOutput' }),
		);
		expect(c.status).toBe('success');
		const [shipped, notSent] = c.outputs.Ship;
		expect(shipped).toEqual([]);
		const items = json(notSent);
		expect(items).toHaveLength(mode.offsets.length);
		items.forEach((item, i) => {
			const offset = mode.offsets[i];
			expect(item.ship).toMatchObject({ shipped: false, reason: 'error' });
			const echo = echoOf(mode.echo, rawBody(item.pad, d.key));
			checkMessage(`${name} @${offset}: failed item ship.error`, item.ship.error, mode, d.key, offset, echo);
			checkMessage(`${name} @${offset}: failed item error`, item.error, mode, d.key, offset, echo);
		});
		expectNoLeak(`${name}: continueOnFail run data`, JSON.stringify(c.raw));

		const s = await stored(d.id, 'ship_failed');
		expect(s.events).toHaveLength(mode.offsets.length * 2);
		expectNoLeak(`${name}: ship_failed events`, JSON.stringify(s.events));
		expectNoLeak(`${name}: whole store`, JSON.stringify([await internals(store).db(internals(store).t.deliveries).select('*'), await internals(store).db(internals(store).t.events).select('*')]));
		expect(await store.getDeliveryById(d.id)).toMatchObject({ status: 'sent', shippedAt: null });
	});

	it('200 with the body echoed as the shop reference: stored and output masked, also across the 255-character cut', async () => {
		const mode: Mode = { title: 'reference', status: 200, echo: 'raw', answer: (e) => ({ ok: true, reference: e }), offsets: AROUND_255, says: () => /./ };
		for (const offset of mode.offsets) {
			const d = await delivery(true);
			const seen: number[] = [];
			answerWith(mode, d.key, seen);
			const pad = padFor(mode, rawBody, offset);
			const r = await run([{ deliveryId: d.id }], shipNode(mode, `{"pad":"${pad}","content":"{deliveryContent}"}`));
			expect(r.status).toBe('success');
			expect(seen).toEqual([offset]);
			const [item] = json(r.outputs.Ship[0]);
			expect(item.ship.shopReference).toMatch(/^\{"pad":"p{20}/);
			if (offset + maskKey(d.key).length <= 255) expect(item.ship.shopReference).toContain(maskKey(d.key));
			expectNoLeak(`reference @${offset}: run data`, JSON.stringify(r.raw));
			expectNoLeak(`reference @${offset}: stored`, JSON.stringify(await internals(store).db(internals(store).t.deliveries).where({ id: d.id }).first()));
		}
	});
});

describe('logs (after every run above)', () => {
	it('nothing written to stdout, stderr or the console carries a piece of a key', () => {
		expectNoLeak('stdout/stderr/console', captured.join('\n'));
	});
});
