/**
 * Mark Shipped inside n8n's own engine (n8n-core WorkflowExecute on workflow JSON) against real
 * peers: a local HTTP server playing the shop (test/helpers/shopServer.ts, with fault injection),
 * real SQLite and PostgreSQL stores, an HTTPS server with a self-signed certificate for the
 * credential test, and several OS processes racing to ship the same deliveries.
 *
 * Promise 4 (no 虚假发货): a delivery without a recorded send is refused and the shop hears
 * nothing, unless the seller overrides. Promise 6: no plaintext key in the node output, the
 * execution data, the audit events, the stored error or anything written to the console.
 */
import * as net from 'node:net';

import type { ICredentialDataDecryptedObject, INode, INodeExecutionData, INodeType } from 'n8n-workflow';

import { closeAllStores, getStore } from '../../nodes/core/store';
import type { KeyStore } from '../../nodes/core/store';
import { internals } from '../../nodes/core/store/internals';
import { shipDelivery } from '../../nodes/core/delivery';
import { MarkShipped } from '../../nodes/MarkShipped/MarkShipped.node';
import { shopTargetFromCredentials, testShopApiCredential } from '../../nodes/shared/shopApi';
import { storeConfigFromCredentials } from '../../nodes/shared/store';
import { type DbKind, describeDb, dropStore, storeConfig } from '../helpers/db';
import { MANUAL_TRIGGER_NODE_TYPE, SET_ITEMS_NODE_TYPE, chain, manualTriggerNode, runWorkflow, setItemsNode } from '../helpers/n8nEngine';
import { startShopServer, type ShopPeer } from '../helpers/shopServer';
import { startTlsServer, type TlsPeer } from '../helpers/tlsServer';
import { raceShips, type ShipJob } from './workers/shipWorker';
import { captureOutput } from '../helpers/capture';
import { shipParams } from '../helpers/nodeParams';

const SHIP = 'n8n-nodes-auto-delivery.markShipped';
const TOKEN = 'shop-api-token-9f8e7d6c5b4a';
const nodeTypes: Record<string, INodeType> = {
	[MANUAL_TRIGGER_NODE_TYPE]: manualTriggerNode,
	[SET_ITEMS_NODE_TYPE]: setItemsNode,
	[SHIP]: new MarkShipped(),
};

let n = 0;
const node = (name: string, type: string, parameters: Record<string, unknown>, extra: Partial<INode> = {}): INode =>
	({ id: `n${++n}`, name, type, typeVersion: 1, position: [n * 200, 0], parameters, ...extra }) as INode;
const json = (items: INodeExecutionData[] | undefined) => (items ?? []).map((i) => i.json);

// Everything written to stdout/stderr/console while the nodes run, to prove no key reaches a log.
const captured = captureOutput();
afterAll(async () => {
	await closeAllStores();
});

let shop: ShopPeer;
beforeAll(async () => {
	shop = await startShopServer();
});
afterAll(async () => {
	await shop.close();
});

/** Every key this file ever imports; none may show up where it must not. */
const ALL_KEYS: string[] = [];

function suite(kind: DbKind) {
	const cfg = storeConfig(kind);
	const keyCred: ICredentialDataDecryptedObject = {
		database: kind,
		sqlitePath: cfg.sqlitePath ?? '',
		host: cfg.host ?? '',
		port: cfg.port ?? 0,
		databaseName: cfg.databaseName ?? '',
		user: cfg.user ?? '',
		password: cfg.password ?? '',
		encryptionSecret: cfg.encryptionSecret,
		tablePrefix: cfg.tablePrefix ?? 'ad_',
	};
	const shopCred = () => ({ baseUrl: `${shop.url}/api/`, authType: 'bearer', token: TOKEN, ignoreSslIssues: false });
	const credentials = () => [
		{ type: 'autoDeliveryKeyStore', data: keyCred },
		{ type: 'autoDeliveryShopApi', data: shopCred() },
	];
	const SKU = `${kind.toUpperCase()}-GAME`;
	const key = (i: number) => `${kind.toUpperCase()}-KEY-${String(i).padStart(4, '0')}-SECRET-${(i * 7919).toString(36).toUpperCase()}`;
	const POOL = 120;
	let store: KeyStore;
	let seq = 0;

	beforeAll(async () => {
		store = await getStore(storeConfigFromCredentials(keyCred));
		const keys = Array.from({ length: POOL }, (_, i) => key(i));
		ALL_KEYS.push(...keys);
		await store.importKeys({ sku: SKU, keys, productName: '游戏 "Game" 50' });
	});
	afterAll(async () => {
		await closeAllStores();
		await dropStore(cfg);
	});
	beforeEach(() => shop.clear());

	/** A fresh claimed delivery (and its plaintext keys). */
	async function claimed(quantity = 1, orderId = `${kind}-T${++seq}`) {
		const r = await store.claim({ orderId, sku: SKU, quantity, reveal: true, buyer: { id: 'u1', name: '小明 "Ming"', email: 'ming@example.com' } });
		if (!r.delivered) throw new Error(`not delivered: ${r.reason}`);
		return { id: r.delivery.id, orderId, keys: r.delivery.keys.map((k) => k.key as string) };
	}
	/** A delivery with a recorded send, set up directly in the store as Notify Buyer would. */
	async function sent(quantity = 1, orderId?: string) {
		const d = await claimed(quantity, orderId);
		const b = await store.beginSend(d.id);
		if (b.kind !== 'go') throw new Error(`beginSend: ${b.kind}`);
		await store.markSent(d.id, b.token, { channel: 'email', messageId: `<m${d.id}@test>` });
		return d;
	}
	const shipPath = (orderId: string) => `/api/orders/${encodeURIComponent(orderId)}/ship`;
	const shipNode = (params: Record<string, unknown> = {}, extra: Partial<INode> = {}) =>
		node('Ship', SHIP, { ...shipParams('{"orderId": "{orderId}", "status": "shipped"}', { backoffMs: 5, timeoutMs: 3000 }), ...params }, extra);
	const run = (items: unknown[], ship: INode, creds = credentials()) =>
		runWorkflow(
			{ nodes: [node('Start', MANUAL_TRIGGER_NODE_TYPE, {}), node('Data', SET_ITEMS_NODE_TYPE, { items: JSON.stringify(items) }), ship], connections: chain('Start', 'Data', 'Ship') },
			{ nodeTypes, credentials: creds },
		);
	const itemIndexOf = (e: unknown) => (e as { context?: { itemIndex?: number } }).context?.itemIndex;
	const events = async (orderId: string, type?: string) => (await store.listEvents({ orderId, type })).reverse();
	async function storeText(): Promise<string> {
		return JSON.stringify([await internals(store).db(internals(store).t.events).select('*'), await internals(store).db(internals(store).t.deliveries).select('*')]);
	}

	it('a delivery not sent yet is refused (fake shipping / 虚假发货) and the shop receives nothing', async () => {
		const d = await claimed();
		const r = await run([{ deliveryId: d.id, note: 'kept' }], shipNode());
		expect(r.status).toBe('success');
		const [shipped, notSent] = r.outputs.Ship;
		expect(shipped).toEqual([]);
		expect(json(notSent)).toEqual([
			expect.objectContaining({ note: 'kept', deliveryId: d.id, orderId: d.orderId, sku: SKU, status: 'claimed', ship: { shipped: false, reason: 'not_sent', message: expect.stringMatching(/fake shipping \(虚假发货\)/) } }),
		]);
		expect(notSent[0].pairedItem).toEqual({ item: 0 });

		// "When Not Sent: Stop With Error": the node fails with the same message, tied to the item.
		const s = await run([{ deliveryId: d.id }], shipNode({ whenNotSent: 'error' }));
		expect(s.status).toBe('error');
		expect(s.error?.message).toMatch(/has not been sent to the buyer yet: marking it shipped now would be fake shipping \(虚假发货\)/);
		expect(itemIndexOf(s.error)).toBe(0);

		// Record Only is refused the same way.
		const ro = await run([{ deliveryId: d.id }], shipNode({ mode: 'recordOnly', shopReference: 'X' }));
		expect(json(ro.outputs.Ship[1])[0].ship).toMatchObject({ shipped: false, reason: 'not_sent' });

		expect(shop.requests).toHaveLength(0);
		const after = await store.getDeliveryById(d.id);
		expect(after).toMatchObject({ status: 'claimed', shippedAt: null, shopReference: null });
		expect((await events(d.orderId, 'ship_refused')).map((e) => e.details)).toEqual([{ reason: 'not_sent' }, { reason: 'not_sent' }, { reason: 'not_sent' }]);
		expect(await events(d.orderId, 'shipped')).toEqual([]);
	});

	it('send → ship: exactly one call with the right method, URL-encoded path, JSON body (EN/中文 variables) and auth header', async () => {
		const d = await sent(2, `${kind}-订单 A/1?#`);
		const body = '{"订单号": "{订单号}", "product": "{productName}", "商品": "{商品名称}", "qty": {数量}, "quantity": "{quantity}", "buyer": "{buyerName}", "买家": "{买家昵称}", "date": "{购买日期}", "note": "Order {orderId} shipped"}';
		const r = await run([{ deliveryId: d.id, buyer: { id: 'u1' } }], shipNode({ method: 'PUT', body }));
		expect(r.status).toBe('success');
		expect(shop.requests).toHaveLength(1);
		const [req] = shop.requests;
		expect(req.method).toBe('PUT');
		expect(req.path).toBe(shipPath(d.orderId));
		expect(req.path).toContain('%E8%AE%A2%E5%8D%95%20A%2F1%3F%23');
		expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
		expect(req.headers['content-type']).toMatch(/^application\/json/);
		const created = (await store.getDeliveryById(d.id))!.createdAt;
		const date = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
			.format(new Date(created)).replace(', ', ' ');
		expect(req.body).toEqual({
			订单号: d.orderId,
			product: '游戏 "Game" 50',
			商品: '游戏 "Game" 50',
			qty: 2,
			quantity: '2',
			buyer: '小明 "Ming"',
			买家: '小明 "Ming"',
			date,
			note: `Order ${d.orderId} shipped`,
		});

		const [shipped, notSent] = r.outputs.Ship;
		expect(notSent).toEqual([]);
		expect(json(shipped)).toEqual([
			{
				deliveryId: d.id,
				orderId: d.orderId,
				shop: null,
				sku: SKU,
				status: 'shipped',
				buyer: { id: 'u1' },
				ship: { shipped: true, alreadyShipped: false, shopReference: 'SHIP-1', shippedAt: expect.any(String), attempts: 1, recordOnly: false, httpStatus: 200 },
			},
		]);
		expect(shipped[0].pairedItem).toEqual({ item: 0 });
		expect(await store.getDeliveryById(d.id)).toMatchObject({ status: 'shipped', shopReference: 'SHIP-1', lastError: null });
		expect((await events(d.orderId, 'shipped')).map((e) => e.details)).toEqual([{ shopReference: 'SHIP-1', recordOnly: false }]);

		// Idempotent: shipping again (found by order ID + SKU this time) calls nothing.
		const again = await run([{ orderId: d.orderId, sku: SKU }], shipNode({ lookup: 'order', orderId: '={{ $json.orderId }}', sku: '={{ $json.sku }}' }));
		expect(json(again.outputs.Ship[0])).toEqual([
			expect.objectContaining({ status: 'shipped', ship: { shipped: true, alreadyShipped: true, shopReference: 'SHIP-1', shippedAt: json(shipped)[0].ship && (json(shipped)[0].ship as { shippedAt: string }).shippedAt, attempts: 0, recordOnly: false } }),
		]);
		expect(shop.requests).toHaveLength(1);
		expect(await events(d.orderId, 'shipped')).toHaveLength(1);
		expect(JSON.stringify(r.raw) + JSON.stringify(again.raw)).not.toContain(TOKEN);
	});

	it('500, 500, OK → 3 calls, shipped', async () => {
		const d = await sent();
		shop.faults(shipPath(d.orderId), [500, 500, 'ok']);
		const r = await run([{ deliveryId: d.id }], shipNode());
		expect(shop.requests.map((q) => q.outcome)).toEqual([500, 500, 200]);
		expect(json(r.outputs.Ship[0])[0].ship).toMatchObject({ shipped: true, attempts: 3, shopReference: 'SHIP-1' });
		expect(await store.getDeliveryById(d.id)).toMatchObject({ status: 'shipped', shopReference: 'SHIP-1' });
	});

	it('4 × 500 → gives up after 4 attempts: ship_failed recorded, still "sent"; continueOnFail passes the item on marked failed', async () => {
		const d = await sent();
		shop.faults(shipPath(d.orderId), [500, 502, 503, 500]);
		const r = await run([{ deliveryId: d.id }], shipNode());
		expect(shop.requests).toHaveLength(4);
		expect(r.status).toBe('error');
		expect(r.error?.name).toBe('NodeApiError');
		expect(r.error?.message).toBe('Shop API call failed: The server answered 500 Internal Server Error. Gave up after 4 attempts.');
		expect((r.error as unknown as { httpCode?: string }).httpCode).toBe('500');
		expect(itemIndexOf(r.error)).toBe(0);
		const after = await store.getDeliveryById(d.id);
		expect(after).toMatchObject({ status: 'sent', shippedAt: null, lastError: 'Shop API call failed: The server answered 500 Internal Server Error. Gave up after 4 attempts.' });
		expect((await events(d.orderId, 'ship_failed')).map((e) => e.details)).toEqual([{ error: after!.lastError, status: 500 }]);

		shop.clear();
		shop.faults(shipPath(d.orderId), [500, 500, 500, 500]);
		const c = await run([{ deliveryId: d.id, keep: 1 }], shipNode({}, { onError: 'continueRegularOutput' }));
		expect(c.status).toBe('success');
		expect(shop.requests).toHaveLength(4);
		expect(c.outputs.Ship[0]).toEqual([]);
		expect(json(c.outputs.Ship[1])).toEqual([
			{
				deliveryId: d.id,
				keep: 1,
				error: expect.stringMatching(/Gave up after 4 attempts/),
				ship: { shipped: false, reason: 'error', error: expect.stringMatching(/Gave up after 4 attempts/), httpStatus: 500, attempts: 4 },
			},
		]);
		expect(c.outputs.Ship[1][0].pairedItem).toEqual({ item: 0 });

		// The shop is back: the same delivery ships on the next run.
		shop.clear();
		const ok = await run([{ deliveryId: d.id }], shipNode());
		expect(json(ok.outputs.Ship[0])[0]).toMatchObject({ status: 'shipped', ship: { shipped: true, attempts: 1 } });
		expect(await store.getDeliveryById(d.id)).toMatchObject({ status: 'shipped', lastError: null });
	});

	it('400 → exactly one call, a clear error, ship_failed recorded', async () => {
		const d = await sent();
		shop.faults(shipPath(d.orderId), [400]);
		const r = await run([{ deliveryId: d.id }], shipNode());
		expect(shop.requests).toHaveLength(1);
		expect(r.status).toBe('error');
		expect(r.error?.message).toMatch(/^Shop API call failed: The server refused the request: 400 Bad Request — \{"ok":false,"error":"Bad Request"\}\. Not retried/);
		expect(await store.getDeliveryById(d.id)).toMatchObject({ status: 'sent', lastError: expect.stringMatching(/400 Bad Request/) });
		expect(await events(d.orderId, 'ship_failed')).toHaveLength(1);
	});

	it('a timeout and dropped connections are retried', async () => {
		const d1 = await sent();
		const d2 = await sent();
		shop.faults(shipPath(d1.orderId), ['timeout', 'ok']);
		shop.faults(shipPath(d2.orderId), ['reset', 'reset', 'ok']);
		const r = await run([{ deliveryId: d1.id }, { deliveryId: d2.id }], shipNode({ options: { backoffMs: 5, timeoutMs: 400 } }));
		expect(r.status).toBe('success');
		expect(shop.requests.filter((q) => q.path === shipPath(d1.orderId)).map((q) => q.outcome)).toEqual(['timeout', 200]);
		expect(shop.requests.filter((q) => q.path === shipPath(d2.orderId)).map((q) => q.outcome)).toEqual(['reset', 'reset', 200]);
		expect(json(r.outputs.Ship[0]).map((x) => (x.ship as { attempts: number }).attempts)).toEqual([2, 3]);
		expect(r.outputs.Ship[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
	});

	it('{deliveryContent} reaches the shop decrypted — and nothing else: not the output, the events, the stored error or the console', async () => {
		const spy = jest.spyOn(store, 'beginShip');
		try {
			const d = await sent(2);
			const r = await run([{ deliveryId: d.id }], shipNode({ body: '{"order": "{订单号}", "content": "{发货内容}", "codes": {deliveryContent}}' }));
			expect(r.status).toBe('success');
			expect(shop.requests).toHaveLength(1);
			expect(shop.requests[0].body).toEqual({ order: d.orderId, content: `${d.keys[0]}\n${d.keys[1]}`, codes: `${d.keys[0]}\n${d.keys[1]}` });
			expect(spy.mock.calls.at(-1)?.[1]).toMatchObject({ reveal: true });
			const out = JSON.stringify(r.raw);
			for (const k of d.keys) expect(out).not.toContain(k);

			// Without {deliveryContent} the keys are not even decrypted.
			const d2 = await sent();
			await run([{ deliveryId: d2.id }], shipNode());
			expect(spy.mock.calls.at(-1)?.[1]).toMatchObject({ reveal: false });

			// A shop whose 400 answer echoes the request (keys, auth header): the error is scrubbed everywhere.
			const d3 = await sent(2);
			shop.respondWith(shipPath(d3.orderId), (req) => ({ status: 400, body: { error: 'rejected', echo: req.rawBody, auth: req.headers.authorization } }));
			const e = await run([{ deliveryId: d3.id }], shipNode({ body: '{"content": "{deliveryContent}"}' }));
			expect(shop.requests).toHaveLength(3);
			expect(shop.requests[2].body).toEqual({ content: d3.keys.join('\n') });
			expect(e.status).toBe('error');
			expect(e.error?.message).toMatch(/400 Bad Request/);
			const c = await run([{ deliveryId: d3.id }], shipNode({ body: '{"content": "{deliveryContent}"}' }, { onError: 'continueRegularOutput' }));
			expect(json(c.outputs.Ship[1])[0].ship).toMatchObject({ shipped: false, reason: 'error', httpStatus: 400 });
			const failed = await store.getDeliveryById(d3.id);
			expect(failed?.lastError).toMatch(/400 Bad Request/);
			const seen = [JSON.stringify(e.raw), String(e.error?.message), JSON.stringify(e.error), JSON.stringify(c.raw), JSON.stringify(failed), await storeText(), captured.join('\n')].join('\n');
			for (const k of [...d.keys, ...d3.keys]) expect(seen).not.toContain(k);
			expect(seen).not.toContain(TOKEN);
			expect(seen).toContain('Bearer');
		} finally {
			spy.mockRestore();
		}
	});

	it('Record Only: no API call, the reference recorded; the event says so', async () => {
		const d = await sent();
		const r = await run([{ deliveryId: d.id }], shipNode({ mode: 'recordOnly', shopReference: 'SF-12345' }), [{ type: 'autoDeliveryKeyStore', data: keyCred }]);
		expect(r.status).toBe('success');
		expect(shop.requests).toHaveLength(0);
		expect(json(r.outputs.Ship[0])[0]).toMatchObject({ status: 'shipped', ship: { shipped: true, alreadyShipped: false, recordOnly: true, attempts: 0, shopReference: 'SF-12345' } });
		expect((await events(d.orderId, 'shipped')).map((e) => e.details)).toEqual([{ shopReference: 'SF-12345', recordOnly: true }]);
	});

	it('override (Require Sent off) ships a claimed delivery and the event records it', async () => {
		const d = await claimed();
		const r = await run([{ deliveryId: d.id }], shipNode({ requireSent: false }));
		expect(shop.requests).toHaveLength(1);
		expect(json(r.outputs.Ship[0])[0]).toMatchObject({ status: 'shipped', ship: { shipped: true, withoutRecordedSend: true, shopReference: 'SHIP-1' } });
		expect((await events(d.orderId, 'shipped')).map((e) => e.details)).toEqual([{ shopReference: 'SHIP-1', recordOnly: false, withoutRecordedSend: true }]);
		expect(await store.getDeliveryById(d.id)).toMatchObject({ status: 'shipped', sentAt: null });
	});

	it('a revoked delivery is never marked shipped: Not Sent output, reason revoked (also with the override and Stop With Error)', async () => {
		const a = await sent();
		const b = await claimed();
		await store.revoke({ orderId: a.orderId, reason: 'refund' });
		await store.revoke({ orderId: b.orderId, reason: 'refund' });
		const r = await run([{ deliveryId: a.id }, { deliveryId: b.id }], shipNode({ whenNotSent: 'error' }));
		const o = await run([{ deliveryId: b.id }], shipNode({ requireSent: false }));
		expect(r.status).toBe('success');
		expect(shop.requests).toHaveLength(0);
		expect(r.outputs.Ship[0]).toEqual([]);
		expect(json(r.outputs.Ship[1]).map((x) => [x.status, (x.ship as { reason: string }).reason])).toEqual([['revoked', 'revoked'], ['revoked', 'revoked']]);
		expect((json(r.outputs.Ship[1])[0].ship as { message: string }).message).toMatch(/refunded\/revoked \(refund\): a revoked delivery is never marked shipped/);
		expect(json(o.outputs.Ship[1])[0]).toMatchObject({ status: 'revoked', ship: { shipped: false, reason: 'revoked' } });
	});

	it('the Shop Reference Field reads a dotted path; a missing one stores no reference', async () => {
		const d = await sent();
		const d2 = await sent();
		shop.respondWith(shipPath(d.orderId), () => ({ status: 201, body: { data: { shipments: [{ id: 7788 }] } } }));
		const r = await run([{ deliveryId: d.id }], shipNode({ referenceField: 'data.shipments.0.id' }));
		expect(json(r.outputs.Ship[0])[0].ship).toMatchObject({ shipped: true, shopReference: '7788', httpStatus: 201 });
		const r2 = await run([{ deliveryId: d2.id }], shipNode({ referenceField: 'nothing.here' }));
		expect(json(r2.outputs.Ship[0])[0].ship).toMatchObject({ shipped: true, shopReference: null });
	});

	it('bad input fails with the field named and changes nothing (no call, no lease, no event)', async () => {
		const d = await sent();
		const before = await store.getDeliveryById(d.id);
		const cases: Array<[Record<string, unknown>, RegExp]> = [
			[{ path: 'https://evil.example/steal' }, /Path must be relative to the Base URL/],
			[{ path: '/orders/{orderid}/{shipId}' }, /Unknown variable in the Path: \{shipId\}/],
			[{ path: '/orders/{deliveryContent}' }, /not allowed in the Path/],
			[{ body: '{"orderId": "{orderId}",}' }, /The JSON Body is not valid JSON/],
			[{ referenceField: 'data..id' }, /Shop Reference Field/],
			[{ options: { timeZone: 'Mars/Olympus' } }, /Unknown time zone/],
			[{ deliveryId: '={{ "abc" }}' }, /Delivery ID must be a whole number/],
		];
		for (const [params, message] of cases) {
			const r = await run([{ deliveryId: d.id }], shipNode(params));
			expect({ params, status: r.status }).toEqual({ params, status: 'error' });
			expect(r.error?.message).toMatch(message);
			expect(itemIndexOf(r.error)).toBe(0);
		}
		const noBase = await run([{ deliveryId: d.id }], shipNode(), [{ type: 'autoDeliveryKeyStore', data: keyCred }, { type: 'autoDeliveryShopApi', data: { ...shopCred(), baseUrl: '' } }]);
		expect(noBase.error?.message).toMatch(/No Base URL is set/);
		expect(shop.requests).toHaveLength(0);
		expect(await store.getDeliveryById(d.id)).toEqual(before);
		expect((await events(d.orderId)).map((e) => e.type)).toEqual(['claimed', 'sent']);
	});

	it('10 concurrent executions shipping one delivery → exactly one shop call', async () => {
		const d = await sent();
		const runs = await Promise.all(Array.from({ length: 10 }, () => run([{ deliveryId: d.id }], shipNode())));
		expect(runs.map((r) => r.status)).toEqual(Array(10).fill('success'));
		expect(shop.requests).toHaveLength(1);
		const ships = runs.map((r) => json(r.outputs.Ship[0])[0].ship as { alreadyShipped: boolean; shopReference: string });
		expect(ships.filter((s) => !s.alreadyShipped)).toHaveLength(1);
		expect(ships.filter((s) => s.alreadyShipped)).toHaveLength(9);
		expect(new Set(ships.map((s) => s.shopReference))).toEqual(new Set(['SHIP-1']));
		expect(await events(d.orderId, 'shipped')).toHaveLength(1);
	});

	it('10 concurrent ship attempts while the first call hangs: the others wait for its lease and call nothing', async () => {
		const d = await sent();
		shop.faults(shipPath(d.orderId), ['timeout', 'ok']);
		const target = shopTargetFromCredentials(shopCred());
		const outcomes = await Promise.all(
			Array.from({ length: 10 }, () => shipDelivery(store, { deliveryId: d.id, shop: target, request: { path: '/orders/{orderId}/ship', body: '{"o": "{orderId}"}', timeoutMs: 500, backoffMs: 5 } })),
		);
		// Both requests come from the one holder of the lease: a timed-out attempt and its retry.
		expect(shop.requests.map((q) => q.outcome)).toEqual(['timeout', 200]);
		const fresh = outcomes.filter((o) => o.outcome === 'shipped' && !o.alreadyShipped);
		expect(fresh).toHaveLength(1);
		expect(fresh[0]).toMatchObject({ attempts: 2 });
		expect(outcomes.filter((o) => o.outcome === 'shipped' && o.alreadyShipped)).toHaveLength(9);
	});

	it('3 OS processes × 4 in flight, each trying every one of 6 deliveries → one shop call per delivery', async () => {
		const ds = [];
		for (let i = 0; i < 6; i++) ds.push(await sent());
		const target = shopTargetFromCredentials(shopCred());
		const jobs: ShipJob[] = ds.map((d) => ({ deliveryId: d.id, shop: target, request: { path: '/orders/{orderId}/ship', body: '{"o": "{orderId}"}', backoffMs: 5 } }));
		// every process walks the deliveries in a different order, twice
		const perProcess = [0, 1, 2].map((p) => [...jobs.slice(p * 2), ...jobs.slice(0, p * 2)].flatMap((j) => [j, j]));
		const results = (await raceShips(storeConfigFromCredentials(keyCred), perProcess, 4)).flat();
		expect(results.filter((r) => r.error)).toEqual([]);
		expect(results).toHaveLength(36);
		for (const d of ds) {
			expect({ orderId: d.orderId, calls: shop.requests.filter((q) => q.path === shipPath(d.orderId)).length }).toEqual({ orderId: d.orderId, calls: 1 });
			const mine = results.filter((r) => r.deliveryId === d.id);
			expect(mine.filter((r) => !r.alreadyShipped)).toHaveLength(1);
			expect(await events(d.orderId, 'shipped')).toHaveLength(1);
		}
		expect(shop.requests).toHaveLength(6);
		expect(new Set(results.map((r) => r.pid)).size).toBe(3);
	});

	it('nothing written to the console and no execution data holds a key', () => {
		const all = captured.join('\n');
		for (const k of ALL_KEYS) expect(all).not.toContain(k);
		expect(all).not.toContain(TOKEN);
	});
}

describeDb('sqlite', 'Mark Shipped node', () => suite('sqlite'));
describeDb('postgres', 'Mark Shipped node', () => suite('postgres'));

describe('Shop API credential test (testedBy on Mark Shipped)', () => {
	let tls: TlsPeer;
	beforeAll(async () => {
		tls = await startTlsServer();
	});
	afterAll(async () => {
		await tls.close();
	});
	beforeEach(() => shop.clear());
	const test = (data: Record<string, unknown>) => testShopApiCredential.call({} as never, { id: 'c1', name: 'Shop', type: 'autoDeliveryShopApi', data } as never);

	it('the node declares the credential test for both of its credentials', () => {
		const desc = new MarkShipped().description;
		expect(desc.credentials).toEqual([
			expect.objectContaining({ name: 'autoDeliveryKeyStore', testedBy: 'autoDeliveryKeyStoreTest' }),
			expect.objectContaining({ name: 'autoDeliveryShopApi', testedBy: 'autoDeliveryShopApiTest' }),
		]);
		expect(Object.keys(new MarkShipped().methods.credentialTest)).toEqual(['autoDeliveryKeyStoreTest', 'autoDeliveryShopApiTest']);
	});

	it('reaches the base URL with the auth headers', async () => {
		const r = await test({ baseUrl: `${shop.url}/api`, authType: 'bearer', token: TOKEN });
		expect(r).toEqual({ status: 'OK', message: `Connected: 127.0.0.1:${shop.port} answered 200.` });
		const h = await test({ baseUrl: `${shop.url}/api/`, authType: 'header', headerName: 'X-Api-Key', headerValue: 'k-123456' });
		expect(h.status).toBe('OK');
		expect(shop.requests.map((q) => [q.method, q.path, q.headers.authorization, q.headers['x-api-key']])).toEqual([
			['GET', '/api', `Bearer ${TOKEN}`, undefined],
			['GET', '/api/', undefined, 'k-123456'],
		]);
	});

	it('401 / 403 name the credentials; 404 at the root still proves the server is reachable; 5xx is an error', async () => {
		shop.faults('*', [401, 401, 404]);
		expect(await test({ baseUrl: shop.url, authType: 'bearer', token: TOKEN })).toEqual({ status: 'Error', message: `127.0.0.1:${shop.port} refused the credentials (401 Unauthorized). Check the token or the header name and value.` });
		expect(await test({ baseUrl: shop.url, authType: 'none' })).toEqual({ status: 'Error', message: `127.0.0.1:${shop.port} requires authentication (401 Unauthorized). Choose Bearer Token or Custom Header and enter the shop's API token.` });
		expect((await test({ baseUrl: shop.url, authType: 'none' })).status).toBe('OK');
		shop.respondWith('*', (req) => ({ status: 403, body: { error: 'forbidden', echo: req.headers.authorization } }));
		const f = await test({ baseUrl: shop.url, authType: 'bearer', token: TOKEN });
		expect(f).toEqual({ status: 'Error', message: expect.stringMatching(/refused the credentials \(403 Forbidden\)/) });
		expect(f.message).not.toContain(TOKEN);
		shop.clear();
		shop.faults('*', [503]);
		expect(await test({ baseUrl: shop.url })).toEqual({ status: 'Error', message: `127.0.0.1:${shop.port} is reachable but answered 503 (server error). Try again later or check the Base URL.` });
		expect(shop.requests).toHaveLength(1);
	});

	it('unreachable, TLS problems, empty or bad settings give clear messages', async () => {
		const srv = net.createServer();
		await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
		const port = (srv.address() as net.AddressInfo).port;
		await new Promise<void>((r) => srv.close(() => r()));
		expect(await test({ baseUrl: `http://127.0.0.1:${port}/api` })).toEqual({ status: 'Error', message: `Cannot reach the shop API: 127.0.0.1:${port} refused the connection. Is the server running and the port right?` });

		const t = await test({ baseUrl: tls.url, authType: 'bearer', token: TOKEN });
		expect(t.status).toBe('Error');
		expect(t.message).toMatch(/^TLS\/SSL problem with 127\.0\.0\.1:\d+: \w+.*"Ignore SSL Issues"/);
		expect(tls.requests).toHaveLength(0);
		expect(await test({ baseUrl: tls.url, authType: 'bearer', token: TOKEN, ignoreSslIssues: true })).toMatchObject({ status: 'OK' });
		expect(tls.requests.map((q) => q.headers.authorization)).toEqual([`Bearer ${TOKEN}`]);

		expect(await test({ baseUrl: '' })).toEqual({ status: 'Error', message: expect.stringMatching(/^Set the Base URL .* or the Webhook Signing Secret/) });
		// a seller who only receives webhooks: a signing secret and no Base URL is a valid credential
		expect(await test({ baseUrl: '', signingSecret: 'whsec-1' })).toEqual({ status: 'OK', message: expect.stringMatching(/Record Only/) });
		expect(await test({ baseUrl: 'shop.example.com' })).toEqual({ status: 'Error', message: expect.stringMatching(/is not an http\(s\) URL/) });
		expect(await test({ baseUrl: shop.url, authType: 'bearer', token: '' })).toEqual({ status: 'Error', message: 'Authentication is Bearer Token but the Token is empty.' });
		expect(await test({ baseUrl: shop.url, authType: 'header', headerName: 'X-Key', headerValue: '' })).toEqual({ status: 'Error', message: 'Authentication is Custom Header but the Header Name or Header Value is empty.' });
		expect(shop.requests).toHaveLength(0);
	});
});
