/**
 * The pure parts of the ship algorithm (nodes/core/ship.ts): request validation (bad input is
 * refused before anything is touched), path and body rendering, the lease length, reading the
 * shop reference, and the output item shape. The store and shop sides run against real peers in
 * test/integration/markShipped.test.ts.
 */
import { DEFAULT_SHIP_LEASE_MS, type DeliveryWithKeys } from '../../nodes/core/store';
import {
	notSentMessage,
	pathValues,
	prepareShipRequest,
	readReference,
	renderBody,
	renderEncoded,
	shipContext,
	shipItem,
	templateVariables,
	urlEncodeValue,
} from '../../nodes/core/delivery';

const shop = { baseUrl: 'https://shop.example.com/api' };

const delivery = (over: Partial<DeliveryWithKeys> = {}): DeliveryWithKeys => ({
	id: 7,
	orderId: 'T 1/α',
	sku: 'GAME',
	quantity: 2,
	status: 'sent',
	strategy: 'sequential',
	fixedContent: false,
	externalApi: false,
	buyer: { id: 'u1', name: '小明 {deliveryContent}', email: null, ip: null },
	amount: 10,
	shop: null,
	createdAt: '2026-11-23T02:05:00.000Z',
	updatedAt: '2026-11-23T02:05:00.000Z',
	sentAt: '2026-11-23T02:06:00.000Z',
	sentChannel: 'email',
	sentMessageId: null,
	shippedAt: null,
	shopReference: null,
	revokedAt: null,
	revokeReason: null,
	lastError: null,
	sendCount: 1,
	shipAttempts: 0,
	keys: [
		{ id: 1, status: 'assigned', masked: 'AAAA…0001', key: 'AAAA-"KEY"-0001' },
		{ id: 2, status: 'assigned', masked: 'BBBB…0002', key: 'BBBB-\\KEY-0002' },
	],
	...over,
});

describe('prepareShipRequest', () => {
	it('defaults: POST, reference field "reference", 3 retries, 10 s timeout, lease ≥ the default', () => {
		const p = prepareShipRequest({ path: '/orders/{orderId}/ship', body: '{"o": "{orderId}"}' }, shop);
		expect(p).toMatchObject({ method: 'POST', path: '/orders/{orderId}/ship', referenceField: 'reference', needsContent: false, timeoutMs: 10000, retries: 3, backoffMs: 500 });
		expect(p.leaseMs).toBe(DEFAULT_SHIP_LEASE_MS);
	});

	it('the lease outlasts every attempt of a slow configuration', () => {
		const p = prepareShipRequest({ path: '/x', timeoutMs: 60000, retries: 5, backoffMs: 1000 }, shop);
		const worst = 6 * 61000 + 1000 * 31 * 1.2;
		expect(p.leaseMs).toBeGreaterThan(worst);
	});

	it('needs the delivery content only when the body uses {deliveryContent} / {发货内容}', () => {
		expect(prepareShipRequest({ path: '/x', body: '{"c": "{发货内容}"}' }, shop).needsContent).toBe(true);
		expect(prepareShipRequest({ path: '/x', body: '{"c": "{ deliveryContent }"}' }, shop).needsContent).toBe(true);
		expect(prepareShipRequest({ path: '/x', body: '{"c": "{orderId}"}' }, shop).needsContent).toBe(false);
		// GET sends no body, so nothing is decrypted for it
		expect(prepareShipRequest({ method: 'get', path: '/x', body: '{"c": "{deliveryContent}"}' }, shop)).toMatchObject({ method: 'GET', body: null, needsContent: false });
	});

	it.each([
		[{ path: '' }, shop, /Path is required/],
		[{ path: 'http://evil.example/x' }, shop, /relative to the Base URL/],
		[{ path: '//evil.example/x' }, shop, /relative to the Base URL/],
		[{ path: '/orders/{orderId} /ship' }, shop, /contains spaces/],
		[{ path: '/o/{nope}' }, shop, /Unknown variable in the Path: \{nope\}/],
		[{ path: '/o/{发货内容}' }, shop, /not allowed in the Path/],
		[{ path: '/x', method: 'TRACE' }, shop, /Method must be one of POST, PUT, PATCH, GET, DELETE/],
		[{ path: '/x', body: '{"a": }' }, shop, /The JSON Body is not valid JSON/],
		[{ path: '/x', body: 'orderId={orderId}' }, shop, /The JSON Body is not valid JSON/],
		[{ path: '/x', referenceField: 'a..b' }, shop, /Shop Reference Field/],
		[{ path: '/x', retries: 6 }, shop, /Max Retries must be a whole number from 0 to 5/],
		[{ path: '/x', timeoutMs: 0 }, shop, /Timeout \(ms\) must be/],
		[{ path: '/x', backoffMs: 1.5 }, shop, /Retry Delay \(ms\) must be/],
		[{ path: '/x' }, { baseUrl: '' }, /No Base URL is set/],
		[{ path: '/x' }, { baseUrl: 'ftp://shop' }, /is not an http\(s\) URL/],
	])('refuses %j', (req, target, message) => {
		expect(() => prepareShipRequest(req, target)).toThrow(message);
	});

	it('a body with a variable outside quotes is valid JSON (a whole JSON value)', () => {
		expect(() => prepareShipRequest({ path: '/x', body: '{"q": {quantity}, "o": {orderId}}' }, shop)).not.toThrow();
	});
});

describe('rendering', () => {
	const d = delivery();
	const ctx = shipContext(d, '游戏 "Game"');

	it('path values are URL-encoded; a value that is "." or ".." is refused', () => {
		expect(renderEncoded('/orders/{orderId}/ship?buyer={买家昵称}&q={数量}', pathValues(ctx), urlEncodeValue)).toBe(
			`/orders/T%201%2F%CE%B1/ship?buyer=${encodeURIComponent('小明 {deliveryContent}')}&q=2`,
		);
		expect(() => urlEncodeValue('..')).toThrow(/would change the path/);
		expect(urlEncodeValue('a..b')).toBe('a..b');
	});

	it('single pass: a buyer name holding {deliveryContent} stays literal; the path never gets the content', () => {
		const path = renderEncoded('/{buyerName}/{deliveryContent}', pathValues(ctx), (v) => v);
		expect(path).toBe('/小明 {deliveryContent}/');
		const body = JSON.parse(renderBody('{"b": "{buyerName}", "c": "{deliveryContent}"}', ctx));
		expect(body).toEqual({ b: '小明 {deliveryContent}', c: 'AAAA-"KEY"-0001\nBBBB-\\KEY-0002' });
	});

	it('the body is valid JSON whatever the values hold; {date} in Asia/Shanghai by default', () => {
		const body = JSON.parse(renderBody('{"p": "{商品名称}", "q": {数量}, "d": "{购买日期}", "o": {订单号}}', ctx));
		expect(body).toEqual({ p: '游戏 "Game"', q: 2, d: '2026-11-23 10:05', o: 'T 1/α' });
		expect(JSON.parse(renderBody('{"d": "{date}"}', ctx, 'UTC'))).toEqual({ d: '2026-11-23 02:05' });
	});

	it('without revealed keys the content is empty (never the masked form sent as if real)', () => {
		const masked = delivery({ keys: [{ id: 1, status: 'assigned', masked: 'AAAA…0001' }] });
		expect(shipContext(masked, null)).toMatchObject({ productName: 'GAME', deliveryContent: [] });
	});

	it('templateVariables lists used and unknown names', () => {
		const v = templateVariables('/{orderId}/{订单号}/{x}/{x}/{Quantity}');
		expect([...v.used].sort()).toEqual(['orderId', 'quantity']);
		expect(v.unknown).toEqual(['x']);
	});
});

describe('readReference', () => {
	it.each([
		[{ reference: 'SHIP-1' }, 'reference', 'SHIP-1'],
		[{ data: { shipment: { id: 42 } } }, 'data.shipment.id', '42'],
		[{ data: [{ id: 'A' }, { id: 'B' }] }, 'data.1.id', 'B'],
		[{ ok: true }, 'ok', 'true'],
		[{ reference: { nested: 1 } }, 'reference', null],
		[{ reference: '  ' }, 'reference', null],
		['plain text', 'reference', null],
		[null, 'reference', null],
		[{ reference: 'X' }, null, null],
	])('%j at %s → %j', (data, field, expected) => {
		expect(readReference(data, field)).toBe(expected);
	});
});

describe('shipItem', () => {
	const d = delivery({ status: 'shipped', shippedAt: '2026-11-23T03:00:00.000Z', shopReference: 'SHIP-9' });
	// eslint-disable-next-line @typescript-eslint/no-unused-vars
	const { keys: _k, ...plain } = d;

	it('shipped: the contract fields, never a key', () => {
		const item = shipItem({ outcome: 'shipped', alreadyShipped: false, recordOnly: false, attempts: 2, httpStatus: 201, withoutRecordedSend: false, delivery: plain });
		expect(item).toEqual({
			deliveryId: 7,
			orderId: 'T 1/α',
			shop: null,
			sku: 'GAME',
			status: 'shipped',
			ship: { shipped: true, alreadyShipped: false, shopReference: 'SHIP-9', shippedAt: '2026-11-23T03:00:00.000Z', attempts: 2, recordOnly: false, httpStatus: 201 },
		});
		expect(JSON.stringify(item)).not.toContain('KEY');
	});

	it('not sent: reason and message', () => {
		const claimed = { ...plain, status: 'claimed' as const, sentAt: null };
		expect(shipItem({ outcome: 'not_sent', message: notSentMessage(claimed), delivery: claimed })).toEqual({
			deliveryId: 7,
			orderId: 'T 1/α',
			shop: null,
			sku: 'GAME',
			status: 'claimed',
			ship: { shipped: false, reason: 'not_sent', message: expect.stringContaining('虚假发货') },
		});
	});
});
