/**
 * The WooCommerce preset of Mark Shipped: pure request builders and answer readers (the calls run in
 * run.ts through outbound/http.ts). Built from WooCommerce's REST API documentation (v3):
 *
 * - Update an order — `PUT /wp-json/wc/v3/orders/<id>` with `{"status": "completed"}`; order
 *   statuses `pending, processing, on-hold, completed, cancelled, refunded, failed, trash`:
 *   https://woocommerce.github.io/woocommerce-rest-api-docs/#update-an-order
 *   (source: github.com/woocommerce/woocommerce-rest-api-docs, source/includes/wp-api-v3/_orders.md)
 * - Create an order note — `POST /wp-json/wc/v3/orders/<id>/notes` with `note` (mandatory) and
 *   `customer_note` ("If true, the note will be shown to customers and they will be notified"):
 *   https://woocommerce.github.io/woocommerce-rest-api-docs/#create-an-order-note (_order-notes.md)
 * - Authentication — over HTTPS "HTTP Basic Auth by providing the REST API Consumer Key as the
 *   username and the REST API Consumer Secret as the password"; over plain HTTP WooCommerce only
 *   accepts OAuth 1.0a signatures: https://woocommerce.github.io/woocommerce-rest-api-docs/#authentication
 *   (_authentication.md). Keys are made in WooCommerce > Settings > Advanced > REST API.
 * - Errors — `{code, message, data: {status}}` with 400/401/404/500:
 *   https://woocommerce.github.io/woocommerce-rest-api-docs/#errors (_introduction.md); the
 *   endpoints need pretty permalinks ("Default permalinks will not work").
 * - List all orders (`GET /wp-json/wc/v3/orders?per_page=1`, the credential test):
 *   https://woocommerce.github.io/woocommerce-rest-api-docs/#list-all-orders
 */
import { ValidationError } from '../../errors';
import type { HttpCall } from '../../outbound';
import type { DeliveredKey } from '../../store';
import { PlatformAnswerError, baseUrl, text, urlText, type PlatformCall, type WooCommerceTarget } from './types';

export const WOO_API_PATH = '/wp-json/wc/v3';

/** Order note: none (default), a private note for the shop staff, or a note the buyer sees and is e-mailed. */
export type WooNoteMode = 'none' | 'private' | 'customer';
export const WOO_NOTE_MODES: readonly WooNoteMode[] = ['none', 'private', 'customer'];

/** The target with its fields checked: an https Store URL (http only when allowed), both keys. */
export function wooTarget(t: WooCommerceTarget): WooCommerceTarget {
	const storeUrl = text(t.storeUrl);
	if (storeUrl === '') throw new ValidationError('wooStoreUrl', 'The WooCommerce Store URL is empty: set it in the Auto Delivery Shop API credential, e.g. https://shop.example.com.');
	const url = baseUrl(storeUrl, 'wooStoreUrl', 'The WooCommerce Store URL');
	if (url.protocol === 'http:' && t.allowHttp !== true) {
		throw new ValidationError(
			'wooStoreUrl',
			`The WooCommerce Store URL ${url.host} uses plain http://: the consumer key and secret would travel unencrypted, and WooCommerce accepts them only over HTTPS. Use https://, or switch on "Allow Plain HTTP (Testing Only)" in the credential for a local test shop.`,
		);
	}
	if (text(t.consumerKey) === '' || text(t.consumerSecret) === '') {
		throw new ValidationError('wooConsumerKey', 'The WooCommerce Consumer Key or Consumer Secret is empty (WooCommerce > Settings > Advanced > REST API > Add key).');
	}
	return { ...t, storeUrl: urlText(url), consumerKey: text(t.consumerKey), consumerSecret: text(t.consumerSecret) };
}

const basic = (t: WooCommerceTarget) => Buffer.from(`${t.consumerKey}:${t.consumerSecret}`, 'utf8').toString('base64');

/** Scrubbed from every error text: the secret, the key and the Basic credentials they make (an echoed header). */
export function wooSecrets(t: WooCommerceTarget): string[] {
	return [t.consumerSecret, t.consumerKey, basic(t)].filter((s) => s !== '');
}

/** A WooCommerce order id is the post id: digits only, exactly as the delivery has it. */
export function wooOrderId(orderId: string): string {
	if (!/^[0-9]{1,20}$/.test(orderId)) {
		throw new ValidationError('orderId', `WooCommerce order ids are whole numbers (e.g. 727), but this delivery's order id is "${orderId}". Check the order id the Shop Webhook recorded, or use the Custom HTTP API platform.`);
	}
	return orderId;
}

function wooCall(t: WooCommerceTarget, method: string, path: string, body: unknown, call: PlatformCall): HttpCall {
	return {
		method,
		url: `${t.storeUrl}${WOO_API_PATH}${path}`,
		headers: { Authorization: `Basic ${basic(t)}` },
		body,
		timeoutMs: call.timeoutMs,
		retries: call.retries,
		backoffMs: call.backoffMs,
		ignoreSsl: t.ignoreSsl,
		secrets: wooSecrets(t),
	};
}

/** `PUT /wp-json/wc/v3/orders/<id>` `{"status": "completed"}` — the order is shipped (完成). */
export function wooCompleteCall(t: WooCommerceTarget, orderId: string, call: PlatformCall): HttpCall {
	return wooCall(t, 'PUT', `/orders/${wooOrderId(orderId)}`, { status: 'completed' }, call);
}

/** `POST /wp-json/wc/v3/orders/<id>/notes` `{note, customer_note}`. */
export function wooNoteCall(t: WooCommerceTarget, orderId: string, note: string, toCustomer: boolean, call: PlatformCall): HttpCall {
	return wooCall(t, 'POST', `/orders/${wooOrderId(orderId)}/notes`, { note, customer_note: toCustomer }, call);
}

/** `GET /wp-json/wc/v3/orders?per_page=1`: the keys work and may read orders (the credential test; no retry). */
export function wooProbeCall(t: WooCommerceTarget, timeoutMs: number): HttpCall {
	return wooCall(t, 'GET', '/orders?per_page=1', undefined, { timeoutMs, retries: 0, backoffMs: 0 });
}

/** The order note: what was delivered, with the keys masked (never a plaintext key). */
export function wooNoteText(d: { id: number; sku: string; quantity: number; keys: DeliveredKey[] }, productName: string | null): string {
	const masked = d.keys.map((k) => k.masked).filter((m) => m !== '');
	const what = `${d.quantity} × ${productName && productName !== d.sku ? `${productName} (SKU ${d.sku})` : d.sku}`;
	return `Delivered automatically: ${what}, delivery ${d.id}${masked.length ? `: ${masked.join(', ')}` : ''}.`;
}

const isObject = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);

/** The answer to the PUT: the order, now `completed`; its number is the shop reference. */
export function readWooOrder(data: unknown, orderId: string): { reference: string } {
	if (!isObject(data) || data.id === undefined) {
		throw new PlatformAnswerError(
			`WooCommerce answered, but not with order ${orderId} (no JSON order came back). Check the Store URL and that WordPress permalinks are not "Plain" (Settings > Permalinks): the REST API needs pretty permalinks.`,
			'not_an_order',
		);
	}
	if (data.status !== 'completed') {
		throw new PlatformAnswerError(`WooCommerce kept order ${orderId} at status "${String(data.status)}" instead of "completed" (a plugin may block the change).`, 'not_completed');
	}
	const number = data.number ?? data.id;
	return { reference: String(number) };
}

/** The answer to the note POST: the note id. */
export function readWooNote(data: unknown): string {
	if (!isObject(data) || data.id === undefined) throw new PlatformAnswerError('WooCommerce answered the order note without a note id.', 'not_a_note');
	return String(data.id);
}

/** The credential test's reading of `GET /orders?per_page=1`: a JSON list proves the REST API and the keys. */
export function readWooProbe(data: unknown): { orders: number } {
	if (!Array.isArray(data)) {
		throw new PlatformAnswerError(
			'The site answered, but not with the WooCommerce REST API (no JSON list of orders). Check the Store URL, that WooCommerce is active, and that WordPress permalinks are not "Plain".',
			'not_woocommerce',
		);
	}
	return { orders: data.length };
}
