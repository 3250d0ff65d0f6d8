/**
 * Helpers the payment-platform presets share (Stripe, Lemon Squeezy, Paddle): a timestamped HMAC
 * header with several candidate signatures, the event envelope, minor currency units, option
 * readers and the ignore / refund classifications. The HMAC primitives and the generic payload
 * readers they build on are hmac.ts and read.ts.
 */
import { ValidationError } from '../../errors';
import { isJsonObject } from '../json';
import { decodeDigest, hmacBytes, sameBytes, timestampProblem, verifyFailure } from './hmac';
import { choice, headerText, payloadObject, text } from './read';
import type { CanonicalJson, Classification, FetchJson, PlatformOptions, VerifyInput, VerifyResult } from './types';


export type Json = Record<string, unknown>;

export interface TimestampedHmac {
	input: VerifyInput;
	/** The signature header as the platform spells it (`Stripe-Signature`). */
	header: string;
	/** Who signs, for messages. */
	signer: string;
	/** Between the header's `key=value` elements (`,` or `;`). */
	separator: string;
	timestampKey: string;
	signatureKey: string;
	/** Between the timestamp and the raw body in the signed text (`.` or `:`). */
	joiner: string;
	/** Added to the message when no signature of `signatureKey` is found. */
	formatHint?: string;
}

/**
 * `<timestampKey>=<unix>` and one or more `<signatureKey>=<hex HMAC-SHA256 of "<unix><joiner><raw
 * body>">` in one header (Stripe, Paddle): the time within the tolerance (past and future), and
 * any one of the signatures equal to ours, each compared in constant time.
 */
export function verifyTimestampedHmac(c: TimestampedHmac): VerifyResult {
	const value = headerText(c.input.headers, c.header);
	if (value === undefined) {
		return verifyFailure('missing_signature', c.header, `The ${c.header} header is missing: the request was not signed by ${c.signer}, so it was rejected.`);
	}
	const pairs = value.split(c.separator).map((part): [string, string] => {
		const at = part.indexOf('=');
		return at < 0 ? [part.trim(), ''] : [part.slice(0, at).trim(), part.slice(at + 1).trim()];
	});
	const ts = pairs.find(([k]) => k === c.timestampKey)?.[1] ?? '';
	if (ts === '') {
		return verifyFailure('missing_timestamp', c.header, `The ${c.header} header has no "${c.timestampKey}=" timestamp (unix seconds).`);
	}
	const late = timestampProblem(ts, c.header, c.input.toleranceSeconds, c.input.now);
	if (late) return late;
	const given = pairs
		.filter(([k]) => k === c.signatureKey)
		.map(([, v]) => decodeDigest(v, 'hex'))
		.filter((b): b is Buffer => b !== null && b.length === 32);
	if (given.length === 0) {
		return verifyFailure('bad_format', c.header, `The ${c.header} header has no "${c.signatureKey}=<hex HMAC-SHA256>" signature${c.formatHint ?? ''}.`);
	}
	const expected = hmacBytes('sha256', c.input.secret, [ts, c.joiner, c.input.rawBody]);
	let match = false;
	for (const g of given) if (sameBytes(g, expected)) match = true;
	if (!match) {
		return verifyFailure('mismatch', c.header, `The signature does not match: the body was changed, or ${c.signer} signs with a different secret.`);
	}
	return { ok: true };
}

/**
 * An event envelope `{<idKey>, <typeKey>, data: {…}}` (Stripe, Paddle): the event name, the object
 * it is about (`data`, or `data.object` when `inObject`) and the event id; a 400 naming the body
 * when it is not one.
 */
export function eventEnvelope(body: unknown, platform: string, keys: { type: string; id: string; inObject: boolean }) {
	const event = payloadObject(body, platform);
	const type = text(event[keys.type]);
	const data = obj(event.data);
	const object = keys.inObject ? obj(data?.object) : data;
	if (type === undefined || !object) {
		const shape = `{"${keys.id}", "${keys.type}", "data": ${keys.inObject ? '{"object": …}' : '{…}'}}`;
		throw new ValidationError('body', `body is not a ${platform} event (expected ${shape}).`);
	}
	return { event, type, object, eventId: text(event[keys.id]) };
}

export function obj(v: unknown): Json | undefined {
	return isJsonObject(v) ? v : undefined;
}

/** The objects of a list (anything else in it becomes `{}`); [] when it is not a list. */
export function list(v: unknown): Json[] {
	return Array.isArray(v) ? v.map((x) => obj(x) ?? {}) : [];
}

/** An id that may come expanded (`{ "id": … }`). */
export function idOf(v: unknown): string | undefined {
	return text(v) ?? text(obj(v)?.id);
}

/** The object without its undefined entries (the canonical JSON leaves out what the platform lacks). */
export function compact(o: Json): Json {
	return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

export function buyerOf(b: { id?: string; name?: string; email?: string }): Json | undefined {
	const buyer = compact(b);
	return Object.keys(buyer).length === 0 ? undefined : buyer;
}

/** Unix seconds → ISO 8601 UTC. */
export function isoTime(seconds: unknown): string | undefined {
	return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 ? new Date(seconds * 1000).toISOString() : undefined;
}

/** Currencies whose smallest unit is not the hundredth. */
export interface MinorUnits {
	zero: ReadonlySet<string>;
	three: ReadonlySet<string>;
}

/** ISO 4217 minor units (exponent 0 and 3), for platforms that follow them. */
export const ISO_MINOR_UNITS: MinorUnits = {
	zero: new Set(['BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF']),
	three: new Set(['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND']),
};

/** An amount in the currency's smallest unit (number or digit string) → major units. */
export function toMajor(minor: unknown, currency: string | undefined, units: MinorUnits, field: string): number | undefined {
	if (minor === undefined || minor === null) return undefined;
	const digits =
		typeof minor === 'number' && Number.isSafeInteger(minor) && minor >= 0
			? String(minor)
			: typeof minor === 'string' && /^\d{1,15}$/.test(minor.trim())
				? minor.trim()
				: undefined;
	if (digits === undefined) throw new ValidationError(field, `${field} must be a whole amount in the currency's smallest unit.`);
	const cur = (currency ?? '').toUpperCase();
	const exponent = units.zero.has(cur) ? 0 : units.three.has(cur) ? 3 : 2;
	return Number((Number(digits) / 10 ** exponent).toFixed(exponent));
}

/** The unit price of a line from its total, to the cent; undefined when either is unknown. */
export function unitPrice(total: number | undefined, quantity: unknown): number | undefined {
	const q = typeof quantity === 'string' && /^\d+$/.test(quantity) ? Number(quantity) : quantity;
	if (total === undefined || typeof q !== 'number' || !Number.isInteger(q) || q < 1) return undefined;
	return Math.round((total / q) * 100) / 100;
}

/** A key-name option (the metadata key holding the SKU …): text without spaces, at most 40 characters. */
export function keyOption(options: PlatformOptions, key: string, fallback: string): string {
	const v = options[key];
	if (v === undefined || v === null || v === '') return fallback;
	if (typeof v === 'string' && /^[^\s\u0000-\u001f]{1,40}$/.test(v.trim())) return v.trim();
	throw new ValidationError(`platformOptions.${key}`, `platformOptions.${key} must be a key name such as "${fallback}" (no spaces, at most 40 characters).`);
}

export function flagOption(options: PlatformOptions, key: string, fallback: boolean): boolean {
	const v = options[key];
	if (v === undefined || v === null || v === '') return fallback;
	if (typeof v === 'boolean') return v;
	throw new ValidationError(`platformOptions.${key}`, `platformOptions.${key} must be true or false.`);
}

export type PartialRefunds = 'ignore' | 'refund_order';

/** `partialRefunds`: what a refund of an amount (not of whole lines) does. */
export function partialRefundsOption(options: PlatformOptions): PartialRefunds {
	return choice(options, 'partialRefunds', ['ignore', 'refund_order'] as const, 'ignore');
}

export function ignore(event: string, message: string, eventId?: string): Classification {
	return compact({ kind: 'ignore', event, message, eventId }) as Classification;
}

export function refunded(order: Json, eventId?: string, complete?: (fetch: FetchJson) => Promise<CanonicalJson>): Classification {
	return compact({ kind: 'refunded', order: { event: 'order.refunded', ...order }, eventId, complete }) as Classification;
}

export function unhandled(platform: string, event: string, handled: readonly string[], eventId?: string): Classification {
	return ignore(event, `${platform} event "${event}" is not handled (this preset acts on ${handled.join(', ')}).`, eventId);
}

/**
 * A refund of an amount rather than of whole lines. `ignore` (default): the keys stay delivered
 * (a goodwill partial refund is common); `refund_order`: a refund of the whole order.
 */
export function partialRefund(platform: string, event: string, orderId: string, policy: PartialRefunds, eventId?: string): Classification {
	if (policy === 'refund_order') return refunded({ orderId }, eventId);
	return ignore(
		event,
		`${platform} order ${orderId} was refunded in part: ignored, its keys stay delivered (set Partial Refunds to "refund_order" to revoke the whole order).`,
		eventId,
	);
}

