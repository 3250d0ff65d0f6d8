/**
 * Lemon Squeezy preset: orders created (paid) and refunded.
 *
 * Signature (https://docs.lemonsqueezy.com/help/webhooks/signing-requests): `X-Signature` is the
 * hex HMAC-SHA256 digest of the raw body keyed with the webhook's signing secret. Lemon Squeezy
 * signs no timestamp, so there is no replay window to check; a replayed call is harmless here
 * (Claim Key is idempotent per shop, order and SKU).
 *
 * Events (https://docs.lemonsqueezy.com/help/webhooks/event-types): `order_created` with
 * `data.attributes.status === "paid"` → paid; `order_refunded` ("a full or partial refund") →
 * refunded when the order is refunded in full (`refunded: true` / status `refunded`), otherwise a
 * partial refund (option `partialRefunds`). The event name is read from the signed body
 * (`meta.event_name`); the `X-Event-Name` header is not signed and only stands in when the body
 * has none — a header that contradicts the body is refused.
 *
 * Order (https://docs.lemonsqueezy.com/api/orders/the-order-object, lmsqueezy/lemonsqueezy.js
 * `src/orders/types.ts`): the order id is `data.id` by default — the id the Lemon Squeezy API
 * (orders, refunds, order items) and both events use; `identifier` (the order's UUID, on the
 * receipt link) and `order_number` (the store's sequential number shown to the buyer) are options.
 * One line from `first_order_item` (a Lemon Squeezy checkout sells one variant).
 *
 * Options: `orderIdFrom` `id` (default) | `identifier` | `order_number`; `skuFrom` `variant_id`
 * (default) | `product_id` | `custom_data` (`meta.custom_data[skuKey]`, passed through the
 * checkout); `skuKey` (default `sku`); `partialRefunds` `ignore` (default) | `refund_order`.
 *
 * Not confirmed by the docs: whether `first_order_item.price` is the unit price or the line price
 * (read as the unit price: the docs only show quantity 1; `quantity` itself is "not in the
 * documentation, but in the response" per lemonsqueezy.js), and whether amounts of zero-decimal
 * currencies are in yen rather than "cents" (read with ISO 4217 minor units).
 */
import { ValidationError } from '../../errors';
import { verifyHmacHeader } from './hmac';
import { choice, headerText, payloadObject, text } from './read';
import type { Classification, ClassifyContext, Platform, PlatformOptions, VerifyInput, VerifyResult } from './types';
import { ISO_MINOR_UNITS, buyerOf, compact, ignore, keyOption, obj, partialRefund, partialRefundsOption, refunded, toMajor, unhandled, type Json } from './presets';

const HANDLED = ['order_created', 'order_refunded'] as const;

/** The Lemon Squeezy options, checked (ValidationError naming `platformOptions.<key>`). */
export function lemonSqueezyOptions(options: PlatformOptions) {
	return {
		orderIdFrom: choice(options, 'orderIdFrom', ['id', 'identifier', 'order_number'] as const, 'id'),
		skuFrom: choice(options, 'skuFrom', ['variant_id', 'product_id', 'custom_data'] as const, 'variant_id'),
		skuKey: keyOption(options, 'skuKey', 'sku'),
		partialRefunds: partialRefundsOption(options),
	};
}
type LemonSqueezyOptions = ReturnType<typeof lemonSqueezyOptions>;

function verify(input: VerifyInput): VerifyResult {
	return verifyHmacHeader({
		headers: input.headers,
		header: 'X-Signature',
		signer: 'this Lemon Squeezy webhook',
		secret: input.secret,
		algorithm: 'sha256',
		encoding: 'hex',
		signed: [input.rawBody],
	});
}

function classify(body: unknown, ctx: ClassifyContext): Classification {
	const root = payloadObject(body, 'Lemon Squeezy');
	const meta = obj(root.meta);
	const signed = text(meta?.event_name);
	const header = headerText(ctx.headers, 'X-Event-Name');
	if (signed !== undefined && header !== undefined && signed !== header) {
		throw new ValidationError('x-event-name', `The X-Event-Name header ("${header.slice(0, 60)}") differs from the signed meta.event_name ("${signed}").`);
	}
	const event = signed ?? header;
	if (event === undefined) {
		throw new ValidationError('body', 'body is not a Lemon Squeezy webhook (expected {"meta": {"event_name": …}, "data": {…}}).');
	}
	if (event !== 'order_created' && event !== 'order_refunded') return unhandled('Lemon Squeezy', event, HANDLED);

	const data = obj(root.data);
	const attrs = obj(data?.attributes);
	if (!data || !attrs || text(data.type) !== 'orders') {
		throw new ValidationError('data', `The Lemon Squeezy ${event} webhook carries no order (expected data.type "orders" with attributes).`);
	}
	const options = lemonSqueezyOptions(ctx.options);
	const orderId = orderIdOf(data, attrs, options);
	const status = text(attrs.status);
	if (event === 'order_refunded') {
		const whole = attrs.refunded === true || status === 'refunded';
		return whole ? refunded({ orderId }) : partialRefund('Lemon Squeezy', event, orderId, options.partialRefunds);
	}
	if (status !== 'paid') return ignore(event, `Lemon Squeezy order ${orderId} is "${status ?? 'unknown'}", not paid: nothing is delivered.`);
	const first = obj(attrs.first_order_item);
	if (!first) throw new ValidationError('data.attributes.first_order_item', 'data.attributes.first_order_item is required: the order has no item.');
	const currency = text(attrs.currency)?.toUpperCase();
	const order = compact({
		event: 'order.paid',
		orderId,
		buyer: buyerOf({ id: text(attrs.customer_id), name: text(attrs.user_name), email: text(attrs.user_email) }),
		items: [line(first, obj(meta?.custom_data), currency, options)],
		amount: toMajor(attrs.total, currency, ISO_MINOR_UNITS, 'data.attributes.total'),
		currency,
		paidAt: text(attrs.created_at),
	});
	return { kind: 'paid', order, lines: [first] };
}

function orderIdOf(data: Json, attrs: Json, options: LemonSqueezyOptions): string {
	const from = options.orderIdFrom;
	const id = from === 'id' ? text(data.id) : text(attrs[from]);
	const field = from === 'id' ? 'data.id' : `data.attributes.${from}`;
	if (id === undefined) throw new ValidationError(field, `${field} is required: the Lemon Squeezy order has no ${from}.`);
	return id;
}

function line(first: Json, customData: Json | undefined, currency: string | undefined, options: LemonSqueezyOptions): Json {
	const sku = options.skuFrom === 'custom_data' ? text(customData?.[options.skuKey]) : text(first[options.skuFrom]);
	if (sku === undefined) {
		const where =
			options.skuFrom === 'custom_data' ? `meta.custom_data.${options.skuKey} (pass it in the checkout's custom data)` : `first_order_item.${options.skuFrom}`;
		throw new ValidationError('items[0].sku', `The Lemon Squeezy order has no ${where} to use as the SKU.`);
	}
	const product = text(first.product_name);
	const variant = text(first.variant_name);
	return compact({
		sku,
		name: product !== undefined && variant !== undefined && variant !== 'Default' ? `${product} - ${variant}` : (product ?? variant),
		quantity: first.quantity ?? 1,
		price: toMajor(first.price, currency, ISO_MINOR_UNITS, 'data.attributes.first_order_item.price'),
	});
}

export const lemonSqueezy: Platform = {
	id: 'lemonsqueezy',
	label: 'Lemon Squeezy',
	sources: [
		'https://docs.lemonsqueezy.com/help/webhooks/signing-requests',
		'https://docs.lemonsqueezy.com/help/webhooks/webhook-requests',
		'https://docs.lemonsqueezy.com/help/webhooks/event-types',
		'https://docs.lemonsqueezy.com/api/orders/the-order-object',
		'https://github.com/lmsqueezy/lemonsqueezy.js/blob/main/src/orders/types.ts',
	],
	checkOptions: (options) => void lemonSqueezyOptions(options),
	verify,
	classify,
};
