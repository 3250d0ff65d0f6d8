/**
 * Paddle Billing preset: transactions completed (paid), refunds approved.
 *
 * Signature (https://developer.paddle.com/webhooks/signature-verification, paddle-node-sdk
 * `src/notifications/helpers/webhooks-validator.ts`): `Paddle-Signature: ts=<unix>;h1=<hex>` where
 * hex = HMAC-SHA256 of `<ts>:<raw body>` keyed with the notification destination's secret key
 * (`pdl_ntfset_…`, used as it is). The header carries "at least one h1" — one per secret while a
 * secret is rotated — and any of them may match (the SDK itself keeps only the last h1). The SDK
 * refuses a `ts` more than 5 seconds old (MAX_VALID_TIME_DIFFERENCE) and does not check the
 * future; here the window is Shop Webhook's tolerance (default 300 s), past and future: 5 s fails
 * on ordinary clock drift and slow deliveries.
 *
 * Events: `transaction.completed` → paid, order id `data.id` (`txn_…`); `adjustment.created` /
 * `adjustment.updated` with `action: "refund"` and `status: "approved"` → refunded, order id
 * `transaction_id` (refunds start as `pending_approval`; adjustment.updated reports the approval,
 * https://developer.paddle.com/webhooks/adjustments/adjustment-updated). An adjustment of
 * `type: "full"` refunds the whole transaction; one whose items are all of type `full` refunds
 * those lines (their SKUs come from GET /transactions/{id}: the adjustment names only the
 * transaction item ids); any `partial`/`tax`/`proration` item is a partial refund. The top-level
 * `type` of an adjustment is newer than the SDK mocks we checked: when absent the items decide.
 *
 * Options: `skuFrom` `price_id` (default) | `product_id` | `price_custom_data`
 * (`price.custom_data[skuKey]`); `skuKey` (default `sku`); `emailKey` (default `email`: the
 * buyer's email in the transaction's `custom_data`, else GET /customers/{customer_id});
 * `fetchCustomer` (default true); `refundLines` `transaction` (default: look the refunded lines
 * up) | `whole_order`; `partialRefunds` `ignore` (default) | `refund_order`; `environment`
 * `live` (default, https://api.paddle.com) | `sandbox` (https://sandbox-api.paddle.com).
 *
 * Amounts are strings in the currency's lowest denomination
 * (https://developer.paddle.com/api-reference/about/data-types); decimals follow ISO 4217 —
 * not confirmed against Paddle's GET /currencies `decimal_places` for every currency.
 */
import { ValidationError } from '../../errors';
import { choice, text } from './read';
import type { CanonicalJson, Classification, ClassifyContext, FetchJson, Platform, PlatformOptions, VerifyInput, VerifyResult } from './types';
import {
	ISO_MINOR_UNITS,
	buyerOf,
	compact,
	eventEnvelope,
	flagOption,
	ignore,
	keyOption,
	list,
	obj,
	partialRefund,
	partialRefundsOption,
	refunded,
	toMajor,
	unhandled,
	unitPrice,
	verifyTimestampedHmac,
	type Json,
} from './presets';

const HANDLED = ['transaction.completed', 'adjustment.created', 'adjustment.updated'] as const;
const API = { live: 'https://api.paddle.com', sandbox: 'https://sandbox-api.paddle.com' } as const;

/** The Paddle options, checked (ValidationError naming `platformOptions.<key>`). */
export function paddleOptions(options: PlatformOptions) {
	return {
		skuFrom: choice(options, 'skuFrom', ['price_id', 'product_id', 'price_custom_data'] as const, 'price_id'),
		skuKey: keyOption(options, 'skuKey', 'sku'),
		emailKey: keyOption(options, 'emailKey', 'email'),
		fetchCustomer: flagOption(options, 'fetchCustomer', true),
		refundLines: choice(options, 'refundLines', ['transaction', 'whole_order'] as const, 'transaction'),
		partialRefunds: partialRefundsOption(options),
		api: API[choice(options, 'environment', ['live', 'sandbox'] as const, 'live')],
	};
}
type PaddleOptions = ReturnType<typeof paddleOptions>;

function verify(input: VerifyInput): VerifyResult {
	return verifyTimestampedHmac({
		input,
		header: 'Paddle-Signature',
		signer: 'this Paddle notification destination',
		separator: ';',
		timestampKey: 'ts',
		signatureKey: 'h1',
		joiner: ':',
	});
}

function classify(body: unknown, ctx: ClassifyContext): Classification {
	const { type, object: data, eventId } = eventEnvelope(body, 'Paddle', { type: 'event_type', id: 'event_id', inObject: false });
	const options = paddleOptions(ctx.options);
	if (type === 'transaction.completed') return transactionPaid(data, options, eventId);
	if (type === 'adjustment.created' || type === 'adjustment.updated') return adjustment(type, data, options, eventId);
	return unhandled('Paddle', type, HANDLED, eventId);
}

/** The SKU of a transaction item's price (`items[].price`) by the `skuFrom` option. */
function skuOf(price: Json | undefined, productId: string | undefined, options: PaddleOptions, field: string): string {
	const from = options.skuFrom;
	const sku = from === 'price_id' ? text(price?.id) : from === 'product_id' ? productId : text(obj(price?.custom_data)?.[options.skuKey]);
	if (sku === undefined) {
		const where = from === 'price_custom_data' ? `custom data "${options.skuKey}" on its price` : from.replace('_', ' ');
		throw new ValidationError(field, `A Paddle transaction item (price ${text(price?.id) ?? '?'}) has no ${where} to use as the SKU.`);
	}
	return sku;
}

function transactionPaid(txn: Json, options: PaddleOptions, eventId?: string): Classification {
	const orderId = text(txn.id);
	if (orderId === undefined) throw new ValidationError('data.id', 'data.id is required: the Paddle transaction has no id.');
	const currency = text(txn.currency_code)?.toUpperCase();
	const details = obj(txn.details);
	const lines = list(details?.line_items);
	const entries = list(txn.items);
	if (entries.length === 0) throw new ValidationError('items', `Paddle transaction ${orderId} has no items.`);
	const items = entries.map((entry, i) => {
		const price = obj(entry.price);
		const j = lines.findIndex((l) => text(l.price_id) === text(price?.id));
		const line = lines[j] as Json | undefined;
		const product = obj(line?.product);
		const quantity = entry.quantity ?? line?.quantity;
		const total = toMajor(obj(line?.totals)?.total, currency, ISO_MINOR_UNITS, `data.details.line_items[${j}].totals.total`);
		return compact({
			sku: skuOf(price, text(price?.product_id) ?? text(product?.id), options, `items[${i}].sku`),
			name: text(product?.name) ?? text(price?.name) ?? text(price?.description),
			quantity,
			price: unitPrice(total, quantity),
		});
	});
	const customerId = text(txn.customer_id);
	const email = text(obj(txn.custom_data)?.[options.emailKey]);
	const order = compact({
		event: 'order.paid',
		orderId,
		buyer: buyerOf({ id: customerId, email }),
		items,
		amount: toMajor(obj(details?.totals)?.grand_total, currency, ISO_MINOR_UNITS, 'data.details.totals.grand_total'),
		currency,
		paidAt: text(txn.billed_at) ?? text(txn.updated_at),
	});
	const complete =
		email === undefined && customerId !== undefined && options.fetchCustomer
			? async (fetch: FetchJson): Promise<CanonicalJson> => ({ ...order, buyer: await customer(fetch, options.api, customerId) })
			: undefined;
	return compact({ kind: 'paid', order, eventId, complete, lines: entries }) as Classification;
}

/** GET /customers/{customer_id} (https://developer.paddle.com/api-reference/customers/get-customer): email and name. */
async function customer(fetch: FetchJson, api: string, customerId: string): Promise<Json> {
	const data = obj(obj(await fetch({ method: 'GET', url: `${api}/customers/${encodeURIComponent(customerId)}` }))?.data);
	if (!data) throw new Error(`Paddle answered customer ${customerId} without a "data" object.`);
	return compact({ id: customerId, name: text(data.name), email: text(data.email) });
}

function adjustment(type: string, adj: Json, options: PaddleOptions, eventId?: string): Classification {
	const id = text(adj.id) ?? '';
	const action = text(adj.action);
	if (action !== 'refund') return ignore(type, `Paddle adjustment ${id} is a ${action ?? 'adjustment'}, not a refund: ignored.`, eventId);
	const orderId = text(adj.transaction_id);
	if (orderId === undefined) throw new ValidationError('data.transaction_id', 'data.transaction_id is required: the Paddle refund names no transaction.');
	const status = text(adj.status);
	if (status !== 'approved') {
		return ignore(type, `Paddle refund ${id} of ${orderId} is "${status ?? 'unknown'}": keys are revoked once Paddle approves it (adjustment.updated, status "approved").`, eventId);
	}
	const items = list(adj.items);
	if (text(adj.type) === 'full') return refunded({ orderId }, eventId);
	if (items.length === 0 || items.some((item) => text(item.type) !== 'full')) return partialRefund('Paddle', type, orderId, options.partialRefunds, eventId);
	if (options.refundLines === 'whole_order') return refunded({ orderId }, eventId);
	const itemIds = items.map((item) => text(item.item_id) ?? '');
	return refunded({ orderId }, eventId, async (fetch) => ({ event: 'order.refunded', orderId, ...(await refundedLines(fetch, orderId, itemIds, options)) }));
}

/**
 * The refunded lines of a transaction by their transaction item ids (`details.line_items[].id`,
 * GET /transactions/{id}, https://developer.paddle.com/api-reference/transactions/get-transaction):
 * `{}` when every line is refunded (the whole order), else `{items: [{sku}]}` (whole lines).
 */
async function refundedLines(fetch: FetchJson, orderId: string, itemIds: string[], options: PaddleOptions): Promise<Json> {
	const txn = obj(obj(await fetch({ method: 'GET', url: `${options.api}/transactions/${encodeURIComponent(orderId)}` }))?.data);
	if (!txn) throw new Error(`Paddle answered transaction ${orderId} without a "data" object.`);
	const lines = list(obj(txn.details)?.line_items);
	const prices = list(txn.items).map((entry) => obj(entry.price));
	const items = itemIds.map((itemId, i) => {
		const line = lines.find((l) => text(l.id) === itemId);
		if (!line) throw new Error(`Paddle transaction ${orderId} has no line "${itemId}" (named by the refund).`);
		const price = prices.find((p) => text(p?.id) === text(line.price_id)) ?? { id: line.price_id };
		return { sku: skuOf(price, text(obj(line.product)?.id) ?? text(price.product_id), options, `items[${i}].sku`) };
	});
	return lines.every((l) => itemIds.includes(text(l.id) ?? '')) ? {} : { items };
}

export const paddle: Platform = {
	id: 'paddle',
	label: 'Paddle Billing',
	sources: [
		'https://developer.paddle.com/webhooks/signature-verification',
		'https://github.com/PaddleHQ/paddle-node-sdk/blob/main/src/notifications/helpers/webhooks-validator.ts',
		'https://developer.paddle.com/webhooks/transactions/transaction-completed',
		'https://developer.paddle.com/webhooks/adjustments/adjustment-created',
		'https://developer.paddle.com/webhooks/adjustments/adjustment-updated',
		'https://developer.paddle.com/api-reference/customers/get-customer',
		'https://developer.paddle.com/api-reference/transactions/get-transaction',
		'https://developer.paddle.com/api-reference/about/data-types',
	],
	checkOptions: (options) => void paddleOptions(options),
	verify,
	classify,
};
