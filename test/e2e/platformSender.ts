/**
 * Webhooks as WooCommerce, Shopify, Stripe, Lemon Squeezy, Paddle and a Generic HMAC shop send them, for the platform e2e test: the payload
 * fixtures of test/fixtures/platforms/<platform>/ with a fresh order (ids, buyer, SKU) written in
 * with lossless-json (so 18-digit Shopify ids keep every digit), each platform's headers and
 * signature computed with Node's crypto (hmacOf, never the code under test), POSTed over HTTP.
 *
 *   const req = wooOrder({ id: 4001, email: 'a@example.com', sku: 'SKU-1' });
 *   const res = await send(url, req.body, wooHeaders(secret, req.body, 'order.updated'));
 *
 * Headers as the platforms document them: WooCommerce X-WC-Webhook-Source/-Topic/-Resource/-Event/
 * -Signature/-ID/-Delivery-ID (base64 HMAC-SHA256 of the body); Shopify X-Shopify-Topic/-Hmac-Sha256/
 * -Shop-Domain/-API-Version/-Webhook-Id/-Event-Id/-Triggered-At (base64 HMAC-SHA256 of the body);
 * Stripe `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`.
 */
import { randomUUID } from 'node:crypto';

import { parse, stringify } from 'lossless-json';

import { fixtureBytes, hmacOf } from '../helpers/platformRequests';

type Json = Record<string, unknown>;

export interface Answer {
	status: number;
	text: string;
	json: Json;
}

/** POSTs `body` with `headers` (content-type application/json unless given). */
export async function send(url: string, body: string, headers: Record<string, string>): Promise<Answer> {
	const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
	const text = await res.text();
	let json: Json = {};
	try {
		json = JSON.parse(text) as Json;
	} catch {
		// not JSON
	}
	return { status: res.status, text, json };
}

const fixture = (platform: string, name: string) => parse(fixtureBytes(platform, name).toString('utf8')) as Json;
const lines = (o: Json, key: string) => o[key] as Json[];

export interface PaidOrder {
	/** The order id the platform sends (a number for WooCommerce and Shopify, pi_… for Stripe). */
	id: number | string;
	email: string;
	sku: string;
}

/** A WooCommerce order (fixture order 727) with one line of `sku` × 1 and `status`. */
export function wooOrder(o: PaidOrder & { status?: string }): string {
	const order = fixture('woocommerce', 'order-727-processing.json');
	const line = lines(order, 'line_items').find((l) => l.sku === 'Bar3') as Json;
	Object.assign(order, { id: o.id, number: String(o.id), status: o.status ?? 'processing', line_items: [{ ...line, sku: o.sku, quantity: 1 }] });
	(order.billing as Json).email = o.email;
	return stringify(order) as string;
}

export function wooHeaders(secret: string, body: string, topic: string, webhookId = 7): Record<string, string> {
	return {
		'x-wc-webhook-source': 'https://shop.example.com/',
		'x-wc-webhook-topic': topic,
		'x-wc-webhook-resource': 'order',
		'x-wc-webhook-event': topic.split('.')[1] ?? '',
		'x-wc-webhook-signature': hmacOf('sha256', secret, [body], 'base64'),
		'x-wc-webhook-id': String(webhookId),
		'x-wc-webhook-delivery-id': randomUUID(),
	};
}

/** A Shopify `orders/paid` payload (fixture order 820982911946154508) with its first line only. */
export function shopifyOrder(o: PaidOrder): string {
	const order = fixture('shopify', 'orders-paid.json');
	const [line] = lines(order, 'line_items');
	Object.assign(order, { id: o.id, admin_graphql_api_id: `gid://shopify/Order/${o.id}`, email: o.email, contact_email: o.email, line_items: [{ ...line, sku: o.sku, quantity: 1 }] });
	return stringify(order) as string;
}

/** A Shopify `refunds/create` payload refunding the line of `sku` of order `orderId`. */
export function shopifyRefund(orderId: number, sku: string): string {
	const refund = fixture('shopify', 'refunds-create.json');
	const [line] = lines(refund, 'refund_line_items');
	refund.order_id = orderId;
	refund.refund_line_items = [{ ...line, line_item: { ...(line.line_item as Json), sku } }];
	return stringify(refund) as string;
}

export function shopifyHeaders(secret: string, body: string, topic: string, eventId = randomUUID()): Record<string, string> {
	return {
		'x-shopify-topic': topic,
		'x-shopify-hmac-sha256': hmacOf('sha256', secret, [body], 'base64'),
		'x-shopify-shop-domain': 'e2e.myshopify.com',
		'x-shopify-api-version': '2026-10',
		'x-shopify-webhook-id': randomUUID(),
		'x-shopify-event-id': eventId,
		'x-shopify-triggered-at': new Date().toISOString(),
	};
}

/** A Stripe `checkout.session.completed` event for PaymentIntent `id`, SKU in the session metadata. */
export function stripeSession(o: PaidOrder & { id: string }): string {
	const event = fixture('stripe', 'checkout.session.completed.json');
	const session = (event.data as Json).object as Json;
	event.id = `evt_${o.id.slice(3)}`;
	Object.assign(session, { id: `cs_test_${o.id.slice(3)}`, payment_intent: o.id, metadata: { sku: o.sku, quantity: '1' } });
	(session.customer_details as Json).email = o.email;
	return stringify(event) as string;
}

/** A Stripe `charge.refunded` event refunding PaymentIntent `paymentIntent` in full. */
export function stripeRefund(paymentIntent: string): string {
	const event = fixture('stripe', 'charge.refunded.json');
	event.id = `evt_r${paymentIntent.slice(3)}`;
	((event.data as Json).object as Json).payment_intent = paymentIntent;
	return stringify(event) as string;
}

export function stripeHeaders(secret: string, body: string, t = Math.floor(Date.now() / 1000)): Record<string, string> {
	return { 'stripe-signature': `t=${t},v1=${hmacOf('sha256', secret, [`${t}.`, body], 'hex')}` };
}

/** A Lemon Squeezy `order_created` (fixture order 1): order `id`, buyer `email`, `sku` × 1 as checkout custom data. */
export function lemonSqueezyOrder(o: PaidOrder): string {
	const event = fixture('lemonsqueezy', 'order_created.json');
	const data = event.data as Json;
	const attrs = data.attributes as Json;
	data.id = String(o.id);
	(event.meta as Json).custom_data = { sku: o.sku };
	Object.assign(attrs, { identifier: randomUUID(), order_number: Number(o.id), user_email: o.email, first_order_item: { ...(attrs.first_order_item as Json), order_id: Number(o.id), quantity: 1 } });
	return stringify(event) as string;
}

export function lemonSqueezyHeaders(secret: string, body: string, event = 'order_created'): Record<string, string> {
	return { 'x-event-name': event, 'x-signature': hmacOf('sha256', secret, [body], 'hex') };
}

/** A Paddle `transaction.completed` (fixture transaction) of its first line only: `sku` × 1 in the price's custom data, `email` in the transaction's. */
export function paddleTransaction(o: PaidOrder & { id: string }): string {
	const event = fixture('paddle', 'transaction.completed.json');
	const txn = event.data as Json;
	const [item] = lines(txn, 'items');
	const [line] = lines(txn.details as Json, 'line_items');
	Object.assign(event, { event_id: `evt_${o.id.slice(4)}`, notification_id: `ntf_${o.id.slice(4)}` });
	Object.assign(txn, { id: o.id, custom_data: { email: o.email }, items: [{ ...item, quantity: 1, price: { ...(item.price as Json), custom_data: { sku: o.sku } } }] });
	(txn.details as Json).line_items = [{ ...line, quantity: 1 }];
	return stringify(event) as string;
}

export function paddleHeaders(secret: string, body: string, ts = Math.floor(Date.now() / 1000)): Record<string, string> {
	return { 'paddle-signature': `ts=${ts};h1=${hmacOf('sha256', secret, [`${ts}:`, body], 'hex')}` };
}

/** The Generic HMAC scheme of the e2e shop: base64 HMAC-SHA512 of `<X-Shop-Timestamp>.<body>` in X-Shop-Signature. */
export const GENERIC_SCHEME = { header: 'X-Shop-Signature', algorithm: 'sha512', encoding: 'base64', prefix: '', signedText: '{timestamp}.{body}', timestampHeader: 'X-Shop-Timestamp' };

/** A canonical `order.paid` (docs/webhook.md) of shop `shop`: order `id`, buyer `email`, `sku` × 1. */
export function canonicalOrder(o: PaidOrder & { shop: string }): string {
	const buyer = { id: `u-${o.id}`, name: 'E2E Buyer', email: o.email, ip: '203.0.113.7' };
	return JSON.stringify({ event: 'order.paid', orderId: String(o.id), shop: o.shop, buyer, items: [{ sku: o.sku, name: 'E2E key', quantity: 1, price: 9.5 }], amount: 9.5, currency: 'USD', paidAt: new Date().toISOString() });
}

export function genericHeaders(secret: string, body: string, t = Math.floor(Date.now() / 1000)): Record<string, string> {
	return { 'x-shop-timestamp': String(t), 'x-shop-signature': hmacOf('sha512', secret, [`${t}.`, body], 'base64') };
}
