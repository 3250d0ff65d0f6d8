/**
 * The canonical order (DESIGN.md §7): parsing, validation and normalisation of shop webhooks.
 *
 * ```json
 * { "event": "order.paid", "orderId": "T20261123001", "shop": "helloworld",
 *   "buyer": { "id": "u123", "name": "小明", "email": "buyer@example.com", "ip": "203.0.113.7" },
 *   "items": [ { "sku": "STEAM-50", "name": "Steam 50", "quantity": 2, "price": 50 } ],
 *   "amount": 100, "currency": "CNY", "paidAt": "2026-11-23T10:00:00Z" }
 * ```
 *
 * Every failure throws a ValidationError whose `field` is the canonical JSON path
 * (`orderId`, `items[1].quantity`, `buyer.email`, …) and whose message starts with that path.
 * Unknown extra fields are ignored. Nothing here has side effects. Where each field is read in a
 * shop's own JSON (the field mapping) is mapping.ts.
 *
 * Duplicate skus in one order are MERGED: their quantities are summed (the sum must still be at
 * most 1000), the name and unit price are taken from the first line that carries one. For a
 * refund, if any of the merged lines has no quantity the merged line has none (= everything).
 */
import { isIP } from 'net';
import { ValidationError } from '../errors';
import { isJsonObject, JsonDepthError, MAX_JSON_DEPTH, parseJsonExact } from './json';
import { checkFieldMapping, orderFields, type FieldRead, type OrderMapping } from './mapping';
import { ID_MAX, optionalAmount, optionalText, positiveInt, requireId } from '../validate';

export type OrderEvent = 'order.paid' | 'order.refunded';
export const ORDER_EVENTS: readonly OrderEvent[] = ['order.paid', 'order.refunded'];

export const MAX_ITEMS = 100;
export const MAX_QUANTITY = 1000;
export const DEFAULT_MAX_BODY_BYTES = 1_000_000;

export interface Buyer {
	id: string | null;
	name: string | null;
	email: string | null;
	ip: string | null;
}

/** A line of a paid order. */
export interface OrderItem {
	sku: string;
	name: string | null;
	/** Whole number, 1..1000. */
	quantity: number;
	/** Unit price, ≥ 0, rounded to cents; null when the shop did not send it. */
	price: number | null;
}

/** A line of a refund. `quantity` null means the whole line. */
export interface RefundItem {
	sku: string;
	quantity: number | null;
}

interface OrderBase {
	orderId: string;
	shop: string | null;
	buyer: Buyer | null;
	amount: number | null;
	/** ISO 4217 style, 3 letters, upper case. */
	currency: string | null;
	/** Normalised ISO 8601 UTC string (`2026-11-23T10:00:00.000Z`). */
	paidAt: string | null;
}

export interface PaidOrder extends OrderBase {
	event: 'order.paid';
	/** Never empty; skus are unique. */
	items: OrderItem[];
}

export interface RefundedOrder extends OrderBase {
	event: 'order.refunded';
	/** Empty means the whole order; skus are unique. */
	items: RefundItem[];
}

export type CanonicalOrder = PaidOrder | RefundedOrder;

export interface ParseOrderOptions {
	mapping?: OrderMapping;
	/**
	 * The shop's event names → canonical events, matched exactly (after trimming).
	 * The canonical names `order.paid` / `order.refunded` are always accepted as well.
	 */
	eventValues?: Record<string, OrderEvent>;
}

// ---------------------------------------------------------------------------------------------
// JSON body

/** Strict UTF-8: a byte sequence that is not UTF-8 is refused, never turned into U+FFFD. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses a webhook body. Rejects empty bodies, bodies over `maxBytes`, bytes that are not UTF-8 and
 * non-JSON with ValidationError('body', …). A UTF-8 BOM is tolerated.
 *
 * Numbers keep their exact digits (json.ts): `JSON.parse` would turn the order ids
 * 2840188394502391201 and 2840188394502391202 into the same double, and the second order into a
 * replay of the first. A key that appears twice in one object with different values is refused
 * (which one would count is ambiguous, and the body is signed input). Objects and arrays nested
 * more than MAX_JSON_DEPTH (100) levels deep are refused by name (json.ts).
 */
export function parseJsonBody(raw: Buffer | string, maxBytes = DEFAULT_MAX_BODY_BYTES): unknown {
	const size = typeof raw === 'string' ? Buffer.byteLength(raw, 'utf8') : raw.length;
	if (size > maxBytes) {
		throw new ValidationError(
			'body',
			`body is too large (${size} bytes, at most ${maxBytes} bytes).`,
		);
	}
	let text: string;
	if (typeof raw === 'string') text = raw;
	else {
		try {
			text = UTF8.decode(raw);
		} catch (_e) {
			throw new ValidationError('body', 'body is not valid UTF-8: send the order as UTF-8 encoded JSON.');
		}
	}
	if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
	if (text.trim() === '') throw new ValidationError('body', 'body is empty: expected a JSON order.');
	try {
		return parseJsonExact(text);
	} catch (e) {
		if (e instanceof JsonDepthError) {
			throw new ValidationError('body', `body is nested too deeply (more than ${MAX_JSON_DEPTH} levels of objects and arrays).`);
		}
		const msg = String((e as Error)?.message ?? '');
		if (/duplicate key/i.test(msg)) {
			const key = /'([^']{0,60})'/.exec(msg)?.[1];
			throw new ValidationError('body', `body is ambiguous: the key ${key === undefined ? '' : `"${key}" `}appears twice in one object with different values.`);
		}
		throw new ValidationError('body', 'body is not valid JSON.');
	}
}

// ---------------------------------------------------------------------------------------------
// Options

/** Checks a mapping and event map; throws ValidationError('mapping.<key>' | 'eventValues.<key>'). */
export function validateMapping(opts: ParseOrderOptions = {}): void {
	const { mapping, eventValues } = opts;
	if (mapping !== undefined) checkFieldMapping(mapping);
	if (eventValues !== undefined) {
		if (!isJsonObject(eventValues)) {
			throw new ValidationError('eventValues', 'eventValues must be an object.');
		}
		for (const [key, value] of Object.entries(eventValues)) {
			if (!ORDER_EVENTS.includes(value as OrderEvent)) {
				throw new ValidationError(
					`eventValues.${key}`,
					`eventValues.${key} must be "order.paid" or "order.refunded".`,
				);
			}
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Field checks

/** Runs a validate.ts helper and rewrites its message so it starts with `label` instead of `field`. */
function labelled<T>(field: string, label: string, fn: () => T): T {
	try {
		return fn();
	} catch (e) {
		if (e instanceof ValidationError && label !== field && e.message.startsWith(field)) {
			throw new ValidationError(field, label + e.message.slice(field.length));
		}
		throw e;
	}
}

const EMAIL = /^[^\s@<>()[\],;:"]+@[^\s@<>()[\],;:"]+\.[^\s@<>()[\],;:"]+$/;

function email(field: string, r: FieldRead): string | null {
	const v = labelled(field, r.label, () => optionalText(field, r.value, 254));
	if (v !== null && !EMAIL.test(v)) {
		throw new ValidationError(field, `${r.label} is not an email address.`);
	}
	return v;
}

function ip(field: string, r: FieldRead): string | null {
	const v = labelled(field, r.label, () => optionalText(field, r.value, 64));
	if (v !== null && isIP(v) === 0) {
		throw new ValidationError(field, `${r.label} is not an IPv4 or IPv6 address.`);
	}
	return v;
}

function currency(field: string, r: FieldRead): string | null {
	const v = labelled(field, r.label, () => optionalText(field, r.value, 3));
	if (v !== null && !/^[A-Za-z]{3}$/.test(v)) {
		throw new ValidationError(field, `${r.label} must be a 3-letter currency code such as CNY.`);
	}
	return v === null ? null : v.toUpperCase();
}

const ISO_DATE =
	/^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * ISO 8601 date or date-time → `toISOString()`. A time without offset is read as UTC.
 * Impossible dates (2026-02-30, 25:00) are rejected rather than rolled over.
 */
function isoDate(field: string, r: FieldRead): string | null {
	if (r.value === undefined || r.value === null || r.value === '') return null;
	const bad = () =>
		new ValidationError(field, `${r.label} must be an ISO 8601 date such as 2026-11-23T10:00:00Z.`);
	if (typeof r.value !== 'string') throw bad();
	const m = ISO_DATE.exec(r.value.trim());
	if (!m) throw bad();
	const frac = m[7] ?? '';
	const ms = frac === '' ? 0 : Math.floor(Number(`0.${frac}`) * 1000);
	const parts = m.slice(1, 7).map((x) => Number(x ?? 0));
	const t = Date.UTC(parts[0], parts[1] - 1, parts[2], parts[3], parts[4], parts[5], ms);
	const check = new Date(t);
	if (
		check.getUTCFullYear() !== parts[0] ||
		check.getUTCMonth() !== parts[1] - 1 ||
		check.getUTCDate() !== parts[2] ||
		check.getUTCHours() !== parts[3] ||
		check.getUTCMinutes() !== parts[4] ||
		check.getUTCSeconds() !== parts[5]
	) {
		throw bad();
	}
	let offsetMin = 0;
	const off = m[8];
	if (off && off.toUpperCase() !== 'Z') {
		const digits = off.slice(1).replace(':', '');
		const oh = Number(digits.slice(0, 2));
		const om = Number(digits.slice(2));
		if (oh > 23 || om > 59) throw bad();
		offsetMin = (off[0] === '-' ? -1 : 1) * (oh * 60 + om);
	}
	return new Date(t - offsetMin * 60_000).toISOString();
}

function parseEvent(r: FieldRead, eventValues: Record<string, OrderEvent> | undefined): OrderEvent {
	const raw = typeof r.value === 'string' ? r.value.trim() : r.value;
	if (raw === undefined || raw === null || raw === '') {
		throw new ValidationError('event', `${r.label} is required ("order.paid" or "order.refunded").`);
	}
	if (typeof raw === 'string') {
		if (eventValues && Object.prototype.hasOwnProperty.call(eventValues, raw)) return eventValues[raw];
		if ((ORDER_EVENTS as readonly string[]).includes(raw)) return raw as OrderEvent;
	}
	const shown = typeof raw === 'string' ? `"${raw.slice(0, 60)}"` : `a ${typeof raw}`;
	throw new ValidationError(
		'event',
		`${r.label} must be "order.paid" or "order.refunded" (got ${shown}).`,
	);
}

/**
 * Only the event of a webhook body (mapped, validated), without validating the rest of the order:
 * lets a webhook acknowledge events it does not handle before checking their payload.
 * Throws ValidationError('event' | 'body' | 'mapping.<key>' | 'eventValues.<key>') like parseOrder.
 */
export function parseOrderEvent(body: unknown, opts: ParseOrderOptions = {}): OrderEvent {
	validateMapping(opts);
	if (!isJsonObject(body)) throw new ValidationError('body', 'body must be a JSON object (the order).');
	return parseEvent(orderFields(body, opts.mapping ?? {}).root('event'), opts.eventValues);
}

// ---------------------------------------------------------------------------------------------
// parseOrder

/** Validates and normalises a shop webhook body into a CanonicalOrder (see the module comment). */
export function parseOrder(body: unknown, opts: ParseOrderOptions = {}): CanonicalOrder {
	validateMapping(opts);
	const mapping: OrderMapping = opts.mapping ?? {};
	if (!isJsonObject(body)) throw new ValidationError('body', 'body must be a JSON object (the order).');

	const fields = orderFields(body, mapping);

	const event = parseEvent(fields.root('event'), opts.eventValues);
	const idRead = fields.root('orderId');
	const orderId = requireId('orderId', idRead.value, idRead.label);

	const shopRead = fields.root('shop');
	const shop = labelled('shop', shopRead.label, () => optionalText('shop', shopRead.value, ID_MAX));

	// buyer
	const buyerRead = fields.root('buyer');
	if (buyerRead.value !== undefined && buyerRead.value !== null && !isJsonObject(buyerRead.value)) {
		throw new ValidationError('buyer', `${buyerRead.label} must be an object.`);
	}
	const buyerObj = buyerRead.value as Record<string, unknown> | null | undefined;
	const bId = fields.buyer(buyerObj, 'id');
	const bName = fields.buyer(buyerObj, 'name');
	const buyer: Buyer = {
		id: labelled('buyer.id', bId.label, () => optionalText('buyer.id', bId.value, ID_MAX)),
		name: labelled('buyer.name', bName.label, () => optionalText('buyer.name', bName.value, ID_MAX)),
		email: email('buyer.email', fields.buyer(buyerObj, 'email')),
		ip: ip('buyer.ip', fields.buyer(buyerObj, 'ip')),
	};
	const hasBuyer = Object.values(buyer).some((v) => v !== null);

	const amountRead = fields.root('amount');
	const amount = labelled('amount', amountRead.label, () => optionalAmount('amount', amountRead.value));
	const cur = currency('currency', fields.root('currency'));
	const paidAt = isoDate('paidAt', fields.root('paidAt'));

	// items
	const itemsRead = fields.root('items');
	const rawItems = itemsRead.value;
	const paid = event === 'order.paid';
	if (rawItems === undefined || rawItems === null) {
		if (paid) throw new ValidationError('items', `${itemsRead.label} is required: at least one item.`);
	} else if (!Array.isArray(rawItems)) {
		throw new ValidationError('items', `${itemsRead.label} must be an array of items.`);
	} else if (paid && rawItems.length === 0) {
		throw new ValidationError('items', `${itemsRead.label} is empty: a paid order needs at least one item.`);
	}
	const list: unknown[] = Array.isArray(rawItems) ? rawItems : [];
	if (list.length > MAX_ITEMS) {
		throw new ValidationError(
			'items',
			`${itemsRead.label} has too many items (${list.length}, at most ${MAX_ITEMS}).`,
		);
	}

	const paidItems: OrderItem[] = [];
	const refundItems: RefundItem[] = [];
	const indexBySku = new Map<string, number>();
	list.forEach((item, i) => {
		if (!isJsonObject(item)) {
			throw new ValidationError(`items[${i}]`, `${fields.itemLabel(i)} must be an object.`);
		}
		const skuR = fields.item(item, i, 'sku');
		const sku = requireId(`items[${i}].sku`, skuR.value, skuR.label);
		const qR = fields.item(item, i, 'quantity');
		const qField = `items[${i}].quantity`;
		const seen = indexBySku.get(sku);
		if (paid) {
			const quantity = positiveInt(qField, qR.value, MAX_QUANTITY, qR.label);
			const nR = fields.item(item, i, 'name');
			const pR = fields.item(item, i, 'price');
			const name = labelled(`items[${i}].name`, nR.label, () => optionalText(`items[${i}].name`, nR.value, 255));
			const price = labelled(`items[${i}].price`, pR.label, () => optionalAmount(`items[${i}].price`, pR.value));
			if (seen === undefined) {
				indexBySku.set(sku, paidItems.length);
				paidItems.push({ sku, name, quantity, price });
			} else {
				const line = paidItems[seen];
				line.quantity += quantity;
				if (line.quantity > MAX_QUANTITY) {
					throw new ValidationError(
						qField,
						`${qR.label}: the lines for sku "${sku}" add up to ${line.quantity}, at most ${MAX_QUANTITY}.`,
					);
				}
				line.name = line.name ?? name;
				line.price = line.price ?? price;
			}
		} else {
			const hasQ = qR.value !== undefined && qR.value !== null && qR.value !== '';
			const quantity = hasQ ? positiveInt(qField, qR.value, MAX_QUANTITY, qR.label) : null;
			if (seen === undefined) {
				indexBySku.set(sku, refundItems.length);
				refundItems.push({ sku, quantity });
			} else {
				const line = refundItems[seen];
				line.quantity = line.quantity === null || quantity === null ? null : line.quantity + quantity;
				if (line.quantity !== null && line.quantity > MAX_QUANTITY) {
					throw new ValidationError(
						qField,
						`${qR.label}: the lines for sku "${sku}" add up to ${line.quantity}, at most ${MAX_QUANTITY}.`,
					);
				}
			}
		}
	});

	const base = { orderId, shop, buyer: hasBuyer ? buyer : null, amount, currency: cur, paidAt };
	return paid
		? { event: 'order.paid', ...base, items: paidItems }
		: { event: 'order.refunded', ...base, items: refundItems };
}
