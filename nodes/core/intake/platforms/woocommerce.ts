/**
 * WooCommerce (Settings → Advanced → Webhooks), topics `order.created` / `order.updated`.
 *
 * Sources (read for this preset):
 *  - WooCommerce REST API docs, "Webhooks" → "Delivery/payload"
 *    (https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks; woocommerce/woocommerce-rest-api-docs
 *    source/includes/wp-api-v3/_webhooks.md): headers X-WC-Webhook-Source / -Topic / -Resource /
 *    -Event / -Signature ("a base64 encoded HMAC-SHA256 hash of the payload") / -ID, the payload is
 *    the REST resource, and a webhook is disabled after 5 consecutive non-2xx answers.
 *  - woocommerce/woocommerce plugins/woocommerce/includes/class-wc-webhook.php:
 *    deliver() sends `trim(wp_json_encode($payload))` as application/json with X-WC-Webhook-Topic
 *    and X-WC-Webhook-Delivery-ID (the docs say X-WC-Delivery-ID; both are read);
 *    generate_signature() = base64_encode(hash_hmac($algo, $payload,
 *    wp_specialchars_decode($secret, ENT_QUOTES), true)) with $algo from the filter
 *    `woocommerce_webhook_hash_algorithm` (default sha256, option `algorithm`);
 *    deliver_ping() posts the unsigned form body `webhook_id=<id>` when a webhook is saved and
 *    needs exactly 200 (ping());
 *    get_default_topic_hooks(): `order.updated` also fires on woocommerce_order_refunded.
 *  - REST docs "Order properties" and the "Create an order" response example (order 727): `id`,
 *    `status` (pending, processing, on-hold, completed, cancelled, refunded, failed, trash),
 *    `currency`, `total`, `customer_id` (0 for guests), `customer_ip_address`, `billing`,
 *    `date_paid_gmt` (GMT without offset), `line_items[]` (`sku` — may be "" —, `product_id`,
 *    `variation_id`, `quantity`, `price`, `total`).
 *
 * Classification: order.created / order.updated with status `processing` or `completed` → paid
 * (option `paidStatuses`: a store with its own paid status adds it — not confirmable in general);
 * `refunded` → refunded, the whole order (a partial refund keeps the status, so it is seen as the
 * same paid order again — idempotent; revoke partial refunds with Revoke on Refund); any other
 * status (order.created fires before payment) or topic → ignored with 200.
 *
 * Options: `skuFrom` `sku` (default; a line without SKU uses its `product_id`) | `variation_id`
 * (falls back to `product_id` for simple products) | `product_id`; `paidStatuses`; `algorithm`.
 */
import { HMAC_ALGORITHMS, verifyHmacHeader } from './hmac';
import { child, choice, firstId, fullName, headerText, nonZeroId, paidFromLines, payloadObject, text, utcDate, wordList } from './read';
import type { Classification, Platform, PlatformOptions } from './types';

const SKU_FROM = ['sku', 'variation_id', 'product_id'] as const;
const SKU_FIELDS: Record<(typeof SKU_FROM)[number], readonly string[]> = {
	sku: ['sku', 'product_id'],
	variation_id: ['variation_id', 'product_id'],
	product_id: ['product_id'],
};
const PAID_STATUSES = ['processing', 'completed'];
const ORDER_TOPICS = ['order.created', 'order.updated'];

function options(o: PlatformOptions) {
	return {
		skuFields: SKU_FIELDS[choice(o, 'skuFrom', SKU_FROM, 'sku')],
		paidStatuses: wordList(o, 'paidStatuses', PAID_STATUSES),
		algorithm: choice(o, 'algorithm', HMAC_ALGORITHMS, 'sha256'),
	};
}

/**
 * WordPress's wp_specialchars_decode($text, ENT_QUOTES), which WooCommerce applies to the stored
 * secret before signing: &amp; &lt; &gt; &quot; and the numeric forms of & < > " ' become the
 * characters (a secret without entities is unchanged).
 */
export function wpSpecialcharsDecode(secret: string): string {
	const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"' };
	const numeric: Record<number, string> = { 38: '&', 60: '<', 62: '>', 34: '"', 39: "'" };
	return secret.replace(/&(?:(amp|lt|gt|quot)|#0*(\d{2})|#x0*([0-9a-f]{2}));/gi, (all, name?: string, dec?: string, hex?: string) => {
		if (name !== undefined) return named[name.toLowerCase()] ?? all;
		return numeric[dec !== undefined ? Number(dec) : parseInt(hex ?? '', 16)] ?? all;
	});
}

/** Unit price: `price`, else the line `total` divided by the quantity. */
function unitPrice(line: Record<string, unknown>): unknown {
	if (text(line.price) !== undefined) return line.price;
	const total = Number(text(line.total));
	const quantity = Number(text(line.quantity));
	return Number.isFinite(total) && quantity > 0 ? total / quantity : undefined;
}

/** The buyer: `customer_id` (0 = guest), the billing name and email, `customer_ip_address`. */
function buyerOf(order: Record<string, unknown>): Record<string, unknown> {
	const billing = child(order, 'billing');
	const name = fullName(billing.first_name, billing.last_name);
	return { id: nonZeroId(order.customer_id), name, email: text(billing.email), ip: text(order.customer_ip_address) };
}

function paidOrder(order: Record<string, unknown>, skuFields: readonly string[], eventId: string | undefined): Classification {
	return paidFromLines({
		orderId: order.id,
		buyer: buyerOf(order),
		lines: order.line_items,
		item: (line) => ({ sku: firstId(line, skuFields), name: line.name, quantity: line.quantity, price: unitPrice(line) }),
		amount: order.total,
		currency: order.currency,
		paidAt: utcDate(order.date_paid_gmt),
		eventId,
	});
}

export const woocommerce: Platform = {
	id: 'woocommerce',
	label: 'WooCommerce',
	sources: [
		'https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks',
		'https://woocommerce.github.io/woocommerce-rest-api-docs/#order-properties',
		'https://github.com/woocommerce/woocommerce/blob/trunk/plugins/woocommerce/includes/class-wc-webhook.php',
	],
	contentTypes: ['application/json'],
	checkOptions: (o) => void options(o),
	ping({ rawBody }) {
		if (rawBody.length > 40) return null;
		const m = /^webhook_id=(\d{1,20})$/.exec(rawBody.toString('latin1').trim());
		return m ? { event: 'ping', message: `WooCommerce webhook ${m[1]} ping acknowledged; nothing was started.` } : null;
	},
	verify(input) {
		return verifyHmacHeader({
			headers: input.headers,
			header: 'X-WC-Webhook-Signature',
			signer: 'WooCommerce',
			secret: wpSpecialcharsDecode(input.secret),
			algorithm: options(input.options).algorithm,
			encoding: 'base64',
			signed: [input.rawBody],
		});
	},
	classify(body, ctx) {
		const o = options(ctx.options);
		const eventId = headerText(ctx.headers, 'X-WC-Webhook-Delivery-ID') ?? headerText(ctx.headers, 'X-WC-Delivery-ID');
		const topic = headerText(ctx.headers, 'X-WC-Webhook-Topic') ?? '';
		if (!ORDER_TOPICS.includes(topic)) {
			const shown = topic === '' ? 'without X-WC-Webhook-Topic' : `"${topic.slice(0, 60)}"`;
			return { kind: 'ignore', event: topic || 'unknown', message: `WooCommerce topic ${shown} is not an order event: acknowledged and ignored.`, eventId };
		}
		const order = payloadObject(body, 'WooCommerce order');
		const status = text(order.status) ?? '';
		if (status === 'refunded') {
			return { kind: 'refunded', order: { event: 'order.refunded', orderId: order.id, items: [] }, eventId };
		}
		if (o.paidStatuses.includes(status)) return paidOrder(order, o.skuFields, eventId);
		return {
			kind: 'ignore',
			event: topic,
			message: `WooCommerce order ${text(order.id)?.slice(0, 40) ?? '(no id)'} is "${status.slice(0, 40)}", not paid: acknowledged and ignored (it is handled once it is ${o.paidStatuses.join(' or ')}).`,
			eventId,
		};
	},
};
