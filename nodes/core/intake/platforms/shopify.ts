/**
 * Shopify (Settings → Notifications → Webhooks, or an app's webhook subscription), topics
 * `orders/paid` and `refunds/create`.
 *
 * Sources (read for this preset):
 *  - shopify.dev "Verify webhook deliveries" (https://shopify.dev/docs/apps/build/webhooks/verify-deliveries):
 *    X-Shopify-Hmac-SHA256 is the base64 HMAC-SHA256 of the raw request body with the app's client
 *    secret; compare against the decoded header.
 *  - shopify.dev "Webhooks" reference (https://shopify.dev/docs/api/webhooks, version 2026-07):
 *    headers X-Shopify-Topic, -Hmac-Sha256, -Shop-Domain, -API-Version, -Webhook-Id (one per
 *    delivery), -Triggered-At, -Event-Id (shared by the deliveries of one merchant action), and
 *    the sample payloads of `orders/paid` (order 820982911946154508: `id`, `email`,
 *    `contact_email`, `browser_ip`, `client_details`, `customer`, `billing_address`, `currency`,
 *    `total_price`, `processed_at`, `line_items[]` with `sku`, `title`, `name`, `quantity`,
 *    `price`, `variant_id`, `product_id`) and `refunds/create` (`order_id`,
 *    `refund_line_items[]` with `quantity` and `line_item.sku`), both at the root of the body.
 *  - Shopify/shopify-api-js packages/shopify-api/lib/webhooks/validate.ts (checkWebhookHmac:
 *    createSHA256HMAC(apiSecretKey, rawBody, Base64) then safeCompare) and lib/types.ts
 *    (ShopifyHeader: 'X-Shopify-Hmac-Sha256', 'X-Shopify-Topic', 'X-Shopify-Webhook-Id').
 *
 * Classification: `orders/paid` → paid; `refunds/create` → refunded with the refunded lines and
 * quantities; a refund without refunded lines (shipping or an amount only) is ignored — option
 * `refundWithoutLines: 'whole'` treats it as a refund of the whole order instead; any other topic
 * → ignored with 200. A refunds/create body wrapped in `{ "refund": … }` (seen in third-party
 * write-ups, not in Shopify's reference) is read too.
 *
 * Options: `skuFrom` `sku` (default; a line without SKU uses `variant_id`, then `product_id`) |
 * `variant_id` | `product_id`; `refundWithoutLines` `ignore` (default) | `whole`.
 */
import { isJsonObject } from '../json';
import { verifyHmacHeader } from './hmac';
import { child, choice, firstId, fullName, headerText, paidFromLines, payloadObject, text } from './read';
import type { Classification, Platform, PlatformOptions } from './types';

const SKU_FROM = ['sku', 'variant_id', 'product_id'] as const;
const SKU_FIELDS: Record<(typeof SKU_FROM)[number], readonly string[]> = {
	sku: ['sku', 'variant_id', 'product_id'],
	variant_id: ['variant_id', 'product_id'],
	product_id: ['product_id'],
};
const REFUND_WITHOUT_LINES = ['ignore', 'whole'] as const;

function options(o: PlatformOptions) {
	return {
		skuFields: SKU_FIELDS[choice(o, 'skuFrom', SKU_FROM, 'sku')],
		refundWithoutLines: choice(o, 'refundWithoutLines', REFUND_WITHOUT_LINES, 'ignore'),
	};
}

function paidOrder(order: Record<string, unknown>, skuFields: readonly string[], eventId: string | undefined): Classification {
	const customer = child(order, 'customer');
	return paidFromLines({
		orderId: order.id,
		buyer: {
			id: text(customer.id),
			name: fullName(customer.first_name, customer.last_name) ?? text(child(order, 'billing_address').name),
			email: text(order.email) ?? text(order.contact_email) ?? text(customer.email),
			ip: text(order.browser_ip) ?? text(child(order, 'client_details').browser_ip),
		},
		lines: order.line_items,
		item: (line) => ({ sku: firstId(line, skuFields), name: text(line.title) ?? line.name, quantity: line.quantity, price: line.price }),
		amount: order.total_price,
		currency: order.currency,
		paidAt: text(order.processed_at) ?? order.created_at,
		eventId,
	});
}

function refund(body: Record<string, unknown>, o: ReturnType<typeof options>, eventId: string | undefined): Classification {
	const r = body.order_id === undefined && isJsonObject(body.refund) ? body.refund : body;
	const lines = Array.isArray(r.refund_line_items) ? r.refund_line_items : [];
	if (lines.length === 0 && o.refundWithoutLines === 'ignore') {
		return {
			kind: 'ignore',
			event: 'refunds/create',
			message: `Shopify refund ${text(r.id)?.slice(0, 40) ?? ''} of order ${text(r.order_id)?.slice(0, 40) ?? '(no order_id)'} refunds no order lines (shipping or an amount only): acknowledged and ignored.`,
			eventId,
		};
	}
	return {
		kind: 'refunded',
		order: {
			event: 'order.refunded',
			orderId: r.order_id,
			items: lines.map((line) =>
				isJsonObject(line) ? { sku: firstId(child(line, 'line_item'), o.skuFields), quantity: line.quantity } : line,
			),
		},
		lines,
		eventId,
	};
}

export const shopify: Platform = {
	id: 'shopify',
	label: 'Shopify',
	sources: [
		'https://shopify.dev/docs/apps/build/webhooks/verify-deliveries',
		'https://shopify.dev/docs/api/webhooks',
		'https://github.com/Shopify/shopify-api-js/blob/main/packages/shopify-api/lib/webhooks/validate.ts',
	],
	contentTypes: ['application/json'],
	checkOptions: (o) => void options(o),
	verify(input) {
		return verifyHmacHeader({
			headers: input.headers,
			header: 'X-Shopify-Hmac-Sha256',
			signer: 'Shopify',
			secret: input.secret,
			algorithm: 'sha256',
			encoding: 'base64',
			signed: [input.rawBody],
		});
	},
	classify(body, ctx) {
		const o = options(ctx.options);
		const eventId = headerText(ctx.headers, 'X-Shopify-Event-Id') ?? headerText(ctx.headers, 'X-Shopify-Webhook-Id');
		const topic = (headerText(ctx.headers, 'X-Shopify-Topic') ?? '').toLowerCase();
		if (topic === 'orders/paid') return paidOrder(payloadObject(body, 'Shopify order'), o.skuFields, eventId);
		if (topic === 'refunds/create') return refund(payloadObject(body, 'Shopify refund'), o, eventId);
		const shown = topic === '' ? 'without X-Shopify-Topic' : `"${topic.slice(0, 60)}"`;
		return { kind: 'ignore', event: topic || 'unknown', message: `Shopify topic ${shown} is not handled (orders/paid, refunds/create): acknowledged and ignored.`, eventId };
	},
};
