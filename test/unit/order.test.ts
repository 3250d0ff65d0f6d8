import { ValidationError } from '../../nodes/core/errors';
import {
	CanonicalOrder,
	ParseOrderOptions,
	PaidOrder,
	parseJsonBody,
	parseOrder,
	validateMapping,
} from '../../nodes/core/intake';
import { EXAMPLE_ORDER } from '../helpers/orders';

const EXAMPLE = `{ "event": "order.paid", "orderId": "T20261123001", "shop": "helloworld",
  "buyer": { "id": "u123", "name": "小明", "email": "buyer@example.com", "ip": "203.0.113.7" },
  "items": [ { "sku": "STEAM-50", "name": "Steam 50", "quantity": 2, "price": 50 } ],
  "amount": 100, "currency": "CNY", "paidAt": "2026-11-23T10:00:00Z" }`;

function example(): Record<string, unknown> {
	return JSON.parse(EXAMPLE) as Record<string, unknown>;
}

function paidWith(over: Record<string, unknown>): Record<string, unknown> {
	return { ...example(), ...over };
}

function item(over: Record<string, unknown>): Record<string, unknown> {
	return { sku: 'STEAM-50', quantity: 1, ...over };
}

function rejects(body: unknown, opts?: ParseOrderOptions): ValidationError {
	try {
		parseOrder(body, opts);
	} catch (e) {
		expect(e).toBeInstanceOf(ValidationError);
		const err = e as ValidationError;
		// Promise 7: the message names the field.
		expect(err.message.startsWith(err.field)).toBe(true);
		return err;
	}
	throw new Error('expected a ValidationError, nothing was thrown');
}

function paid(o: CanonicalOrder): PaidOrder {
	if (o.event !== 'order.paid') throw new Error(`expected a paid order, got ${o.event}`);
	return o;
}

describe('parseOrder: the DESIGN §7 example', () => {
	it('parses and normalises', () => {
		// The same order, its time normalised to an ISO instant.
		expect(parseOrder(parseJsonBody(EXAMPLE))).toEqual({ ...EXAMPLE_ORDER, paidAt: '2026-11-23T10:00:00.000Z' });
	});

	it('trims ids, turns numeric ids into strings, upper-cases currency, ignores unknown fields', () => {
		const o = paid(
			parseOrder(
				paidWith({
					orderId: 20261123001,
					currency: 'cny',
					extra: { anything: true },
					items: [item({ sku: '  STEAM-50 ', quantity: '3', colour: 'red' })],
				}),
			),
		);
		expect(o.orderId).toBe('20261123001');
		expect(o.currency).toBe('CNY');
		expect(o.items).toEqual([{ sku: 'STEAM-50', name: null, quantity: 3, price: null }]);
		expect(o).not.toHaveProperty('extra');
	});

	it('fills absent optional fields with null', () => {
		const o = parseOrder({ event: 'order.paid', orderId: 'T1', items: [{ sku: 'A', quantity: 1 }] });
		expect(o).toEqual({
			event: 'order.paid',
			orderId: 'T1',
			shop: null,
			buyer: null,
			items: [{ sku: 'A', name: null, quantity: 1, price: null }],
			amount: null,
			currency: null,
			paidAt: null,
		});
	});
});

describe('parseOrder: errors name the field', () => {
	it('requires orderId', () => {
		for (const orderId of [undefined, null, '', '   ', {}, true]) {
			const e = rejects(paidWith({ orderId }));
			expect(e.field).toBe('orderId');
			expect(e.message).toMatch(/^orderId is required/);
		}
	});

	it('rejects a too-long orderId and control characters', () => {
		expect(rejects(paidWith({ orderId: 'x'.repeat(192) })).field).toBe('orderId');
		expect(parseOrder(paidWith({ orderId: 'x'.repeat(191) })).orderId).toHaveLength(191);
		expect(rejects(paidWith({ orderId: 'T1\nT2' })).message).toMatch(/control characters/);
	});

	it.each([0, -1, 1.5, '2x', 'two', NaN, null, undefined, '', 1001, [2], true])(
		'rejects quantity %p',
		(quantity) => {
			const e = rejects(paidWith({ items: [item({ sku: 'A' }), item({ sku: 'B', quantity })] }));
			expect(e.field).toBe('items[1].quantity');
			expect(e.message).toMatch(/^items\[1\]\.quantity /);
		},
	);

	it('accepts quantity 1000 and integer strings', () => {
		expect(paid(parseOrder(paidWith({ items: [item({ quantity: 1000 })] }))).items[0].quantity).toBe(1000);
		expect(paid(parseOrder(paidWith({ items: [item({ quantity: ' 7 ' })] }))).items[0].quantity).toBe(7);
	});

	it('requires a known event', () => {
		for (const event of ['order.shipped', 'ORDER.PAID', 'paid', 42]) {
			const e = rejects(paidWith({ event }));
			expect(e.field).toBe('event');
			expect(e.message).toMatch(/order\.paid.*order\.refunded/);
		}
		expect(rejects(paidWith({ event: undefined })).message).toMatch(/^event is required/);
	});

	it('requires at least one item for a paid order', () => {
		expect(rejects(paidWith({ items: [] })).field).toBe('items');
		expect(rejects(paidWith({ items: [] })).message).toMatch(/empty/);
		expect(rejects(paidWith({ items: undefined })).message).toMatch(/^items is required/);
		expect(rejects(paidWith({ items: { sku: 'A', quantity: 1 } })).message).toMatch(/array/);
	});

	it('caps the number of lines at 100', () => {
		const many = Array.from({ length: 101 }, (_, i) => item({ sku: `S${i}` }));
		expect(rejects(paidWith({ items: many })).message).toMatch(/too many items \(101, at most 100\)/);
		expect(paid(parseOrder(paidWith({ items: many.slice(0, 100) }))).items).toHaveLength(100);
	});

	it('checks each item', () => {
		expect(rejects(paidWith({ items: [item({}), 'STEAM-50'] })).field).toBe('items[1]');
		expect(rejects(paidWith({ items: [item({ sku: '' })] })).field).toBe('items[0].sku');
		expect(rejects(paidWith({ items: [item({ price: -1 })] })).field).toBe('items[0].price');
		expect(rejects(paidWith({ items: [item({ price: 'free' })] })).field).toBe('items[0].price');
		expect(rejects(paidWith({ items: [item({ name: { x: 1 } })] })).field).toBe('items[0].name');
		expect(paid(parseOrder(paidWith({ items: [item({ price: 0 })] }))).items[0].price).toBe(0);
	});

	it('checks the buyer', () => {
		expect(rejects(paidWith({ buyer: 'u123' })).field).toBe('buyer');
		for (const email of ['nope', 'a@b', 'a b@c.d', '@example.com']) {
			const e = rejects(paidWith({ buyer: { email } }));
			expect(e.field).toBe('buyer.email');
			expect(e.message).toMatch(/^buyer\.email is not an email address/);
		}
		expect(rejects(paidWith({ buyer: { ip: '999.1.1.1' } })).field).toBe('buyer.ip');
		expect(parseOrder(paidWith({ buyer: { ip: '2001:db8::1' } })).buyer).toEqual({
			id: null,
			name: null,
			email: null,
			ip: '2001:db8::1',
		});
		expect(parseOrder(paidWith({ buyer: {} })).buyer).toBeNull();
	});

	it('checks amount, currency and paidAt', () => {
		expect(rejects(paidWith({ amount: -0.01 })).field).toBe('amount');
		expect(rejects(paidWith({ amount: 'lots' })).field).toBe('amount');
		for (const currency of ['CN', 'CNYY', '元元元', '12A']) {
			expect(rejects(paidWith({ currency })).field).toBe('currency');
		}
		for (const paidAt of ['yesterday', '2026-02-30T00:00:00Z', '2026-11-23T25:00:00Z', 1763892000, '23/11/2026']) {
			const e = rejects(paidWith({ paidAt }));
			expect(e.field).toBe('paidAt');
			expect(e.message).toMatch(/^paidAt must be an ISO 8601 date/);
		}
	});

	it('normalises paidAt to UTC ISO strings', () => {
		const at = (paidAt: string) => parseOrder(paidWith({ paidAt })).paidAt;
		expect(at('2026-11-23T18:00:00+08:00')).toBe('2026-11-23T10:00:00.000Z');
		expect(at('2026-11-23 10:00:00')).toBe('2026-11-23T10:00:00.000Z');
		expect(at('2026-11-23')).toBe('2026-11-23T00:00:00.000Z');
		expect(at('2026-11-23T10:00:00.123456Z')).toBe('2026-11-23T10:00:00.123Z');
		expect(at('2024-02-29T00:00:00-0130')).toBe('2024-02-29T01:30:00.000Z');
	});

	it('rejects a body that is not an object', () => {
		for (const body of [null, [], 'order', 42]) expect(rejects(body).field).toBe('body');
	});
});

describe('parseOrder: duplicate skus are merged', () => {
	it('sums quantities, keeps the first name and price', () => {
		const o = paid(
			parseOrder(
				paidWith({
					items: [
						item({ sku: 'A', quantity: 2 }),
						item({ sku: 'B', quantity: 1, name: 'Bee', price: 5 }),
						item({ sku: 'A', quantity: 3, name: 'Ay', price: 9 }),
					],
				}),
			),
		);
		expect(o.items).toEqual([
			{ sku: 'A', name: 'Ay', quantity: 5, price: 9 },
			{ sku: 'B', name: 'Bee', quantity: 1, price: 5 },
		]);
	});

	it('rejects merged lines that add up to more than 1000', () => {
		const e = rejects(paidWith({ items: [item({ sku: 'A', quantity: 600 }), item({ sku: 'A', quantity: 401 })] }));
		expect(e.field).toBe('items[1].quantity');
		expect(e.message).toMatch(/add up to 1001/);
	});
});

describe('parseOrder: refunds', () => {
	it('accepts a refund with only orderId', () => {
		expect(parseOrder({ event: 'order.refunded', orderId: 'T20261123001' })).toEqual({
			event: 'order.refunded',
			orderId: 'T20261123001',
			shop: null,
			buyer: null,
			items: [],
			amount: null,
			currency: null,
			paidAt: null,
		});
		expect(parseOrder({ event: 'order.refunded', orderId: 'T1', items: [] }).items).toEqual([]);
	});

	it('takes optional items with optional quantities, merging duplicates', () => {
		const o = parseOrder({
			event: 'order.refunded',
			orderId: 'T1',
			items: [{ sku: 'A' }, { sku: 'B', quantity: 1 }, { sku: 'B', quantity: 2 }, { sku: 'A', quantity: 1 }],
		});
		expect(o.items).toEqual([
			{ sku: 'A', quantity: null },
			{ sku: 'B', quantity: 3 },
		]);
	});

	it('still validates what a refund carries', () => {
		expect(rejects({ event: 'order.refunded' }).field).toBe('orderId');
		expect(rejects({ event: 'order.refunded', orderId: 'T1', items: [{ quantity: 1 }] }).field).toBe('items[0].sku');
		expect(rejects({ event: 'order.refunded', orderId: 'T1', items: [{ sku: 'A', quantity: 0 }] }).field).toBe(
			'items[0].quantity',
		);
		expect(rejects({ event: 'order.refunded', orderId: 'T1', items: 'A' }).field).toBe('items');
	});
});

describe('parseOrder: field mapping', () => {
	const shopBody = {
		type: 'TRADE_PAID',
		data: {
			tid: 99887766,
			buyer_email: 'b@example.com',
			orders: [
				{ outer_sku: 'STEAM-50', num: 2, title: 'ignored' },
				{ outer_sku: 'NETFLIX-1M', num: '1' },
			],
		},
	};
	const opts: ParseOrderOptions = {
		mapping: {
			orderId: 'data.tid',
			items: 'data.orders',
			'items.sku': 'outer_sku',
			'items.quantity': 'num',
			'buyer.email': 'data.buyer_email',
			event: 'type',
		},
		eventValues: { TRADE_PAID: 'order.paid', REFUND_SUCCESS: 'order.refunded' },
	};

	it('maps the example shop JSON onto the canonical order', () => {
		expect(parseOrder(shopBody, opts)).toEqual({
			event: 'order.paid',
			orderId: '99887766',
			shop: null,
			buyer: { id: null, name: null, email: 'b@example.com', ip: null },
			items: [
				{ sku: 'STEAM-50', name: null, quantity: 2, price: null },
				{ sku: 'NETFLIX-1M', name: null, quantity: 1, price: null },
			],
			amount: null,
			currency: null,
			paidAt: null,
		});
	});

	it('maps event values, and still accepts canonical event names', () => {
		expect(parseOrder({ ...shopBody, type: 'REFUND_SUCCESS' }, opts).event).toBe('order.refunded');
		expect(parseOrder({ ...shopBody, type: 'order.paid' }, opts).event).toBe('order.paid');
		const e = rejects({ ...shopBody, type: 'TRADE_CLOSED' }, opts);
		expect(e.field).toBe('event');
		expect(e.message).toMatch(/TRADE_CLOSED/);
	});

	it('names both the canonical field and the shop path in errors', () => {
		const bad = { ...shopBody, data: { ...shopBody.data, orders: [shopBody.data.orders[0], { outer_sku: 'X', num: 0 }] } };
		const e = rejects(bad, opts);
		expect(e.field).toBe('items[1].quantity');
		expect(e.message).toMatch(/^items\[1\]\.quantity \(from "data\.orders\[1\]\.num"\)/);

		const noId = rejects({ ...shopBody, data: { ...shopBody.data, tid: undefined } }, opts);
		expect(noId.field).toBe('orderId');
		expect(noId.message).toBe('orderId (from "data.tid") is required.');

		const badMail = rejects({ ...shopBody, data: { ...shopBody.data, buyer_email: 'x' } }, opts);
		expect(badMail.field).toBe('buyer.email');
		expect(badMail.message).toMatch(/^buyer\.email \(from "data\.buyer_email"\)/);
	});

	it('reads unmapped buyer fields from a mapped buyer object and supports array indexes', () => {
		const o = parseOrder(
			{ kind: 'order.paid', trade: { id: 'T1', user: { name: 'Li', ip: '10.0.0.1' }, lines: [{ sku: 'A', quantity: 1 }] } },
			{ mapping: { event: 'kind', orderId: 'trade.id', buyer: 'trade.user', items: 'trade.lines', shop: 'trade.lines.0.sku' } },
		);
		expect(o.buyer).toEqual({ id: null, name: 'Li', email: null, ip: '10.0.0.1' });
		expect(o.shop).toBe('A');
	});

	it('rejects a malformed mapping', () => {
		expect(() => validateMapping({ mapping: { orderID: 'x' } as never })).toThrow(/mapping\.orderID is not a known field/);
		expect(() => validateMapping({ mapping: { orderId: 'a..b' } })).toThrow(/dotted path/);
		expect(() => validateMapping({ eventValues: { PAID: 'paid' as never } })).toThrow(/eventValues\.PAID/);
		expect(() => parseOrder(shopBody, { mapping: { orderId: '' } })).toThrow(ValidationError);
	});

	it('does not read inherited properties through a path', () => {
		const e = rejects({ event: 'order.paid', items: [item({})] }, { mapping: { orderId: 'constructor.name' } });
		expect(e.field).toBe('orderId');
	});
});

describe('parseJsonBody', () => {
	function bodyError(fn: () => unknown): ValidationError {
		try {
			fn();
		} catch (e) {
			expect(e).toBeInstanceOf(ValidationError);
			return e as ValidationError;
		}
		throw new Error('expected a ValidationError');
	}

	it('parses JSON from a string or a Buffer, tolerating a BOM', () => {
		expect(parseJsonBody('{"a":1}')).toEqual({ a: 1 });
		expect(parseJsonBody(Buffer.from('\ufeff{"a":"小明"}', 'utf8'))).toEqual({ a: '小明' });
	});

	it('rejects non-JSON', () => {
		for (const raw of ['{"a":', 'event=order.paid', '<xml/>', Buffer.from('{bad}')]) {
			const e = bodyError(() => parseJsonBody(raw));
			expect(e.field).toBe('body');
			expect(e.message).toMatch(/not valid JSON/);
		}
	});

	it('rejects an empty body', () => {
		expect(bodyError(() => parseJsonBody('  ')).message).toMatch(/empty/);
	});

	it('rejects a huge body and says so', () => {
		const huge = JSON.stringify({ pad: 'x'.repeat(1_000_001) });
		const e = bodyError(() => parseJsonBody(huge));
		expect(e.field).toBe('body');
		expect(e.message).toMatch(/too large .* at most 1000000 bytes/);
		expect(bodyError(() => parseJsonBody(Buffer.from('{"a":1}'), 5)).message).toMatch(/too large \(7 bytes/);
		// counted in bytes, not characters
		expect(bodyError(() => parseJsonBody('"卡密"', 7)).message).toMatch(/too large \(8 bytes/);
	});
});
