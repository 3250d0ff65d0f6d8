/**
 * Shop webhooks (DESIGN.md §7): the whole "HTTP request → decision" algorithm, without n8n.
 *
 * `decideWebhook(request, settings)` takes the method, the headers and the RAW body bytes of a
 * call and the node's settings, and returns one of
 *
 * - `reject`: answer `status` (405 / 415 / 413 / 401 / 400) with the JSON `body`
 *   (`{ error, field?, reason? }`) and do NOT start the workflow;
 * - `ignore`: a valid call for an event this webhook does not handle: answer 200
 *   `{ ignored: true, event, message }` (2xx, so the shop does not retry it) and do not start the
 *   workflow;
 * - `accept`: the validated canonical order and the items the trigger emits, plus the body of the
 *   immediate answer (`{ received: true, orderId }`).
 *
 * Checks run in this order, so an unsigned caller learns nothing about the payload rules:
 *   1. method (405, POST only)          2. Content-Type (415)        3. size (413)
 *   4. signature + timestamp (401)      5. JSON (400, field `body`)  6. event (400 / ignore)
 *   7. canonical order (400, field = the canonical path, e.g. `items[1].quantity`).
 *
 * Invalid SETTINGS (an empty secret, a malformed mapping, a bad header name) are the seller's
 * configuration problem, not the caller's: they throw WebhookConfigError instead of answering 4xx.
 *
 * Nothing here echoes a secret: failure messages never contain the signing secret or the expected
 * signature, and any occurrence of the secret in a response body is replaced by `[redacted]`.
 *
 * `readRawBody(req, maxBytes)` obtains the raw bytes from a Node.js request the way n8n exposes
 * them (see its comment).
 */
import { ValidationError } from '../errors';
import {
	DEFAULT_MAX_BODY_BYTES,
	ORDER_EVENTS,
	getPath,
	parseJsonBody,
	parseOrder,
	parseOrderEvent,
	validateMapping,
	type Buyer,
	type CanonicalOrder,
	type OrderEvent,
	type OrderItem,
	type OrderMapping,
	type RefundItem,
} from './order';
import type { Readable } from 'stream';

import { DEFAULT_TOLERANCE_SECONDS, verifySignature } from './signature';

export type EventFilter = OrderEvent | 'any';
export const EVENT_FILTERS: readonly EventFilter[] = ['order.paid', 'order.refunded', 'any'];

/** What a shop event value may be mapped to: a canonical event, or "acknowledge and ignore". */
export type EventMeaning = OrderEvent | 'ignore';

/** order.paid: one item per order line (default) or one item per order. */
export type PaidOutput = 'line' | 'order';

export const DEFAULT_SIGNATURE_HEADER = 'X-Signature';
export const DEFAULT_TIMESTAMP_HEADER = 'X-Timestamp';
export const MAX_TOLERANCE_SECONDS = 86_400;
/** Upper bound for the body size setting (n8n itself refuses bodies over N8N_PAYLOAD_SIZE_MAX, 16 MiB by default). */
export const MAX_BODY_BYTES_LIMIT = 64 * 1024 * 1024;

export interface WebhookSettings {
	/** Which events start the workflow; others are acknowledged with 200 `{ignored: true}`. Default order.paid. */
	events?: EventFilter;
	/** Check X-Signature / X-Timestamp (DESIGN §7). Default true. */
	verifySignature?: boolean;
	/** The shop signing secret; required when verifySignature is on. */
	secret?: string;
	/** Default X-Signature. */
	signatureHeader?: string;
	/** Default X-Timestamp. */
	timestampHeader?: string;
	/** Allowed clock difference in seconds, past or future. Default 300. */
	toleranceSeconds?: number;
	/** Largest accepted body in bytes. Default 1,000,000. */
	maxBodyBytes?: number;
	/** Parse the body as JSON whatever its Content-Type says. Default false. */
	acceptAnyContentType?: boolean;
	/** Canonical field → path in the shop's JSON (see order.ts OrderMapping). */
	mapping?: OrderMapping;
	/** Shop event values → canonical event, or 'ignore' (answered 200 `{ignored: true}`). */
	eventValues?: Record<string, EventMeaning>;
	/** Default 'line'. */
	paidOutput?: PaidOutput;
}

export type HeaderMap = Record<string, string | string[] | number | undefined>;

export interface WebhookRequest {
	method: string | undefined;
	/** Request headers (any case). */
	headers: HeaderMap;
	/** The body exactly as received; null/undefined for none. */
	rawBody: Buffer | string | null | undefined;
	/** The reader stopped at the size limit: the body is larger than the limit. */
	truncated?: boolean;
	/** Current time in milliseconds (for tests). Default Date.now(). */
	now?: number;
}

export type RejectStatus = 400 | 401 | 405 | 413 | 415;

export interface ErrorBody {
	/** What is wrong, for the shop's developer. Never a secret. */
	error: string;
	/** The field at fault: a canonical order path (`items[1].quantity`), `body`, or a header name (`x-signature`). */
	field?: string;
	/** For 401: missing_signature | missing_timestamp | bad_timestamp | expired | bad_format | mismatch. */
	reason?: string;
}

export interface IgnoredBody {
	ignored: true;
	/** The canonical event, or the shop's own value when it is mapped to "ignore". */
	event: string;
	message: string;
}

interface ItemBase {
	orderId: string;
	shop: string | null;
	/** Always an object; fields the shop did not send are null. */
	buyer: Buyer;
	amount: number | null;
	currency: string | null;
	paidAt: string | null;
}

/** order.paid, one item per order line (default). `line` is 0-based, `lines` the number of lines. */
export interface PaidLineItem extends ItemBase {
	event: 'order.paid';
	sku: string;
	name: string | null;
	quantity: number;
	price: number | null;
	line: number;
	lines: number;
}

/** order.paid with "one item per order". */
export interface PaidOrderItem extends ItemBase {
	event: 'order.paid';
	items: OrderItem[];
}

/** order.refunded: always one item per order; `items` empty means the whole order. */
export interface RefundOrderItem extends ItemBase {
	event: 'order.refunded';
	items: RefundItem[];
}

export type WebhookItem = PaidLineItem | PaidOrderItem | RefundOrderItem;

export type WebhookDecision =
	| { action: 'reject'; status: RejectStatus; body: ErrorBody; headers: Record<string, string> }
	| { action: 'ignore'; status: 200; body: IgnoredBody; headers: Record<string, string> }
	| {
			action: 'accept';
			order: CanonicalOrder;
			items: WebhookItem[];
			/** Body of the immediate 202 answer. */
			ack: { received: true; orderId: string };
	  };

/** The node's settings are unusable (not the caller's fault): fix the node or the credential. */
export class WebhookConfigError extends Error {
	/** The setting at fault, e.g. `secret`, `mapping.orderId`, `signatureHeader`. */
	readonly setting: string;
	constructor(setting: string, message: string) {
		super(message);
		this.name = 'WebhookConfigError';
		this.setting = setting;
	}
}

// ---------------------------------------------------------------------------------------------
// Settings

interface Resolved {
	events: EventFilter;
	verify: boolean;
	secret: string;
	signatureHeader: string;
	timestampHeader: string;
	tolerance: number;
	maxBodyBytes: number;
	acceptAny: boolean;
	mapping: OrderMapping | undefined;
	eventValues: Record<string, OrderEvent>;
	ignoreValues: Set<string>;
	paidOutput: PaidOutput;
}

const HEADER_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function headerName(setting: string, value: unknown, fallback: string): string {
	if (value === undefined || value === null || value === '') return fallback;
	const name = typeof value === 'string' ? value.trim() : '';
	if (!HEADER_TOKEN.test(name)) {
		throw new WebhookConfigError(setting, `${setting} must be an HTTP header name such as ${fallback}.`);
	}
	return name;
}

/** Validates the settings; throws WebhookConfigError. Exported for the node (check once) and tests. */
export function resolveWebhookSettings(s: WebhookSettings): Resolved {
	const events = s.events ?? 'order.paid';
	if (!EVENT_FILTERS.includes(events)) {
		throw new WebhookConfigError('events', 'events must be "order.paid", "order.refunded" or "any".');
	}
	const verify = s.verifySignature !== false;
	const secret = typeof s.secret === 'string' ? s.secret : '';
	if (verify && secret.trim() === '') {
		throw new WebhookConfigError(
			'secret',
			'Signature checking is on but no webhook signing secret is configured: set "Webhook Signing Secret" in the Auto Delivery Shop API credential (or turn off "Verify Signature").',
		);
	}
	const tolerance = s.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
	if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0 || tolerance > MAX_TOLERANCE_SECONDS) {
		throw new WebhookConfigError('toleranceSeconds', `The signature tolerance must be between 0 and ${MAX_TOLERANCE_SECONDS} seconds.`);
	}
	const maxBodyBytes = s.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
	if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1 || maxBodyBytes > MAX_BODY_BYTES_LIMIT) {
		throw new WebhookConfigError('maxBodyBytes', `The maximum body size must be a whole number of bytes between 1 and ${MAX_BODY_BYTES_LIMIT}.`);
	}
	const paidOutput = s.paidOutput ?? 'line';
	if (paidOutput !== 'line' && paidOutput !== 'order') {
		throw new WebhookConfigError('paidOutput', 'paidOutput must be "line" or "order".');
	}

	const eventValues: Record<string, OrderEvent> = {};
	const ignoreValues = new Set<string>();
	for (const [rawKey, meaning] of Object.entries(s.eventValues ?? {})) {
		const key = rawKey.trim();
		if (key === '') throw new WebhookConfigError('eventValues', 'An event mapping has an empty shop event value.');
		if (meaning === 'ignore') ignoreValues.add(key);
		else if ((ORDER_EVENTS as readonly string[]).includes(meaning)) eventValues[key] = meaning as OrderEvent;
		else {
			throw new WebhookConfigError(
				`eventValues.${key}`,
				`The event mapping for "${key}" must be order.paid, order.refunded or ignore.`,
			);
		}
	}
	try {
		validateMapping({ mapping: s.mapping, eventValues });
	} catch (e) {
		if (e instanceof ValidationError) throw new WebhookConfigError(e.field, `Field mapping: ${e.message}`);
		throw e;
	}

	return {
		events,
		verify,
		secret,
		signatureHeader: headerName('signatureHeader', s.signatureHeader, DEFAULT_SIGNATURE_HEADER),
		timestampHeader: headerName('timestampHeader', s.timestampHeader, DEFAULT_TIMESTAMP_HEADER),
		tolerance,
		maxBodyBytes,
		acceptAny: s.acceptAnyContentType === true,
		mapping: s.mapping,
		eventValues,
		ignoreValues,
		paidOutput,
	};
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** A header value, case-insensitive; repeated headers are joined with ", " (as Node.js does). */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
	const wanted = name.toLowerCase();
	for (const [key, value] of Object.entries(headers ?? {})) {
		if (key.toLowerCase() !== wanted || value === undefined) continue;
		return Array.isArray(value) ? value.join(', ') : String(value);
	}
	return undefined;
}

const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' };

function clip(text: string, max = 80): string {
	return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Shortest piece of the signing secret that counts as a leak (pieces survive when a message is clipped). */
const SECRET_FRAGMENT = 8;

/**
 * Replaces the signing secret in an answer text, and every piece of it of SECRET_FRAGMENT or more
 * characters: messages quote the caller's values clipped (`clip`), and a clip can cut the secret.
 */
function redact(text: string, secret: string): string {
	if (secret.length < 4) return text;
	if (text.includes(secret)) text = text.split(secret).join('[redacted]');
	const min = Math.min(SECRET_FRAGMENT, secret.length);
	const hit = new Uint8Array(text.length);
	let found = false;
	for (let i = 0; i + min <= text.length; i++) {
		for (let j = 0; j + min <= secret.length; j++) {
			let n = 0;
			while (i + n < text.length && j + n < secret.length && text[i + n] === secret[j + n]) n++;
			if (n >= min) {
				hit.fill(1, i, i + n);
				found = true;
			}
		}
	}
	if (!found) return text;
	let out = '';
	for (let i = 0; i < text.length; i++) {
		if (!hit[i]) out += text[i];
		else if (i === 0 || !hit[i - 1]) out += '[redacted]';
	}
	return out;
}

function reject(
	status: RejectStatus,
	error: string,
	extra: { field?: string; reason?: string } = {},
	headers: Record<string, string> = {},
): WebhookDecision {
	const body: ErrorBody = { error };
	if (extra.field !== undefined) body.field = extra.field;
	if (extra.reason !== undefined) body.reason = extra.reason;
	return { action: 'reject', status, body, headers: { ...JSON_HEADERS, ...headers } };
}

function ignore(event: string, message: string): WebhookDecision {
	return { action: 'ignore', status: 200, body: { ignored: true, event, message }, headers: { ...JSON_HEADERS } };
}

/** null when the Content-Type is acceptable, else the message for the 415. */
function contentTypeProblem(value: string | undefined): string | null {
	if (value === undefined || value.trim() === '') {
		return 'The Content-Type header is missing: send the order as application/json.';
	}
	const [typePart, ...params] = value.split(';');
	const type = typePart.trim().toLowerCase();
	if (type !== 'application/json' && !/^application\/[a-z0-9!#$&^_.+-]+\+json$/.test(type)) {
		return `Content-Type "${clip(type)}" is not accepted: send the order as application/json.`;
	}
	for (const param of params) {
		const [k, v] = param.split('=');
		if (k?.trim().toLowerCase() !== 'charset' || v === undefined) continue;
		const charset = v.trim().replace(/^"|"$/g, '').toLowerCase();
		if (!['utf-8', 'utf8', 'us-ascii'].includes(charset)) {
			return `charset "${clip(charset)}" is not supported: send the order as UTF-8 JSON.`;
		}
	}
	return null;
}

function byteLength(raw: Buffer | string | null | undefined): number {
	if (raw === null || raw === undefined) return 0;
	return typeof raw === 'string' ? Buffer.byteLength(raw, 'utf8') : raw.length;
}

const NO_BUYER: Buyer = { id: null, name: null, email: null, ip: null };

/** The items the trigger emits for a validated order (item contract of the README / BRIEF). */
export function webhookItems(order: CanonicalOrder, paidOutput: PaidOutput = 'line'): WebhookItem[] {
	const base = (): ItemBase => ({
		orderId: order.orderId,
		shop: order.shop,
		buyer: { ...(order.buyer ?? NO_BUYER) },
		amount: order.amount,
		currency: order.currency,
		paidAt: order.paidAt,
	});
	if (order.event === 'order.refunded') {
		return [{ event: 'order.refunded', ...base(), items: order.items.map((i) => ({ ...i })) }];
	}
	if (paidOutput === 'order') {
		return [{ event: 'order.paid', ...base(), items: order.items.map((i) => ({ ...i })) }];
	}
	const lines = order.items.length;
	return order.items.map((item, line) => ({
		event: 'order.paid',
		...base(),
		sku: item.sku,
		name: item.name,
		quantity: item.quantity,
		price: item.price,
		line,
		lines,
	}));
}

// ---------------------------------------------------------------------------------------------
// The decision

/** See the module comment. Throws WebhookConfigError for unusable settings, never for a bad request. */
export function decideWebhook(req: WebhookRequest, settings: WebhookSettings): WebhookDecision {
	const s = resolveWebhookSettings(settings);
	const scrub = (d: WebhookDecision): WebhookDecision => {
		if (d.action === 'reject') {
			d.body.error = redact(d.body.error, s.secret);
			if (d.body.field !== undefined) d.body.field = redact(d.body.field, s.secret);
		} else if (d.action === 'ignore') {
			d.body.event = redact(d.body.event, s.secret);
			d.body.message = redact(d.body.message, s.secret);
		}
		return d;
	};

	// 1. method
	const method = String(req.method ?? '').toUpperCase();
	if (method !== 'POST') {
		return reject(405, `Method ${clip(method || '(none)', 20)} is not allowed: send the order with POST.`, {}, { Allow: 'POST' });
	}

	// 2. content type
	if (!s.acceptAny) {
		const problem = contentTypeProblem(headerValue(req.headers, 'content-type'));
		if (problem) return scrub(reject(415, problem, { field: 'content-type' }));
	}

	// 3. size
	const size = byteLength(req.rawBody);
	if (req.truncated === true || size > s.maxBodyBytes) {
		const seen = req.truncated === true ? `more than ${s.maxBodyBytes} bytes` : `${size} bytes`;
		return reject(413, `body is too large (${seen}, at most ${s.maxBodyBytes} bytes).`, { field: 'body' }, { Connection: 'close' });
	}
	const raw = req.rawBody ?? '';

	// 4. signature
	if (s.verify) {
		const r = verifySignature({
			secret: s.secret,
			rawBody: raw,
			timestampHeader: headerValue(req.headers, s.timestampHeader),
			signatureHeader: headerValue(req.headers, s.signatureHeader),
			toleranceSeconds: s.tolerance,
			now: req.now,
			signatureHeaderName: s.signatureHeader,
			timestampHeaderName: s.timestampHeader,
		});
		if (!r.ok) {
			const field = ['missing_timestamp', 'bad_timestamp', 'expired'].includes(r.reason) ? s.timestampHeader : s.signatureHeader;
			return scrub(reject(401, r.message, { field: field.toLowerCase(), reason: r.reason }));
		}
	}

	try {
		// 5. JSON (size already checked in bytes)
		const body = parseJsonBody(raw, Number.MAX_SAFE_INTEGER);

		// 6. event: values mapped to "ignore", then the event filter — before the rest of the payload is validated
		const rawEvent = getPath(body, s.mapping?.event ?? 'event');
		if (typeof rawEvent === 'string' && s.ignoreValues.has(rawEvent.trim())) {
			const value = rawEvent.trim();
			return scrub(ignore(value, `Event "${clip(value)}" is acknowledged and ignored by this webhook.`));
		}
		const opts = { mapping: s.mapping, eventValues: s.eventValues };
		const event = parseOrderEvent(body, opts);
		if (s.events !== 'any' && event !== s.events) {
			return scrub(ignore(event, `This webhook handles ${s.events} only; ${event} was acknowledged and ignored.`));
		}

		// 7. the canonical order
		const order = parseOrder(body, opts);
		return { action: 'accept', order, items: webhookItems(order, s.paidOutput), ack: { received: true, orderId: order.orderId } };
	} catch (e) {
		if (e instanceof ValidationError) return scrub(reject(400, e.message, { field: e.field }));
		throw e;
	}
}

// ---------------------------------------------------------------------------------------------
// Raw body

/** What readRawBody needs from a Node.js / express request (n8n adds rawBody / readRawBody). */
export interface RawBodyRequest extends Partial<Pick<Readable, 'on' | 'removeListener' | 'resume' | 'readable' | 'readableEnded'>> {
	headers: HeaderMap;
	rawBody?: unknown;
	readRawBody?: unknown;
	body?: unknown;
	/** Set by express/n8n body parsers once the stream was consumed. */
	_body?: unknown;
}

export interface RawBodyResult {
	rawBody: Buffer | string | null;
	/** Larger than maxBytes (reading stopped). */
	truncated: boolean;
	/**
	 * Where the bytes came from: `rawBody` (n8n already read them), `readRawBody` (n8n's lazy
	 * reader), `stream` (read here), `parsedBody` (only a parsed body was left: NOT the bytes the
	 * shop signed), `none` (no body at all).
	 */
	source: 'rawBody' | 'readRawBody' | 'stream' | 'parsedBody' | 'none';
}

function asRaw(v: unknown): Buffer | string | undefined {
	return Buffer.isBuffer(v) || typeof v === 'string' ? v : undefined;
}

function isTooLarge(err: unknown): boolean {
	const e = err as { type?: unknown; status?: unknown; statusCode?: unknown; httpStatusCode?: unknown } | null;
	return !!e && (e.type === 'entity.too.large' || e.status === 413 || e.statusCode === 413 || e.httpStatusCode === 413);
}

/**
 * The raw request body, as n8n exposes it to webhook nodes:
 *
 * - n8n 1.x and 2.x put an express `rawBodyReader` in front of webhooks that defines
 *   `req.readRawBody()` and, once called, `req.rawBody` (a Buffer; gunzipped/inflated when the
 *   request was compressed). Before calling a webhook node of typeVersion 1 n8n parses the body
 *   (`parseBody`), which reads `req.rawBody` for every content type except multipart.
 * - If only `readRawBody` is there, it is called; if neither is there and the stream was not
 *   consumed, the stream is read here (at most maxBytes; the rest is discarded).
 * - If some other middleware already consumed the stream, only the parsed `req.body` is left:
 *   returned as `parsedBody` (a signature cannot be checked over it).
 */
export async function readRawBody(req: RawBodyRequest, maxBytes: number): Promise<RawBodyResult> {
	const existing = asRaw(req.rawBody);
	if (existing !== undefined) return { rawBody: existing, truncated: false, source: 'rawBody' };

	if (typeof req.readRawBody === 'function') {
		let readError: unknown;
		try {
			await (req.readRawBody as () => Promise<void>).call(req);
		} catch (e) {
			readError = e;
		}
		if (readError !== undefined && isTooLarge(readError)) return { rawBody: null, truncated: true, source: 'readRawBody' };
		const read = asRaw(req.rawBody);
		if (read !== undefined) return { rawBody: read, truncated: false, source: 'readRawBody' };
		// readRawBody could not read (stream consumed by someone else): fall through
	}

	const consumed = req.readableEnded === true || req.readable === false || req._body === true;
	if (!consumed && typeof req.on === 'function' && typeof req.removeListener === 'function') {
		return readStream(req, maxBytes);
	}

	if (req.body !== undefined && req.body !== null) {
		const parsed = asRaw(req.body) ?? JSON.stringify(req.body);
		return { rawBody: parsed, truncated: false, source: 'parsedBody' };
	}
	return { rawBody: null, truncated: false, source: 'none' };
}

function readStream(req: RawBodyRequest, maxBytes: number): Promise<RawBodyResult> {
	const declared = Number(headerValue(req.headers, 'content-length'));
	if (Number.isFinite(declared) && declared > maxBytes) {
		req.resume?.(); // discard; the 413 is answered right away
		return Promise.resolve({ rawBody: null, truncated: true, source: 'stream' });
	}
	const stream = req as Pick<Readable, 'on' | 'removeListener' | 'resume'>;
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		const cleanup = () => {
			stream.removeListener('data', onData);
			stream.removeListener('end', onEnd);
			stream.removeListener('error', onError);
		};
		const onData = (chunk: Buffer | string) => {
			const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
			size += buf.length;
			if (size > maxBytes) {
				cleanup();
				stream.resume(); // discard the rest
				resolve({ rawBody: null, truncated: true, source: 'stream' });
				return;
			}
			chunks.push(buf);
		};
		const onEnd = () => {
			cleanup();
			resolve({ rawBody: Buffer.concat(chunks), truncated: false, source: 'stream' });
		};
		const onError = (err: Error) => {
			cleanup();
			reject(err);
		};
		stream.on('data', onData);
		stream.on('end', onEnd);
		stream.on('error', onError);
	});
}
