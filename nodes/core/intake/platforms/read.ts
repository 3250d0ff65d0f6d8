/**
 * Reading a platform's payload (parsed with exact digits, json.ts) into canonical JSON: the small
 * conversions WooCommerce and Shopify share. Nothing here validates — order.ts parseOrder does,
 * naming the canonical field — so a value that cannot be read is passed on as it is.
 */
import { ValidationError } from '../../errors';
import { isJsonObject } from '../json';
import { headerValue, type HeaderMap } from '../rawBody';
import type { Classification, PlatformOptions } from './types';

/** The payload's object at the root, or a 400 naming the body. */
export function payloadObject(body: unknown, platform: string): Record<string, unknown> {
	if (!isJsonObject(body)) throw new ValidationError('body', `body must be a JSON object (a ${platform} webhook payload).`);
	return body;
}

/** A nested object, or an empty one when the payload has none there. */
export function child(obj: Record<string, unknown>, key: string): Record<string, unknown> {
	const v = obj[key];
	return isJsonObject(v) ? v : {};
}

/** Text or a number (exact digits kept as text by the parser), trimmed; undefined for empty / other. */
export function text(v: unknown): string | undefined {
	if (typeof v === 'number' && Number.isFinite(v)) return String(v);
	if (typeof v !== 'string') return undefined;
	const t = v.trim();
	return t === '' ? undefined : t;
}

/** An id where 0 means "none" (WooCommerce's guest `customer_id`, a line's unused `variation_id`). */
export function nonZeroId(v: unknown): string | undefined {
	const t = text(v);
	return t === undefined || /^0+$/.test(t) ? undefined : t;
}

/** "First Last" from two optional parts; undefined when both are empty. */
export function fullName(first: unknown, last: unknown): string | undefined {
	const name = [text(first), text(last)].filter((p) => p !== undefined).join(' ');
	return name === '' ? undefined : name;
}

/** A date-time a platform documents as GMT/UTC but writes without an offset (`2017-03-22T19:28:08`) gets its `Z`. */
export function utcDate(v: unknown): string | undefined {
	const t = text(v);
	if (t === undefined) return undefined;
	return /(?:Z|[+-]\d{2}:?\d{2})$/i.test(t) ? t : `${t}Z`;
}

/** The first field of `fields` in `line` that has a value (`sku` as text; an id field of 0 counts as none). */
export function firstId(line: Record<string, unknown>, fields: readonly string[]): string | undefined {
	for (const f of fields) {
		const v = f === 'sku' ? text(line[f]) : nonZeroId(line[f]);
		if (v !== undefined) return v;
	}
	return undefined;
}

/** A header's trimmed value; undefined when missing or empty. */
export function headerText(headers: HeaderMap, name: string): string | undefined {
	return text(headerValue(headers, name));
}

/**
 * A choice among `allowed` in the platform options (default `fallback`). Throws ValidationError
 * naming `platformOptions.<key>` for any other value (Platform.checkOptions).
 */
export function choice<T extends string>(options: PlatformOptions, key: string, allowed: readonly T[], fallback: T): T {
	const v = options[key];
	if (v === undefined || v === null || v === '') return fallback;
	if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
	throw new ValidationError(`platformOptions.${key}`, `platformOptions.${key} must be one of ${allowed.map((a) => `"${a}"`).join(', ')}.`);
}

/** A list of non-empty words in the platform options (an array, or text separated by commas); `fallback` when unset. */
export function wordList(options: PlatformOptions, key: string, fallback: readonly string[]): readonly string[] {
	const v = options[key];
	if (v === undefined || v === null || v === '') return fallback;
	const list = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : null;
	const words = list?.map((w) => (typeof w === 'string' ? w.trim() : '')) ?? [];
	if (words.length === 0 || words.some((w) => w === '')) {
		throw new ValidationError(`platformOptions.${key}`, `platformOptions.${key} must be a list of values such as "${fallback.join(',')}".`);
	}
	return words;
}

/** What a platform read from a paid order whose `lines` are the payload's line objects. */
export interface PaidOrderParts {
	orderId: unknown;
	buyer: Record<string, unknown>;
	/** The payload's array of lines (anything else is passed on for parseOrder to name). */
	lines: unknown;
	/** One line object → its canonical item (`sku`, `name`, `quantity`, `price`). */
	item: (line: Record<string, unknown>) => Record<string, unknown>;
	amount: unknown;
	currency: unknown;
	paidAt: unknown;
	eventId?: string;
}

/** The paid Classification of an order read line by line (items 1:1 with `lines`, for Field Mapping). */
export function paidFromLines(p: PaidOrderParts): Classification {
	const lines = Array.isArray(p.lines) ? p.lines : undefined;
	const items = lines?.map((line) => (isJsonObject(line) ? p.item(line) : line)) ?? p.lines;
	const order = { event: 'order.paid', orderId: p.orderId, buyer: p.buyer, items, amount: p.amount, currency: p.currency, paidAt: p.paidAt };
	return { kind: 'paid', order, lines, eventId: p.eventId };
}
