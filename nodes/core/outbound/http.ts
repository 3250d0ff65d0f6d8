/**
 * Outgoing HTTP calls to the shop API and to message webhooks (IM bots, SMS gateways), with
 * retries: up to `retries` more attempts with exponential backoff on 5xx answers, timeouts,
 * refused and dropped connections — never on 4xx (the request itself is wrong; repeating it
 * cannot help). Success is any 2xx. Uses axios; no n8n imports.
 *
 * Errors are HttpCallError with a message a seller understands. The response body of a failed call
 * may echo the request (the keys, a token): give the call its `secrets`, and they are redacted from
 * the whole answer before any of it is shortened into the error (a key cut in two by shortening would
 * no longer match, and its first part would show).
 */
import * as https from 'https';

import axios, { type AxiosError, type Method } from 'axios';

import { redactAndClip } from '../secrets';
import { parseJsonExact } from '../intake';

export interface HttpCall {
	method: string;
	url: string;
	headers?: Record<string, string>;
	/** JSON body (object/array) or raw text. Not sent for GET/HEAD. */
	body?: unknown;
	/** Per attempt. Default 10 s. */
	timeoutMs?: number;
	/** Extra attempts after the first one. Default 3. */
	retries?: number;
	/** First backoff; doubles each retry (±20% jitter). Default 500 ms. */
	backoffMs?: number;
	/** Accept self-signed / invalid TLS certificates ("Ignore SSL Issues"). Default false. */
	ignoreSsl?: boolean;
	/** Keys and credential secrets the request carries: masked in every error text taken from the answer. */
	secrets?: Iterable<string>;
}

export interface HttpResult {
	status: number;
	data: unknown;
	headers: Record<string, string>;
	attempts: number;
}

export class HttpCallError extends Error {
	constructor(
		message: string,
		readonly status: number | null,
		readonly code: string | null,
		readonly attempts: number,
		/** First 500 characters of the response body, with the call's `secrets` redacted from the whole body first. */
		readonly responseBody: string | null,
	) {
		super(message);
		this.name = 'HttpCallError';
	}
}

const TRANSIENT_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ERR_SOCKET_CONNECTION_TIMEOUT', 'ERR_BAD_RESPONSE']);

/** Certificate and handshake failures: retrying cannot help; the seller must fix TLS or opt out. */
const TLS_CODES = new Set([
	'DEPTH_ZERO_SELF_SIGNED_CERT',
	'SELF_SIGNED_CERT_IN_CHAIN',
	'CERT_HAS_EXPIRED',
	'CERT_NOT_YET_VALID',
	'CERT_UNTRUSTED',
	'CERT_REVOKED',
	'CERT_REJECTED',
	'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
	'UNABLE_TO_GET_ISSUER_CERT',
	'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
	'ERR_TLS_CERT_ALTNAME_INVALID',
	'EPROTO',
	'ERR_SSL_WRONG_VERSION_NUMBER',
]);

export function isTlsErrorCode(code: string | null | undefined): boolean {
	return !!code && (TLS_CODES.has(code) || /^ERR_SSL_|^ERR_TLS_/.test(code));
}

/** One agent for "Ignore SSL Issues" (certificate checks off), shared by every call that asks for it. */
let insecureAgent: https.Agent | undefined;
function agentFor(ignoreSsl: boolean | undefined): https.Agent | undefined {
	if (!ignoreSsl) return undefined;
	insecureAgent ??= new https.Agent({ rejectUnauthorized: false });
	return insecureAgent;
}

/** A seller-readable sentence for a network error code (no retry counts). */
function networkMessage(code: string, host: string, timeout: number, timedOut: boolean): string {
	if (timedOut) return `No answer from ${host} within ${timeout} ms`;
	if (code === 'ECONNREFUSED') return `${host} refused the connection. Is the server running and the port right?`;
	if (code === 'ECONNRESET' || code === 'EPIPE') return `The connection to ${host} was dropped`;
	if (code === 'ENOTFOUND') return `The host name ${host.replace(/:\d+$/, '')} was not found (DNS). Check the URL`;
	if (code === 'EAI_AGAIN') return `The host name ${host.replace(/:\d+$/, '')} could not be resolved right now (DNS)`;
	if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH') return `${host} is unreachable from this machine (no network route)`;
	if (code === 'ERR_INVALID_CHAR' || code === 'ERR_INVALID_HTTP_TOKEN') {
		return `A request header has an invalid name or value (${code}); check the header settings of the credential`;
	}
	if (isTlsErrorCode(code)) {
		return `TLS/SSL problem with ${host}: ${code}. Fix the server's certificate, use the right http/https scheme, or switch on "Ignore SSL Issues" in the credential if you trust this server`;
	}
	return `Could not call ${host}: ${code}`;
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']);

function bodyText(data: unknown, secrets: string[] = []): string | null {
	if (data === undefined || data === null || data === '') return null;
	const s = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('utf8') : JSON.stringify(data);
	return redactAndClip(s, secrets, 500);
}

/** Joins a base URL and a path (`/orders/{id}` style paths are the caller's business). */
export function joinUrl(base: string, path: string): string {
	if (/^https?:\/\//i.test(path)) return path;
	if (!base) throw new HttpCallError('No base URL is configured for the shop API: set it in the Auto Delivery Shop API credential.', null, 'no_base_url', 0, null);
	return base.replace(/\/+$/, '') + '/' + path.replace(/^\/+/, '');
}

export async function callWithRetry(call: HttpCall, sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))): Promise<HttpResult> {
	const method = String(call.method || 'POST').toUpperCase();
	if (!METHODS.has(method)) throw new HttpCallError(`HTTP method ${method} is not supported.`, null, 'bad_method', 0, null);
	let url: URL;
	try {
		url = new URL(call.url);
		if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
	} catch {
		throw new HttpCallError(`"${call.url}" is not a valid http(s) URL.`, null, 'bad_url', 0, null);
	}
	const retries = Math.max(0, Math.min(10, call.retries ?? 3));
	const timeout = Math.max(1, call.timeoutMs ?? 10000);
	const base = Math.max(0, call.backoffMs ?? 500);
	const headers: Record<string, string> = { Accept: 'application/json, text/plain, */*', ...(call.headers ?? {}) };
	const secrets = [...(call.secrets ?? [])].filter((x) => typeof x === 'string' && x !== '');
	let data: unknown = undefined;
	if (method !== 'GET' && method !== 'HEAD' && call.body !== undefined) {
		data = call.body;
		if (typeof data !== 'string' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
	}

	let last: HttpCallError | null = null;
	/** The last failure as a sentence without the attempt count (for the final "gave up" message). */
	let lastSentence = '';
	for (let attempt = 1; attempt <= retries + 1; attempt++) {
		try {
			const res = await axios.request({
				method: method as Method,
				url: url.toString(),
				headers,
				data,
				timeout,
				// the whole exchange, including a server that accepts and never answers
				signal: AbortSignal.timeout(timeout + 1000),
				validateStatus: () => true,
				// No redirects: a redirect to another host would carry custom auth headers (X-Api-Key …) along.
				maxRedirects: 0,
				responseType: 'text',
				transformResponse: (x: unknown) => x,
				maxContentLength: 10 * 1024 * 1024,
				httpsAgent: agentFor(call.ignoreSsl),
			});
			const text = typeof res.data === 'string' ? res.data : res.data === undefined || res.data === null ? '' : Buffer.isBuffer(res.data) ? res.data.toString('utf8') : JSON.stringify(res.data);
			let parsed: unknown = text;
			try {
				parsed = text === '' ? null : parseJsonExact(text); // a 19-digit shop reference keeps its digits
			} catch {
				try {
					parsed = JSON.parse(text); // e.g. a key repeated in one object: the last one counts, as shops expect
				} catch {
					// not JSON: keep the text
				}
			}
			const outHeaders: Record<string, string> = {};
			for (const [k, v] of Object.entries(res.headers ?? {})) if (typeof v === 'string') outHeaders[k] = v;
			if (res.status >= 200 && res.status < 300) return { status: res.status, data: parsed, headers: outHeaders, attempts: attempt };
			// redacted on the whole answer, then shortened (never the other way round)
			const snippet = bodyText(text, secrets);
			const statusText = redactAndClip(res.statusText || '', secrets, 200);
			lastSentence = `The server answered ${res.status} ${statusText}`.trim();
			last = new HttpCallError(
				res.status >= 500
					? `${lastSentence} (attempt ${attempt} of ${retries + 1}).`
					: res.status >= 300 && res.status < 400
						? `The server answered ${res.status} (a redirect${outHeaders.location ? ` to ${redactAndClip(String(outHeaders.location), secrets, 200)}` : ''}). Redirects are not followed, so credentials never reach another address: use the final URL.`
						: `The server refused the request: ${res.status} ${statusText}`.trim() + `${snippet ? ` — ${snippet.slice(0, 200)}` : ''}. Not retried (a 4xx answer means the request itself is wrong).`,
				res.status,
				null,
				attempt,
				snippet,
			);
			if (res.status < 500) throw last;
		} catch (err) {
			if (err instanceof HttpCallError) throw err;
			const e = err as AxiosError & { cause?: { code?: string } };
			const code = String(e.code ?? e.cause?.code ?? (e.name === 'CanceledError' || e.name === 'AbortError' ? 'ETIMEDOUT' : 'ERROR'));
			const timedOut = code === 'ECONNABORTED' || code === 'ETIMEDOUT' || code === 'ERR_CANCELED';
			const transient = timedOut || TRANSIENT_CODES.has(code);
			lastSentence = networkMessage(code, url.host, timeout, timedOut);
			last = new HttpCallError(
				transient ? `${lastSentence} (attempt ${attempt} of ${retries + 1}).` : `${lastSentence}.`,
				null,
				timedOut ? 'ETIMEDOUT' : code,
				attempt,
				null,
			);
			if (!transient) throw last;
		}
		if (attempt <= retries) {
			const wait = base * 2 ** (attempt - 1);
			await sleep(Math.round(wait * (0.8 + Math.random() * 0.4)));
		}
	}
	const final = last as HttpCallError;
	const stop = /[.?!]$/.test(lastSentence) ? '' : '.';
	throw new HttpCallError(`${lastSentence}${stop} Gave up after ${final.attempts} attempts.`, final.status, final.code, final.attempts, final.responseBody);
}
