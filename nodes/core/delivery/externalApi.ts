/**
 * External API products (API接口发货): the content of an order line comes from the seller's own
 * endpoint instead of the key pool. This file holds the endpoint config (checked before anything is
 * stored: bad input changes nothing), the request of one order line and how its answer is read.
 * apiDelivery.ts holds the use cases (claim: replay → call → record, or hold; revoke on refund).
 *
 * - The request: URL (variables URL-encoded, never the content), method GET/POST/PUT, headers (a
 *   JSON object; they may hold tokens — the config is stored sealed), a JSON body template rendered
 *   with template.ts's JSON mode, and `Idempotency-Key: <shop>:<orderId>:<sku>` (each part
 *   URL-encoded; the default shop is empty), the SAME on every retry and every later run, so the
 *   seller's system can answer a repeated request with the content it already issued.
 * - Retries (outbound/http.ts): on 5xx, timeouts and dropped connections, never on 4xx.
 * - The content: the value at `contentPath` (`data.codes`, `data.items[0].code`) of the JSON answer,
 *   a non-empty text or a non-empty list of non-empty texts. Anything else is a failure, never an
 *   empty delivery.
 * - Errors (ExternalApiError) name the host and what went wrong; never the answer's body, the
 *   content, the URL's query or a header value.
 */
import { StoreError, ValidationError } from '../errors';
import { HttpCallError, callWithRetry, type HttpCall } from '../outbound';
import { redactSecrets } from '../secrets';
import { MAX_KEY_LENGTH, MAX_QUANTITY } from '../store';
import { SAMPLE_BODY_CONTEXT, pathValues, renderBody, renderEncoded, templateVariables, urlEncodeValue } from './shipRequest';
import { TEMPLATE_VARIABLES, type TemplateContext } from './template';

export const API_METHODS = ['GET', 'POST', 'PUT'] as const;
export type ApiMethod = (typeof API_METHODS)[number];
export const DEFAULT_API_TIMEOUT_MS = 10000;
export const DEFAULT_API_RETRIES = 2;
export const MAX_API_RETRIES = 5;
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** One call to the seller's system (the content call, or the revoke call). */
export interface ApiEndpoint {
	url: string;
	method: ApiMethod;
	headers: Record<string, string>;
	/** JSON body template (template.ts variables); null: no body. */
	body: string | null;
	timeoutMs: number;
	/** Extra attempts on 5xx, timeouts and dropped connections. */
	retries: number;
}

/** An External API product's config, as stored (sealed) in products.api_config. */
export interface ApiConfig extends ApiEndpoint {
	/** Where the content is in the JSON answer: `data.codes`, `data.items[0].code`. */
	contentPath: string;
	/** Called on refund (Revoke on Refund), with `{deliveryContent}` available in its body. */
	revoke: ApiEndpoint | null;
}

export interface ApiEndpointInput {
	url?: unknown;
	method?: unknown;
	/** A JSON object (text or object) of header names and values. */
	headers?: unknown;
	body?: unknown;
	timeoutMs?: unknown;
	retries?: unknown;
}

export interface ApiConfigInput extends ApiEndpointInput {
	contentPath?: unknown;
	revoke?: ApiEndpointInput | null;
}

/** The order line a call is about. */
export interface ApiOrder {
	/** null or '': the default shop. */
	shop: string | null;
	orderId: string;
	sku: string;
	quantity: number;
	productName: string;
	buyerName?: string | null;
	/** `{date}`: when the order was paid (default now). */
	date?: Date | string;
}

/** The content call (or the revoke call) failed; the message is for the seller and holds no secret. */
export class ExternalApiError extends StoreError {
	constructor(
		message: string,
		readonly status: number | null = null,
		readonly attempts = 0,
	) {
		super(message, 'api_failed');
		this.name = 'ExternalApiError';
	}
}

// ------------------------------------------------------------------------------------- config

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Node refuses header values outside latin-1 and with line breaks. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const KNOWN = TEMPLATE_VARIABLES.map((v) => `{${v.name}}`).join(' ');

function intIn(field: string, label: string, v: unknown, dflt: number, min: number, max: number): number {
	if (v === undefined || v === null || v === '') return dflt;
	const n = Number(v);
	if (!Number.isInteger(n) || n < min || n > max) throw new ValidationError(field, `${label} must be a whole number from ${min} to ${max}.`);
	return n;
}

function unknownVariables(field: string, label: string, template: string, allowContent: boolean): void {
	const { used, unknown } = templateVariables(template);
	if (unknown.length) throw new ValidationError(field, `Unknown variable${unknown.length > 1 ? 's' : ''} in the ${label}: ${unknown.map((u) => `{${u}}`).join(', ')}. Known: ${KNOWN} (or their 中文 names).`);
	if (!allowContent && used.has('deliveryContent')) {
		throw new ValidationError(field, `{deliveryContent} / {发货内容} cannot be used in the ${label}${label.includes('URL') ? ' (URLs end up in logs)' : ' of the content call: there is no content yet'}.`);
	}
}

function parseHeaders(field: string, v: unknown): Record<string, string> {
	if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) return {};
	let obj: unknown = v;
	if (typeof v === 'string') {
		try {
			obj = JSON.parse(v);
		} catch {
			throw new ValidationError(field, 'Headers must be a JSON object, e.g. {"Authorization": "Bearer …"}.');
		}
	}
	if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new ValidationError(field, 'Headers must be a JSON object, e.g. {"Authorization": "Bearer …"}.');
	const out: Record<string, string> = {};
	for (const [name, value] of Object.entries(obj as Record<string, unknown>)) {
		if (!HEADER_NAME.test(name)) throw new ValidationError(field, `"${name}" is not a valid header name.`);
		if (name.toLowerCase() === IDEMPOTENCY_HEADER.toLowerCase()) throw new ValidationError(field, `${IDEMPOTENCY_HEADER} is set by Auto Delivery (<shop>:<orderId>:<sku>); remove it from the headers.`);
		if (typeof value !== 'string' && typeof value !== 'number') throw new ValidationError(field, `The value of header "${name}" must be text.`);
		// never quote the value: it may be a token
		if (!HEADER_VALUE.test(String(value))) throw new ValidationError(field, `The value of header "${name}" has a line break or a character a header cannot carry.`);
		out[name] = String(value);
	}
	return out;
}

/** Checks one endpoint (the content call, or the revoke call with `{deliveryContent}` allowed in its body). */
function parseEndpoint(input: ApiEndpointInput, prefix: 'api' | 'revoke', allowContent: boolean): ApiEndpoint {
	const what = prefix === 'api' ? 'API' : 'Revoke';
	const url = typeof input.url === 'string' ? input.url.trim() : '';
	if (url === '') throw new ValidationError(`${prefix}Url`, `${what} URL is required, e.g. https://api.example.com/codes.`);
	unknownVariables(`${prefix}Url`, `${what} URL`, url, false);
	let parsed: URL;
	try {
		parsed = new URL(renderEncoded(url, pathValues(SAMPLE_BODY_CONTEXT), urlEncodeValue));
		if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('scheme');
	} catch {
		// never quote the URL: its query may hold a token
		throw new ValidationError(`${prefix}Url`, `${what} URL is not an http(s) URL.`);
	}
	const method = String(input.method ?? 'POST').trim().toUpperCase() || 'POST';
	if (!(API_METHODS as readonly string[]).includes(method)) throw new ValidationError(`${prefix}Method`, `${what} Method must be one of ${API_METHODS.join(', ')}.`);
	const raw = typeof input.body === 'object' && input.body !== null ? JSON.stringify(input.body) : input.body;
	let body: string | null = raw === undefined || raw === null || String(raw).trim() === '' ? null : String(raw);
	if (body !== null && method === 'GET') throw new ValidationError(`${prefix}Body`, `A GET request has no body: clear the ${what} Body or use POST.`);
	if (body !== null) {
		unknownVariables(`${prefix}Body`, `${what} Body`, body, allowContent);
		try {
			JSON.parse(renderBody(body, SAMPLE_BODY_CONTEXT));
		} catch (err) {
			throw new ValidationError(`${prefix}Body`, `The ${what} Body is not valid JSON (${(err as Error).message}). Example: {"orderId": "{orderId}", "quantity": {quantity}}.`);
		}
	} else body = null;
	return {
		url,
		method: method as ApiMethod,
		headers: parseHeaders(`${prefix}Headers`, input.headers),
		body,
		timeoutMs: intIn(`${prefix}TimeoutMs`, `${what} Timeout (ms)`, input.timeoutMs, DEFAULT_API_TIMEOUT_MS, 100, 120000),
		retries: intIn(`${prefix}Retries`, `${what} Retries`, input.retries, DEFAULT_API_RETRIES, 0, MAX_API_RETRIES),
	};
}

/** `data.items[0].code` / `data.items.0.code` → ['data', 'items', 0, 'code']; null when malformed. */
export function parseContentPath(path: string): Array<string | number> | null {
	const out: Array<string | number> = [];
	for (const part of path.split('.')) {
		const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
		if (!m || (m[1] === '' && m[2] === '')) return null;
		if (m[1] !== '') out.push(/^\d+$/.test(m[1]) ? Number(m[1]) : m[1]);
		for (const idx of m[2].matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
	}
	return out.length ? out : null;
}

/** Checks an External API config (from the node, or as stored): a ValidationError naming the field, nothing stored. */
export function parseApiConfig(input: ApiConfigInput | Record<string, unknown>): ApiConfig {
	if (typeof input !== 'object' || input === null) throw new ValidationError('apiUrl', 'The External API settings are missing.');
	const i = input as ApiConfigInput;
	const endpoint = parseEndpoint(i, 'api', false);
	const contentPath = typeof i.contentPath === 'string' ? i.contentPath.trim() : '';
	if (contentPath === '' || parseContentPath(contentPath) === null) {
		throw new ValidationError('apiContentPath', 'Content Path is required: where the content is in the JSON answer, e.g. data.codes or data.items[0].code.');
	}
	const r = i.revoke;
	const revoke = r && typeof r === 'object' && typeof r.url === 'string' && r.url.trim() !== '' ? parseEndpoint(r, 'revoke', true) : null;
	return { ...endpoint, contentPath, revoke };
}

// ------------------------------------------------------------------------------------- calls

/** The endpoint's body sends the delivered content (`{deliveryContent}` / `{发货内容}`): only then is it decrypted. */
export function usesContent(endpoint: ApiEndpoint): boolean {
	return endpoint.body !== null && templateVariables(endpoint.body).used.has('deliveryContent');
}

/** `<shop>:<orderId>:<sku>` (each part URL-encoded, so no two order lines share a key), plus `:<suffix>`. */
export function idempotencyKey(order: Pick<ApiOrder, 'shop' | 'orderId' | 'sku'>, suffix?: string): string {
	const key = [order.shop ?? '', order.orderId, order.sku].map((p) => encodeURIComponent(p)).join(':');
	return suffix ? `${key}:${suffix}` : key;
}

/** What a call may echo that must never reach an error: header values, the URL's password and query values, the content. */
function secretsOf(endpoint: ApiEndpoint, url: string, content: readonly string[]): string[] {
	const out = [...Object.values(endpoint.headers), ...content];
	try {
		const u = new URL(url);
		if (u.password) out.push(decodeURIComponent(u.password));
		for (const v of u.searchParams.values()) out.push(v);
	} catch {
		// checked when the config was stored
	}
	return out.filter((s) => s.length >= 4);
}

/** The HTTP call of one order line: URL values URL-encoded, JSON body rendered, the Idempotency-Key. */
export function apiCall(endpoint: ApiEndpoint, order: ApiOrder, key: string, content: readonly string[] = []): HttpCall {
	const ctx: TemplateContext = {
		productName: order.productName,
		deliveryContent: [...content],
		orderId: order.orderId,
		buyerName: order.buyerName ?? '',
		quantity: order.quantity,
		date: order.date ?? new Date(),
	};
	const url = renderEncoded(endpoint.url, pathValues(ctx), urlEncodeValue);
	const headers: Record<string, string> = { ...endpoint.headers, [IDEMPOTENCY_HEADER]: key };
	let body: string | undefined;
	if (endpoint.body !== null) {
		body = renderBody(endpoint.body, ctx);
		try {
			JSON.parse(body);
		} catch {
			// never echo the parser's message: it quotes the body
			throw new ExternalApiError('The API Body is not valid JSON once the order values are filled in.');
		}
		if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json; charset=utf-8';
	}
	return { method: endpoint.method, url, headers, body, timeoutMs: endpoint.timeoutMs, retries: endpoint.retries, secrets: secretsOf(endpoint, url, content) };
}

/** Test hooks: a shorter first backoff and a sleep of one's own. */
export interface ApiCallOptions {
	backoffMs?: number;
	sleep?: (ms: number) => Promise<void>;
}

/** Runs a call; HTTP failures become ExternalApiError without the answer's body (it may hold content). */
async function send(call: HttpCall, what: string, opts: ApiCallOptions) {
	const host = new URL(call.url).host;
	try {
		return { host, res: await callWithRetry({ ...call, backoffMs: opts.backoffMs ?? call.backoffMs }, opts.sleep) };
	} catch (err) {
		if (!(err instanceof HttpCallError)) throw err;
		const s = err.status;
		const message =
			s !== null && s < 300
				? err.message
				: s !== null && s < 400
					? `${what} ${host} answered ${s} (a redirect). Redirects are not followed: use the final URL.`
					: s !== null && s < 500
						? `${what} ${host} refused the request: ${s}. Not retried (a 4xx answer means the request itself is wrong: check the URL, headers and body).`
						: `${what} ${host} failed: ${err.message}`;
		throw new ExternalApiError(redactSecrets(message, call.secrets ?? []), s, err.attempts);
	}
}

/** The texts at `path` of a JSON answer: a non-empty text or a non-empty list of them; else an ExternalApiError. */
export function readContent(data: unknown, path: string, where: string): string[] {
	const parts = parseContentPath(path);
	if (parts === null) throw new ExternalApiError(`Content Path "${path}" is not a path like data.codes or data.items[0].code.`);
	let cur: unknown = data;
	for (const p of parts) {
		if (cur === null || typeof cur !== 'object') {
			cur = undefined;
			break;
		}
		cur = Array.isArray(cur) ? (typeof p === 'number' ? cur[p] : undefined) : (cur as Record<string, unknown>)[String(p)];
	}
	const empty = `${where} answered without content at "${path}"`;
	if (cur === undefined || cur === null) throw new ExternalApiError(`${empty} (nothing there). Nothing was delivered.`);
	const items = typeof cur === 'string' ? [cur] : Array.isArray(cur) ? cur : null;
	if (items === null || items.some((x) => typeof x !== 'string')) {
		throw new ExternalApiError(`${where} answered with ${Array.isArray(cur) ? 'a list that holds something other than text' : `a ${typeof cur === 'object' ? 'JSON object' : typeof cur}`} at "${path}"; the content must be text or a list of texts. Nothing was delivered.`);
	}
	const texts = (items as string[]).map((x) => x.trim());
	if (texts.length === 0 || texts.some((x) => x === '')) throw new ExternalApiError(`${empty} (${texts.length === 0 ? 'an empty list' : 'an empty text'}). Nothing was delivered.`);
	if (texts.length > MAX_QUANTITY || texts.some((x) => x.length > MAX_KEY_LENGTH)) {
		throw new ExternalApiError(`${where} answered with more than ${MAX_QUANTITY} items or an item longer than ${MAX_KEY_LENGTH} characters at "${path}". Nothing was delivered.`);
	}
	return texts;
}

/** Calls the content endpoint for an order line and reads the content; ExternalApiError on any failure. */
export async function fetchApiContent(cfg: ApiConfig, order: ApiOrder, opts: ApiCallOptions = {}): Promise<{ items: string[]; attempts: number; status: number }> {
	const { host, res } = await send(apiCall(cfg, order, idempotencyKey(order)), 'The content API', opts);
	const where = `The content API ${host}`;
	if (res.data === null || typeof res.data === 'string') {
		throw new ExternalApiError(`${where} answered ${res.status} ${res.data === null ? 'with an empty body' : 'with something that is not JSON'}. Nothing was delivered.`, res.status, res.attempts);
	}
	try {
		return { items: readContent(res.data, cfg.contentPath, where), attempts: res.attempts, status: res.status };
	} catch (err) {
		if (err instanceof ExternalApiError) throw new ExternalApiError(err.message, res.status, res.attempts);
		throw err;
	}
}

/** Calls the revoke endpoint for a refunded order line (`Idempotency-Key: <shop>:<orderId>:<sku>:revoke`). */
export async function callRevokeApi(endpoint: ApiEndpoint, order: ApiOrder, content: readonly string[], opts: ApiCallOptions = {}): Promise<{ status: number; attempts: number }> {
	const { res } = await send(apiCall(endpoint, order, idempotencyKey(order, 'revoke'), content), 'The revoke API', opts);
	return { status: res.status, attempts: res.attempts };
}
