/**
 * What Shop Webhook answers (docs/webhook.md "What the shop gets back"): the request and decision
 * types of decideWebhook, the rejection / acknowledgement builders, the checks that come before
 * any signature (method, Content-Type, size) and the redaction of the signing secret from every
 * answer. Shared by the canonical path (webhook.ts) and the platform presets (platformWebhook.ts).
 */
import type { CanonicalOrder } from './order';
import type { CanonicalJson, FetchJson, PlatformId, QueryMap } from './platforms/types';
import { headerValue, type HeaderMap } from './rawBody';
import type { WebhookItem } from './webhookItems';

export interface WebhookRequest {
	method: string | undefined;
	/** Request headers (any case). */
	headers: HeaderMap;
	/** The query parameters of the request URL (platforms that sign there, e.g. 闲管家). Default {}. */
	query?: QueryMap;
	/** The body exactly as received; null/undefined for none. */
	rawBody: Buffer | string | null | undefined;
	/** The reader stopped at the size limit: the body is larger than the limit. */
	truncated?: boolean;
	/** Current time in milliseconds (for tests). Default Date.now(). */
	now?: number;
}

/** 503: the platform's API failed while the order was being completed (the platform sends it again). */
export type RejectStatus = 400 | 401 | 405 | 413 | 415 | 503;

export interface ErrorBody {
	/** What is wrong, for the shop's developer. Never a secret. */
	error: string;
	/** The field at fault: a canonical order path (`items[1].quantity`), `body`, or a header name (`x-signature`). */
	field?: string;
	/** For 401: missing_signature | missing_timestamp | bad_timestamp | expired | bad_format | mismatch. */
	reason?: string;
}

export interface IgnoredBody {
	/** A platform's own success fields (Platform.answer), e.g. 闲管家 `result: "success"`. */
	[extra: string]: unknown;
	ignored: true;
	/** The canonical event, the shop's own value when it is mapped to "ignore", or the platform's event (`order.updated`, `ping`). */
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
			/** Body of the immediate answer (plus the platform's own success fields, Platform.answer). */
			ack: { received: true; orderId: string; [extra: string]: unknown };
			/** Presets: the platform's own event / delivery id (for the log; idempotency stays (shop, orderId, sku)). */
			eventId?: string;
	  };

/** What a preset's classification left to do before the order is known (platformWebhook.ts finishWebhook). */
export interface PendingOrder {
	kind: 'paid' | 'refunded';
	/** The canonical JSON the platform read from its payload, before completion. */
	order: CanonicalJson;
	/** The parsed payload (Field Mapping overrides read it). */
	payload: unknown;
	lines?: readonly unknown[];
}

/**
 * A signed event whose order needs the platform's API (e.g. Stripe line items): call
 * `complete(fetch)` with a FetchJson bound to the seller's API credential, then finishWebhook /
 * completeWebhook (platformWebhook.ts) turns its answer into accept / reject / ignore.
 */
export interface CompleteDecision {
	action: 'complete';
	platform: PlatformId;
	eventId?: string;
	complete: (fetch: FetchJson) => Promise<CanonicalJson>;
	pending: PendingOrder;
}

/** Every decision decideShopWebhook can return. */
export type ShopWebhookDecision = WebhookDecision | CompleteDecision;

// ---------------------------------------------------------------------------------------------
// Answers

const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' };

export function clip(text: string, max = 80): string {
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

/** The decision with every caller-influenced text of its answer cleared of the signing secret. */
export function scrub<D extends ShopWebhookDecision>(d: D, secret: string): D {
	if (d.action === 'reject') {
		d.body.error = redact(d.body.error, secret);
		if (d.body.field !== undefined) d.body.field = redact(d.body.field, secret);
	} else if (d.action === 'ignore') {
		d.body.event = redact(d.body.event, secret);
		d.body.message = redact(d.body.message, secret);
	}
	return d;
}

export function reject(
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

/**
 * The platform's API failed while completing an order (Classification.complete): 503 with
 * Retry-After, so the platform sends the webhook again; nothing starts. Our own answer on purpose:
 * n8n's 500 for a failed trigger reads `{"code": 0, …}`, which a platform judging success by the
 * body's `code` (有赞) would take for success and never resend.
 */
export function apiFailure(platform: string, message: string): WebhookDecision {
	return reject(
		503,
		`Reading the order from the ${platform} API failed: ${message} Nothing was started; it is processed when the platform sends it again (check the Auto Delivery Shop API credential if this repeats).`,
		{ field: 'credentials' },
		{ 'Retry-After': '60' },
	);
}

export function ignore(event: string, message: string): WebhookDecision {
	return { action: 'ignore', status: 200, body: { ignored: true, event, message }, headers: { ...JSON_HEADERS } };
}

// ---------------------------------------------------------------------------------------------
// Checks before the signature

/** 405 unless POST. */
export function methodProblem(req: WebhookRequest): WebhookDecision | null {
	const method = String(req.method ?? '').toUpperCase();
	if (method === 'POST') return null;
	return reject(405, `Method ${clip(method || '(none)', 20)} is not allowed: send the order with POST.`, {}, { Allow: 'POST' });
}

/**
 * null when the Content-Type is acceptable, else the message for the 415. `types` are the media
 * types accepted; `application/json` also accepts any `application/*+json`.
 */
function contentTypeProblem(value: string | undefined, types: readonly string[]): string | null {
	const wanted = types.join(' or ');
	if (value === undefined || value.trim() === '') {
		return `The Content-Type header is missing: send the order as ${wanted}.`;
	}
	const [typePart, ...params] = value.split(';');
	const type = typePart.trim().toLowerCase();
	const json = types.includes('application/json') && /^application\/[a-z0-9!#$&^_.+-]+\+json$/.test(type);
	if (!types.includes(type) && !json) {
		return `Content-Type "${clip(type)}" is not accepted: send the order as ${wanted}.`;
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

/** 415 for a Content-Type not in `types` (unless `acceptAny`), then 413 over `maxBodyBytes`. */
export function bodyProblem(
	req: WebhookRequest,
	s: { acceptAny: boolean; maxBodyBytes: number },
	types: readonly string[] = ['application/json'],
): WebhookDecision | null {
	if (!s.acceptAny) {
		const problem = contentTypeProblem(headerValue(req.headers, 'content-type'), types);
		if (problem) return reject(415, problem, { field: 'content-type' });
	}
	const size = byteLength(req.rawBody);
	if (req.truncated === true || size > s.maxBodyBytes) {
		const seen = req.truncated === true ? `more than ${s.maxBodyBytes} bytes` : `${size} bytes`;
		return reject(413, `body is too large (${seen}, at most ${s.maxBodyBytes} bytes).`, { field: 'body' }, { Connection: 'close' });
	}
	return null;
}
