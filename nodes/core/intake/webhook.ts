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
 * configuration problem, not the caller's: they throw WebhookConfigError (webhookSettings.ts)
 * instead of answering 4xx.
 *
 * Nothing here echoes a secret: failure messages never contain the signing secret or the expected
 * signature, and any occurrence of the secret in a response body is replaced by `[redacted]`.
 *
 * `readRawBody(req, maxBytes)` (rawBody.ts) obtains the raw bytes from a Node.js request the way
 * n8n exposes them; `webhookItems` (webhookItems.ts) shapes the items of an accepted order.
 */
import { ValidationError } from '../errors';
import { getPath } from './mapping';
import { parseJsonBody, parseOrder, parseOrderEvent, type CanonicalOrder } from './order';
import { headerValue, type HeaderMap } from './rawBody';
import { verifySignature } from './signature';
import { webhookItems, type WebhookItem } from './webhookItems';
import { resolveWebhookSettings, type WebhookSettings } from './webhookSettings';

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

// ---------------------------------------------------------------------------------------------
// Helpers

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
