/**
 * Stripe preset: Checkout Sessions paid, charges refunded.
 *
 * Signature (https://docs.stripe.com/webhooks#verify-manually, stripe-node `src/Webhooks.ts`):
 * `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…][,v0=<hex>]`, hex = HMAC-SHA256 of `<t>.<raw body>`
 * keyed with the whole `whsec_…` string (stripe-node passes the secret as it is). Every `v1` is
 * a candidate (Stripe signs once per active secret while an endpoint secret is rolled); `v0` is a
 * test-only scheme and is ignored, as the docs ask. stripe-node refuses only timestamps older than
 * the tolerance (DEFAULT_TOLERANCE 300 s, `timestampAge > tolerance`); we also refuse ones in the
 * future, like every signed call of this package (docs/webhook.md).
 *
 * Order identity: a Checkout Session's id is not on the charge a refund reports, so the order id
 * is the PaymentIntent id — `session.payment_intent` when paid, `charge.payment_intent` when
 * refunded — the one id both events carry. Sessions without a PaymentIntent (subscriptions, free
 * orders) are ignored.
 *
 * Options (Shop Webhook parameters): `skuFrom` `session_metadata` (default: one line, SKU from
 * `metadata[skuKey]`, quantity from `metadata[quantityKey]` or 1) | `line_items` (the session's
 * line items through the API, SKU by `lineItemSku`: `lookup_key` (default) | `product_metadata`
 * (`price.product.metadata[skuKey]`) | `price_id`); `skuKey` (default `sku`), `quantityKey`
 * (default `quantity`); `partialRefunds` `ignore` (default) | `refund_order`.
 *
 * Helpers shared with lemonsqueezy.ts and paddle.ts are in presets.ts.
 */
import { ValidationError } from '../../errors';
import { choice, text } from './read';
import type { CanonicalJson, Classification, ClassifyContext, FetchJson, Platform, PlatformOptions, VerifyInput, VerifyResult } from './types';
import { buyerOf, compact, eventEnvelope, idOf, ignore, isoTime, keyOption, list, obj, partialRefund, partialRefundsOption, refunded, toMajor, unhandled, unitPrice, verifyTimestampedHmac, type Json, type MinorUnits } from './presets';

// ---------------------------------------------------------------------------------------------
// Stripe

const API = 'https://api.stripe.com/v1';

/**
 * https://docs.stripe.com/currencies#zero-decimal (amounts are not multiplied by 100) and
 * #three-decimal. ISK, HUF, TWD are special cases there but are sent with two decimals.
 */
export const STRIPE_MINOR_UNITS: MinorUnits = {
	zero: new Set(['BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF']),
	three: new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']),
};

const HANDLED = ['checkout.session.completed', 'checkout.session.async_payment_succeeded', 'charge.refunded'] as const;
/** Stripe lists at most 100 line items a page; an order has at most 100 lines (order.ts). */
const MAX_PAGES = 3;

/** The Stripe options, checked (ValidationError naming `platformOptions.<key>`). */
export function stripeOptions(options: PlatformOptions) {
	return {
		skuFrom: choice(options, 'skuFrom', ['session_metadata', 'line_items'] as const, 'session_metadata'),
		lineItemSku: choice(options, 'lineItemSku', ['lookup_key', 'product_metadata', 'price_id'] as const, 'lookup_key'),
		skuKey: keyOption(options, 'skuKey', 'sku'),
		quantityKey: keyOption(options, 'quantityKey', 'quantity'),
		partialRefunds: partialRefundsOption(options),
	};
}
type StripeOptions = ReturnType<typeof stripeOptions>;

function verify(input: VerifyInput): VerifyResult {
	return verifyTimestampedHmac({
		input,
		header: 'Stripe-Signature',
		signer: 'this Stripe endpoint',
		separator: ',',
		timestampKey: 't',
		signatureKey: 'v1',
		joiner: '.',
		formatHint: ' ("v0" is a test-only scheme and is not accepted)',
	});
}

function classify(body: unknown, ctx: ClassifyContext): Classification {
	const { event, type, object, eventId } = eventEnvelope(body, 'Stripe', { type: 'type', id: 'id', inObject: true });
	const options = stripeOptions(ctx.options);
	if (type === 'charge.refunded') return chargeRefunded(type, object, options, eventId);
	if (type === 'checkout.session.completed' || type === 'checkout.session.async_payment_succeeded') {
		return sessionPaid(type, object, event.created, options, eventId);
	}
	return unhandled('Stripe', type, HANDLED, eventId);
}

function sessionPaid(type: string, session: Json, created: unknown, options: StripeOptions, eventId?: string): Classification {
	const sessionId = text(session.id);
	if (!sessionId) throw new ValidationError('data.object.id', 'data.object.id is required: the Checkout Session has no id.');
	const status = text(session.payment_status);
	if (status !== 'paid') {
		return ignore(type, `Stripe Checkout Session ${sessionId} is "${status ?? 'unknown'}", not paid: nothing is delivered before checkout.session.async_payment_succeeded.`, eventId);
	}
	const orderId = idOf(session.payment_intent);
	if (!orderId) {
		return ignore(type, `Stripe Checkout Session ${sessionId} has no PaymentIntent (a subscription or a free order): this preset delivers one-time payments.`, eventId);
	}
	const currency = text(session.currency)?.toUpperCase();
	const details = obj(session.customer_details);
	const order = compact({
		event: 'order.paid',
		orderId,
		buyer: buyerOf({ id: idOf(session.customer), name: text(details?.name), email: text(details?.email) ?? text(session.customer_email) }),
		amount: toMajor(session.amount_total, currency, STRIPE_MINOR_UNITS, 'data.object.amount_total'),
		currency,
		paidAt: isoTime(created),
	});
	if (options.skuFrom === 'line_items') {
		const complete = async (fetch: FetchJson): Promise<CanonicalJson> => ({ ...order, items: await lineItems(fetch, sessionId, options, currency) });
		return compact({ kind: 'paid', order, eventId, complete }) as Classification;
	}
	const metadata = obj(session.metadata) ?? {};
	const sku = text(metadata[options.skuKey]);
	if (!sku) {
		throw new ValidationError(
			'items',
			`Stripe Checkout Session ${sessionId} has no metadata "${options.skuKey}": set it when creating the session, or read the SKU from the line items (skuFrom line_items).`,
		);
	}
	const quantity = text(metadata[options.quantityKey]) ?? 1;
	const item = compact({ sku, quantity, price: unitPrice(order.amount as number | undefined, quantity) });
	return compact({ kind: 'paid', order: { ...order, items: [item] }, eventId }) as Classification;
}

/** GET /v1/checkout/sessions/{id}/line_items (https://docs.stripe.com/api/checkout/sessions/line_items), every page. */
async function lineItems(fetch: FetchJson, sessionId: string, options: StripeOptions, currency?: string): Promise<Json[]> {
	const url = `${API}/checkout/sessions/${encodeURIComponent(sessionId)}/line_items`;
	const items: Json[] = [];
	let after: string | undefined;
	for (let page = 0; page < MAX_PAGES; page++) {
		const query: Record<string, string> = { limit: '100', 'expand[]': 'data.price.product' };
		if (after !== undefined) query.starting_after = after;
		const answer = obj(await fetch({ method: 'GET', url, query }));
		const data = answer?.data;
		if (!answer || !Array.isArray(data)) throw new Error(`Stripe answered the line items of ${sessionId} without a "data" list.`);
		for (const line of list(data)) {
			items.push(stripeLine(line, items.length, options, currency));
			after = text(line.id);
		}
		if (answer.has_more !== true || data.length === 0 || after === undefined) return items;
	}
	throw new ValidationError('items', `Stripe Checkout Session ${sessionId} has more line items than an order may have.`);
}

function stripeLine(line: Json, i: number, options: StripeOptions, currency?: string): Json {
	const price = obj(line.price);
	const name = text(line.description);
	const from = options.lineItemSku;
	const sku =
		from === 'lookup_key' ? text(price?.lookup_key) : from === 'price_id' ? text(price?.id) : text(obj(obj(price?.product)?.metadata)?.[options.skuKey]);
	if (!sku) {
		const where = from === 'lookup_key' ? 'lookup key on its price' : from === 'price_id' ? 'price' : `metadata "${options.skuKey}" on its product`;
		throw new ValidationError(`items[${i}].sku`, `Stripe line item "${name ?? text(line.id) ?? i}" has no ${where}: set it in the Stripe dashboard, or choose another SKU source.`);
	}
	const total = toMajor(line.amount_total, text(line.currency)?.toUpperCase() ?? currency, STRIPE_MINOR_UNITS, `line_items[${i}].amount_total`);
	return compact({ sku, name, quantity: line.quantity, price: unitPrice(total, line.quantity) });
}

function chargeRefunded(type: string, charge: Json, options: StripeOptions, eventId?: string): Classification {
	const orderId = idOf(charge.payment_intent);
	if (!orderId) return ignore(type, `Stripe charge ${text(charge.id) ?? ''} has no PaymentIntent: it is not an order of this preset.`, eventId);
	// `refunded` is true once the whole charge is refunded (https://docs.stripe.com/api/charges/object#charge_object-refunded).
	if (charge.refunded === true) return refunded({ orderId }, eventId);
	return partialRefund('Stripe', type, orderId, options.partialRefunds, eventId);
}

export const stripe: Platform = {
	id: 'stripe',
	label: 'Stripe',
	sources: [
		'https://docs.stripe.com/webhooks#verify-manually',
		'https://github.com/stripe/stripe-node/blob/master/src/Webhooks.ts',
		'https://docs.stripe.com/api/events/types#event_types-checkout.session.completed',
		'https://docs.stripe.com/api/checkout/sessions/object',
		'https://docs.stripe.com/api/checkout/sessions/line_items',
		'https://docs.stripe.com/api/charges/object',
		'https://docs.stripe.com/currencies#zero-decimal',
	],
	checkOptions: (options) => void stripeOptions(options),
	verify,
	classify,
};
