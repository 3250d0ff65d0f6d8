/**
 * Mark Shipped — DESIGN §1.4 (no 虚假发货 / fake shipping) and §6.
 *
 * The algorithm, free of n8n:
 *   1. validate the request (method, path, JSON body template, reference field) — bad input
 *      changes nothing;
 *   2. `beginShip` takes the delivery's ship lease (one shop call per delivery across executions,
 *      workers and processes) or answers already_shipped / not_sent / revoked / busy;
 *   3. render the path (values URL-encoded) and the JSON body (template.ts JSON mode) with the
 *      DESIGN §6 variables — the delivery content is decrypted only when the body uses
 *      `{deliveryContent}` / `{发货内容}`, and only into the request;
 *   4. `callWithRetry` (2xx = success; retries on 5xx, timeouts, dropped connections; none on 4xx);
 *   5. `markShipped` with the shop reference read from the answer, or `markShipFailed` with the
 *      error scrubbed of the keys and of the shop credential's secrets.
 *
 * Nothing returned or thrown from here carries a plaintext key.
 */
import { redactSecrets } from '../secrets/crypto';
import { StoreError, ValidationError } from '../errors';
import { HttpCallError, callWithRetry, isTlsErrorCode, joinUrl } from '../outbound/http';
import { DEFAULT_SHIP_LEASE_MS, type Actor, type Delivery, type DeliveryWithKeys, type KeyStore, orderLabel } from '../store/KeyStore';
import { DEFAULT_TIME_ZONE, TEMPLATE_VARIABLES, formatDate, renderTemplate, type TemplateContext } from './template';

/** Where the shop API lives and how to authenticate (from the Auto Delivery Shop API credential). */
export interface ShopTarget {
	baseUrl: string;
	/** Authentication headers (never logged or returned). */
	headers?: Record<string, string>;
	ignoreSsl?: boolean;
	/** Credential secrets (token, header value) scrubbed from stored and thrown error texts. */
	secrets?: string[];
}

export interface ShipRequest {
	/** POST (default), PUT, PATCH, GET or DELETE. */
	method?: string;
	/** Relative to the base URL; variables are URL-encoded, e.g. `/orders/{orderId}/ship`. */
	path: string;
	/** JSON body template; variables are JSON-escaped (put text variables inside quotes). Empty: no body. */
	body?: string | null;
	/** Dotted path into the JSON answer whose value is stored as the shop reference. Default `reference`. */
	referenceField?: string | null;
	/** Per attempt. Default 10 000 ms. */
	timeoutMs?: number;
	/** Extra attempts after the first on 5xx, timeouts and dropped connections. Default 3 (at most 5). */
	retries?: number;
	/** First backoff, doubling each retry. Default 500 ms. */
	backoffMs?: number;
}

export interface ShipInput {
	deliveryId: number;
	/** Refuse deliveries without a recorded send (default true). Off = the seller's explicit override. */
	requireSent?: boolean;
	/** Record the shipment without calling the shop. */
	recordOnly?: boolean;
	/** Reference stored with a Record Only shipment (e.g. a tracking number). */
	shopReference?: string | null;
	/** Required unless recordOnly. */
	shop?: ShopTarget;
	request?: ShipRequest;
	/** IANA time zone of `{date}`. Default Asia/Shanghai. */
	timeZone?: string;
	actor?: Actor;
	/** How long to wait for another execution that holds the ship lease. Default: the lease + 5 s. */
	waitMs?: number;
}

export type ShipOutcome =
	| {
			outcome: 'shipped';
			/** Shipped before: nothing was called now. */
			alreadyShipped: boolean;
			recordOnly: boolean;
			/** HTTP attempts made now (0 when nothing was called). */
			attempts: number;
			httpStatus: number | null;
			/** Shipped under the "Require Sent" override, without a recorded send. */
			withoutRecordedSend: boolean;
			delivery: Delivery;
	  }
	| { outcome: 'not_sent' | 'revoked'; message: string; delivery: Delivery };

/** The shop call failed (recorded as ship_failed) or another execution holds the lease. Never carries a key. */
export class ShipError extends StoreError {
	constructor(
		message: string,
		code: 'ship_failed' | 'busy' | 'record_failed',
		readonly status: number | null = null,
		readonly attempts = 0,
		readonly delivery: Delivery | null = null,
	) {
		super(message, code);
		this.name = 'ShipError';
	}
}

export const SHIP_METHODS = ['POST', 'PUT', 'PATCH', 'GET', 'DELETE'] as const;
export const DEFAULT_REFERENCE_FIELD = 'reference';
export const MAX_RETRIES = 5;
const MAX_TIMEOUT_MS = 300000;

// ------------------------------------------------------------------------------------- templates

type VariableName = (typeof TEMPLATE_VARIABLES)[number]['name'];

/** Same placeholder syntax as template.ts: `{name}` / `{ name }`, identifier-like names only. */
const PLACEHOLDER = /\{[ \t]*([\p{L}\p{N}_.$-]+)[ \t]*\}/gu;

const LOOKUP = new Map<string, VariableName>();
for (const v of TEMPLATE_VARIABLES) {
	LOOKUP.set(v.name.toLowerCase(), v.name);
	LOOKUP.set(v.alias, v.name);
}
const variableOf = (raw: string): VariableName | undefined => LOOKUP.get(raw) ?? LOOKUP.get(raw.toLowerCase());

/** The variables a template uses (canonical names) and the unknown placeholders in it. */
export function templateVariables(template: string): { used: Set<VariableName>; unknown: string[] } {
	const used = new Set<VariableName>();
	const unknown: string[] = [];
	for (const m of template.matchAll(PLACEHOLDER)) {
		const name = variableOf(m[1]);
		if (name) used.add(name);
		else if (!unknown.includes(m[1])) unknown.push(m[1]);
	}
	return { used, unknown };
}

export type ShipValues = Record<VariableName, string>;

/**
 * Single pass, like renderTemplate: each value is inserted once through `encode` and never scanned
 * again, so a buyer name containing `{deliveryContent}` stays literal. Unknown placeholders are kept.
 */
export function renderEncoded(template: string, values: ShipValues, encode: (value: string) => string): string {
	return template.replace(PLACEHOLDER, (whole: string, raw: string) => {
		const name = variableOf(raw);
		return name === undefined ? whole : encode(values[name]);
	});
}

/** For a path segment or query value; `.` and `..` alone are refused (they would change the path). */
export function urlEncodeValue(value: string): string {
	if (value === '.' || value === '..') throw new ValidationError('path', `A variable in the Path has the value "${value}", which would change the path; refusing to call the shop.`);
	return encodeURIComponent(value);
}

/** The template context of a delivery; the delivery content only when its keys were revealed (else empty). */
export function shipContext(d: DeliveryWithKeys, productName: string | null): TemplateContext {
	return {
		productName: productName ?? d.sku,
		deliveryContent: d.keys.map((k) => k.key ?? '').filter((k) => k !== ''),
		orderId: d.orderId,
		buyerName: d.buyer.name ?? '',
		quantity: d.quantity,
		date: d.createdAt,
	};
}

/** Path values (URL-encoded by renderEncoded); the delivery content is never put in a URL. */
export function pathValues(ctx: TemplateContext, timeZone = DEFAULT_TIME_ZONE): ShipValues {
	return {
		productName: ctx.productName,
		deliveryContent: '',
		orderId: ctx.orderId,
		buyerName: ctx.buyerName ?? '',
		quantity: String(ctx.quantity),
		date: formatDate(ctx.date, timeZone),
	};
}

/** The JSON body: template.ts's JSON mode (escaped inside quotes, a whole JSON value outside). */
export function renderBody(template: string, ctx: TemplateContext, timeZone = DEFAULT_TIME_ZONE): string {
	return renderTemplate(template, ctx, { json: true, timeZone });
}

/** Sample values for checking a body template's JSON shape (text that needs escaping). */
const SAMPLE: TemplateContext = {
	productName: 'Sample "product" \\ 1',
	deliveryContent: ['SAMPLE-KEY', 'SECOND "KEY"'],
	orderId: 'SAMPLE-ORDER',
	buyerName: 'Sample buyer',
	quantity: 2,
	date: '2026-01-01T02:00:00.000Z',
};

// ------------------------------------------------------------------------------------- request

export interface PreparedShipRequest {
	method: string;
	path: string;
	body: string | null;
	referenceField: string | null;
	/** The body uses the delivery content: decrypt it (only then). */
	needsContent: boolean;
	timeoutMs: number;
	retries: number;
	backoffMs: number;
	/** Long enough for every attempt, so no other execution calls the shop while this one still may. */
	leaseMs: number;
}

function intOption(field: string, label: string, value: unknown, dflt: number, min: number, max: number): number {
	if (value === undefined || value === null || value === '') return dflt;
	const n = typeof value === 'string' ? Number(value) : value;
	if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
		throw new ValidationError(field, `${label} must be a whole number from ${min} to ${max}.`);
	}
	return n;
}

/** Validates the shop request before anything is touched (bad input changes nothing). */
export function prepareShipRequest(req: ShipRequest, shop: ShopTarget | undefined): PreparedShipRequest {
	if (!shop || typeof shop.baseUrl !== 'string' || shop.baseUrl.trim() === '') {
		throw new ValidationError('baseUrl', 'No Base URL is set in the Auto Delivery Shop API credential; set it, or use Record Only.');
	}
	let base: URL;
	try {
		base = new URL(shop.baseUrl.trim());
		if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('scheme');
	} catch {
		throw new ValidationError('baseUrl', `The Base URL "${shop.baseUrl}" of the Auto Delivery Shop API credential is not an http(s) URL.`);
	}
	const method = String(req.method ?? 'POST').trim().toUpperCase() || 'POST';
	if (!(SHIP_METHODS as readonly string[]).includes(method)) {
		throw new ValidationError('method', `Method must be one of ${SHIP_METHODS.join(', ')} (got "${req.method}").`);
	}
	const path = typeof req.path === 'string' ? req.path.trim() : '';
	if (path === '') throw new ValidationError('path', 'Path is required, e.g. /orders/{orderId}/ship (relative to the Base URL).');
	if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('//')) {
		throw new ValidationError('path', 'Path must be relative to the Base URL of the credential (e.g. /orders/{orderId}/ship), not a full URL: the shop credentials are only sent to the Base URL.');
	}
	if (/\s/.test(path.replace(PLACEHOLDER, ''))) throw new ValidationError('path', 'Path contains spaces; use %20 or a variable.');
	const pathVars = templateVariables(path);
	if (pathVars.unknown.length) {
		throw new ValidationError(
			'path',
			`Unknown variable${pathVars.unknown.length > 1 ? 's' : ''} in the Path: ${pathVars.unknown.map((u) => `{${u}}`).join(', ')}. Known: ${TEMPLATE_VARIABLES.map((v) => `{${v.name}}`).join(' ')} (or 中文 ${TEMPLATE_VARIABLES.map((v) => `{${v.alias}}`).join(' ')}).`,
		);
	}
	if (pathVars.used.has('deliveryContent')) {
		throw new ValidationError('path', '{deliveryContent} / {发货内容} is not allowed in the Path (URLs end up in logs); put it in the JSON Body.');
	}

	let body: string | null = null;
	let needsContent = false;
	if (method !== 'GET' && req.body !== undefined && req.body !== null && String(req.body).trim() !== '') {
		body = String(req.body);
		needsContent = templateVariables(body).used.has('deliveryContent');
		try {
			JSON.parse(renderBody(body, SAMPLE));
		} catch (err) {
			throw new ValidationError('body', `The JSON Body is not valid JSON (${(err as Error).message}). Example: {"orderId": "{orderId}", "quantity": {quantity}}.`);
		}
	}

	let referenceField: string | null = req.referenceField === undefined ? DEFAULT_REFERENCE_FIELD : req.referenceField;
	referenceField = referenceField === null ? null : String(referenceField).trim() || null;
	if (referenceField !== null && referenceField.split('.').some((s) => s === '')) {
		throw new ValidationError('referenceField', `Shop Reference Field "${referenceField}" is not a dotted path like "reference" or "data.shipment.id".`);
	}

	const timeoutMs = intOption('timeoutMs', 'Timeout (ms)', req.timeoutMs, 10000, 1, MAX_TIMEOUT_MS);
	const retries = intOption('retries', 'Max Retries', req.retries, 3, 0, MAX_RETRIES);
	const backoffMs = intOption('backoffMs', 'Retry Delay (ms)', req.backoffMs, 500, 0, 60000);
	// Worst case of callWithRetry: every attempt times out (+1 s abort guard) plus every backoff (+20 % jitter).
	const worst = (retries + 1) * (timeoutMs + 1000) + Math.ceil(backoffMs * (2 ** retries - 1) * 1.2);
	const leaseMs = Math.max(DEFAULT_SHIP_LEASE_MS, worst + 30000);
	return { method, path, body, referenceField, needsContent, timeoutMs, retries, backoffMs, leaseMs };
}

/** The value at a dotted path (`data.items.0.id`) of a JSON answer, as text; null when absent or not a scalar. */
export function readReference(data: unknown, field: string | null): string | null {
	if (!field) return null;
	let cur: unknown = data;
	for (const part of field.split('.')) {
		if (cur === null || typeof cur !== 'object') return null;
		cur = Array.isArray(cur) ? (/^\d+$/.test(part) ? cur[Number(part)] : undefined) : (cur as Record<string, unknown>)[part];
	}
	if (typeof cur === 'string') return cur.trim() === '' ? null : cur;
	if (typeof cur === 'number' || typeof cur === 'boolean' || typeof cur === 'bigint') return String(cur);
	return null;
}

// ------------------------------------------------------------------------------------- messages

export function notSentMessage(d: Delivery): string {
	return `Delivery ${d.id} (order ${d.orderId}, SKU ${d.sku}) has not been sent to the buyer yet: marking it shipped now would be fake shipping (虚假发货). Send it first (Notify Buyer), or switch off "Require Sent" to override.`;
}

export function revokedMessage(d: Delivery): string {
	return `${orderLabel(d.shop, d.orderId)} (SKU ${d.sku}) was refunded/revoked${d.revokeReason ? ` (${d.revokeReason})` : ''}: a revoked delivery is never marked shipped.`;
}

const withoutKeys = (d: DeliveryWithKeys | Delivery): Delivery => {
	// eslint-disable-next-line @typescript-eslint/no-unused-vars
	const { keys: _keys, ...rest } = d as DeliveryWithKeys;
	return rest;
};

// ------------------------------------------------------------------------------------- ship

/**
 * Marks one delivery shipped. Returns shipped (possibly alreadyShipped) / not_sent / revoked;
 * throws ValidationError for bad input (nothing changed) and ShipError when the shop call failed
 * (recorded as ship_failed, status unchanged) or another execution holds the lease too long.
 */
export async function shipDelivery(store: KeyStore, input: ShipInput): Promise<ShipOutcome> {
	const recordOnly = input.recordOnly === true;
	const prepared = recordOnly ? null : prepareShipRequest(input.request ?? { path: '' }, input.shop);
	const recordReference = recordOnly ? input.shopReference ?? null : null;
	if (recordReference !== null && String(recordReference).trim().length > 255) {
		throw new ValidationError('shopReference', 'Shop Reference is too long (at most 255 characters).');
	}
	const timeZone = input.timeZone || DEFAULT_TIME_ZONE;
	formatDate(new Date(0), timeZone); // throws a ValidationError for an unknown time zone, before anything is touched

	const begun = await store.beginShip(input.deliveryId, {
		requireSent: input.requireSent !== false,
		reveal: prepared?.needsContent === true,
		leaseMs: prepared?.leaseMs,
		waitMs: input.waitMs,
		actor: input.actor,
	});
	switch (begun.kind) {
		case 'revoked':
			return { outcome: 'revoked', message: revokedMessage(begun.delivery), delivery: withoutKeys(begun.delivery) };
		case 'not_sent':
			return { outcome: 'not_sent', message: notSentMessage(begun.delivery), delivery: withoutKeys(begun.delivery) };
		case 'already_shipped':
			return { outcome: 'shipped', alreadyShipped: true, recordOnly: false, attempts: 0, httpStatus: null, withoutRecordedSend: false, delivery: withoutKeys(begun.delivery) };
		case 'busy':
			throw new ShipError(
				`Delivery ${input.deliveryId} is being marked shipped by another execution that has not finished; try again later.`,
				'busy',
				null,
				0,
				withoutKeys(begun.delivery),
			);
	}

	const { token } = begun;
	const withoutRecordedSend = begun.delivery.sentAt === null;
	const plainKeys = begun.delivery.keys.map((k) => k.key ?? '').filter((k) => k !== '');
	const secrets = [...plainKeys, ...(input.shop?.secrets ?? [])];
	const scrub = (text: string) => redactSecrets(text, secrets);

	if (recordOnly || !prepared) {
		const d = await store.markShipped(input.deliveryId, token, { shopReference: recordReference, recordOnly: true, actor: input.actor });
		return { outcome: 'shipped', alreadyShipped: false, recordOnly: true, attempts: 0, httpStatus: null, withoutRecordedSend, delivery: d };
	}

	let status: number;
	let reference: string | null;
	let attempts: number;
	try {
		let productName: string | null = null;
		try {
			productName = (await store.getProduct(begun.delivery.sku))?.name ?? null;
		} catch {
			// an order-level line or a deleted product: fall back to the sku
		}
		const ctx = shipContext(begun.delivery, productName);
		const path = renderEncoded(prepared.path, pathValues(ctx, timeZone), urlEncodeValue);
		const headers: Record<string, string> = { ...(input.shop?.headers ?? {}) };
		let body: string | undefined;
		if (prepared.body !== null) {
			body = renderBody(prepared.body, ctx, timeZone);
			try {
				JSON.parse(body);
			} catch {
				// never echo the parser's message: it quotes the body, which may hold the key
				throw new ValidationError('body', 'The JSON Body is not valid JSON once the delivery values are filled in.');
			}
			if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json; charset=utf-8';
		}
		const res = await callWithRetry({
			method: prepared.method,
			url: joinUrl(input.shop!.baseUrl.trim(), path),
			headers,
			body,
			timeoutMs: prepared.timeoutMs,
			retries: prepared.retries,
			backoffMs: prepared.backoffMs,
			ignoreSsl: input.shop?.ignoreSsl,
			// an answer echoing the request is redacted before the client shortens it into the error
			secrets,
		});
		status = res.status;
		attempts = res.attempts;
		const ref = readReference(res.data, prepared.referenceField);
		reference = ref === null ? null : scrub(ref).trim().slice(0, 255) || null;
	} catch (err) {
		const http = err instanceof HttpCallError ? err : null;
		const raw = http
			? `Shop API call failed: ${http.message}`
			: err instanceof StoreError
				? err.message
				: `Shop API call failed: ${(err as Error)?.message ?? String(err)}`;
		const message = scrub(raw);
		let after: Delivery | null = null;
		try {
			after = await store.markShipFailed(input.deliveryId, token, { error: message, status: http?.status ?? null, actor: input.actor });
		} catch {
			// recording the failure failed too: the lease expires on its own
		}
		if (err instanceof ValidationError) throw new ValidationError(err.field, scrub(err.message));
		throw new ShipError(message, 'ship_failed', http?.status ?? null, http?.attempts ?? 0, after);
	}

	try {
		const d = await store.markShipped(input.deliveryId, token, { shopReference: reference, recordOnly: false, actor: input.actor });
		return { outcome: 'shipped', alreadyShipped: false, recordOnly: false, attempts, httpStatus: status, withoutRecordedSend, delivery: d };
	} catch (err) {
		throw new ShipError(
			scrub(`The shop accepted the shipment (HTTP ${status}${reference ? `, reference ${reference}` : ''}) but recording it in the key store failed: ${(err as Error)?.message ?? String(err)}`),
			'record_failed',
			status,
			attempts,
		);
	}
}

// ------------------------------------------------------------------------------------- connection test

export interface ShopConnectionCheck {
	ok: boolean;
	message: string;
	status: number | null;
}

/**
 * The credential test: reaches the base URL with the authentication headers (one GET, no retry).
 * Unreachable hosts, TLS problems and 401/403 give a message naming the problem; other answers
 * (also 404/405: many APIs answer so at their root) prove the server is reachable.
 */
export async function checkShopConnection(shop: ShopTarget & { authConfigured: boolean }, timeoutMs = 10000): Promise<ShopConnectionCheck> {
	const scrub = (t: string) => redactSecrets(t, shop.secrets ?? []);
	if (typeof shop.baseUrl !== 'string' || shop.baseUrl.trim() === '') {
		return { ok: false, status: null, message: 'Base URL is empty. Set the root of the shop API (Mark Shipped paths are relative to it).' };
	}
	let url: URL;
	try {
		url = new URL(shop.baseUrl.trim());
		if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
	} catch {
		return { ok: false, status: null, message: `Base URL "${shop.baseUrl}" is not an http(s) URL, e.g. https://shop.example.com/api.` };
	}
	try {
		const res = await callWithRetry({ method: 'GET', url: url.toString(), headers: shop.headers, retries: 0, timeoutMs, ignoreSsl: shop.ignoreSsl, secrets: shop.secrets ?? [] });
		return { ok: true, status: res.status, message: `Connected: ${url.host} answered ${res.status}.` };
	} catch (err) {
		if (!(err instanceof HttpCallError)) return { ok: false, status: null, message: scrub(`Could not reach ${url.host}: ${(err as Error)?.message ?? String(err)}`) };
		const status = err.status;
		if (status === 401 || status === 403) {
			const what = status === 401 ? '401 Unauthorized' : '403 Forbidden';
			return {
				ok: false,
				status,
				message: shop.authConfigured
					? `${url.host} refused the credentials (${what}). Check the token or the header name and value.`
					: `${url.host} requires authentication (${what}). Choose Bearer Token or Custom Header and enter the shop's API token.`,
			};
		}
		if (status !== null && status < 500) {
			return { ok: true, status, message: `Connected: ${url.host} is reachable and did not refuse the credentials (it answered ${status} at the Base URL, which many APIs do at their root).` };
		}
		if (status !== null) return { ok: false, status, message: `${url.host} is reachable but answered ${status} (server error). Try again later or check the Base URL.` };
		if (isTlsErrorCode(err.code)) return { ok: false, status: null, message: scrub(err.message.replace(/ Gave up after \d+ attempts\./, '')) };
		return { ok: false, status: null, message: scrub(`Cannot reach the shop API: ${err.message.replace(/ \(attempt \d+ of \d+\)/, '').replace(/ Gave up after \d+ attempts\./, '')}`) };
	}
}

// ------------------------------------------------------------------------------------- output

export interface ShipItem {
	deliveryId: number;
	orderId: string;
	shop: string | null;
	sku: string;
	status: string;
	ship: Record<string, unknown>;
}

/** The item fields Mark Shipped sets on top of its input item (never a key). */
export function shipItem(o: ShipOutcome): ShipItem {
	const d = o.delivery;
	const base = { deliveryId: d.id, orderId: d.orderId, shop: d.shop, sku: d.sku, status: d.status };
	if (o.outcome !== 'shipped') return { ...base, ship: { shipped: false, reason: o.outcome, message: o.message } };
	const ship: Record<string, unknown> = {
		shipped: true,
		alreadyShipped: o.alreadyShipped,
		shopReference: d.shopReference,
		shippedAt: d.shippedAt,
		attempts: o.attempts,
		recordOnly: o.recordOnly,
	};
	if (o.httpStatus !== null) ship.httpStatus = o.httpStatus;
	if (o.withoutRecordedSend) ship.withoutRecordedSend = true;
	// A refund that landed while the shop call was in flight keeps the delivery revoked.
	return { ...base, status: d.status === 'revoked' ? 'revoked' : 'shipped', ship };
}
