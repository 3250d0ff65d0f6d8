/**
 * Mark Shipped's shop request — DESIGN §1.7 and §6: what is sent to the shop API and how its answer
 * is read.
 *
 * `prepareShipRequest` checks the method, path, JSON body template and reference field before
 * anything is touched (bad input changes nothing); `shipCall` renders the call of one delivery —
 * the path with the values URL-encoded (never the delivery content), the JSON body in template.ts
 * JSON mode — and `readReference` reads the shop reference from the answer. `checkShopConnection`
 * is the credential test. ship.ts holds the use case (lease → call → record).
 */
import { redactSecrets } from '../secrets';
import { ValidationError } from '../errors';
import { HttpCallError, callWithRetry, isTlsErrorCode, joinUrl, type HttpCall } from '../outbound';
import { DEFAULT_SHIP_LEASE_MS, type DeliveryWithKeys } from '../store';
import { callOptions, type CallOptions } from './callOptions';
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

export const SHIP_METHODS = ['POST', 'PUT', 'PATCH', 'GET', 'DELETE'] as const;
export const DEFAULT_REFERENCE_FIELD = 'reference';
export const MAX_RETRIES = 5;

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
		deliveryLink: ctx.deliveryLink ?? '',
		usageGuide: '',
		afterSaleNote: '',
		recommended: '',
		expectedWithin: '',
		reviewUrl: '',
	};
}

/** The JSON body: template.ts's JSON mode (escaped inside quotes, a whole JSON value outside). */
export function renderBody(template: string, ctx: TemplateContext, timeZone = DEFAULT_TIME_ZONE): string {
	return renderTemplate(template, ctx, { json: true, timeZone });
}

/** Sample values for checking a body template's JSON shape (text that needs escaping); External API bodies too. */
export const SAMPLE_BODY_CONTEXT: TemplateContext = {
	productName: 'Sample "product" \\ 1',
	deliveryContent: ['SAMPLE-KEY', 'SECOND "KEY"'],
	orderId: 'SAMPLE-ORDER',
	buyerName: 'Sample buyer',
	quantity: 2,
	date: '2026-01-01T02:00:00.000Z',
};

// ------------------------------------------------------------------------------------- request

export interface PreparedShipRequest extends CallOptions {
	method: string;
	path: string;
	body: string | null;
	referenceField: string | null;
	/** The body uses the delivery content: decrypt it (only then). */
	needsContent: boolean;
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
			JSON.parse(renderBody(body, SAMPLE_BODY_CONTEXT));
		} catch (err) {
			throw new ValidationError('body', `The JSON Body is not valid JSON (${(err as Error).message}). Example: {"orderId": "{orderId}", "quantity": {quantity}}.`);
		}
	}

	let referenceField: string | null = req.referenceField === undefined ? DEFAULT_REFERENCE_FIELD : req.referenceField;
	referenceField = referenceField === null ? null : String(referenceField).trim() || null;
	if (referenceField !== null && referenceField.split('.').some((s) => s === '')) {
		throw new ValidationError('referenceField', `Shop Reference Field "${referenceField}" is not a dotted path like "reference" or "data.shipment.id".`);
	}

	const call = callOptions(req, MAX_RETRIES, DEFAULT_SHIP_LEASE_MS);
	return { method, path, body, referenceField, needsContent, ...call };
}

/**
 * The shop call of one delivery: the path (values URL-encoded) on the Base URL, the JSON body
 * (checked again once the delivery values are filled in), the credential's headers.
 */
export function shipCall(prepared: PreparedShipRequest, shop: ShopTarget, ctx: TemplateContext, timeZone: string, secrets: string[]): HttpCall {
	const path = renderEncoded(prepared.path, pathValues(ctx, timeZone), urlEncodeValue);
	const headers: Record<string, string> = { ...(shop.headers ?? {}) };
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
	return {
		method: prepared.method,
		url: joinUrl(shop.baseUrl.trim(), path),
		headers,
		body,
		timeoutMs: prepared.timeoutMs,
		retries: prepared.retries,
		backoffMs: prepared.backoffMs,
		ignoreSsl: shop.ignoreSsl,
		// an answer echoing the request is redacted before the client shortens it into the error
		secrets,
	};
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
