/**
 * Shop Webhook's Platform parameters: which shop sends the webhook (how it signs, what its payload
 * looks like), the shop name its orders belong to, and each platform's own options. The keys of
 * each options collection are the platform file's option names (nodes/core/intake/platforms/*.ts).
 */
import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import { optionsCollection } from '../shared/descriptions';

/** The presets read their own payload; canonical and generic read ours / the Field Mapping. */
export const PRESETS = ['woocommerce', 'shopify', 'stripe', 'lemonsqueezy', 'paddle', 'goofish', 'youzan'];

/** The options collection of each platform (parameter name by platform id). */
export const PLATFORM_OPTION_PARAMETERS: Record<string, string> = {
	woocommerce: 'wooOptions',
	shopify: 'shopifyOptions',
	stripe: 'stripeOptions',
	lemonsqueezy: 'lemonSqueezyOptions',
	paddle: 'paddleOptions',
	goofish: 'goofishOptions',
	youzan: 'youzanOptions',
	generic: 'genericSignature',
};

const choice = (name: string, displayName: string, options: INodePropertyOptions[], description: string): INodeProperties => ({
	displayName,
	name,
	type: 'options',
	options,
	default: options[0].value,
	description,
});
const key = (name: string, displayName: string, dflt: string, description: string): INodeProperties => ({ displayName, name, type: 'string', default: dflt, description });
const partialRefunds = choice(
	'partialRefunds',
	'Partial Refunds',
	[
		{ name: 'Ignore (Keys Stay Delivered)', value: 'ignore' },
		{ name: 'Refund the Whole Order', value: 'refund_order' },
	],
	'What a refund of part of an order does',
);
const forPlatform = (platform: string): INodeProperties['displayOptions'] => ({ show: { platform: [platform] } });
const optionsFor = (name: string, displayName: string, options: INodeProperties[], displayOptions: INodeProperties['displayOptions']) =>
	optionsCollection(options, { name, displayName, displayOptions });

export const platformProperties: INodeProperties[] = [
	{
		displayName: 'Platform',
		name: 'platform',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Auto Delivery (Canonical)', value: 'canonical', description: 'Our own format: X-Timestamp + X-Signature and the canonical order JSON' },
			{ name: 'Generic HMAC', value: 'generic', description: 'Any other shop: its own signature scheme, its JSON read with Field Mapping' },
			{ name: 'Lemon Squeezy', value: 'lemonsqueezy', description: 'X-Signature; order_created, order_refunded' },
			{ name: 'Paddle Billing', value: 'paddle', description: 'Paddle-Signature; transaction.completed, adjustment.created/updated' },
			{ name: 'Shopify', value: 'shopify', description: 'X-Shopify-Hmac-Sha256; orders/paid, refunds/create' },
			{ name: 'Stripe', value: 'stripe', description: 'Stripe-Signature; checkout.session.completed, charge.refunded' },
			{ name: 'WooCommerce', value: 'woocommerce', description: 'X-WC-Webhook-Signature; order.created/updated, the save ping' },
			{ name: '闲鱼 / 闲管家 (Goofish)', value: 'goofish', description: 'Order push signed with App Key + App Secret (appid, timestamp, sign); details read from 闲管家' },
			{ name: '有赞 (Youzan)', value: 'youzan', description: 'Push messages signed with Client ID + Client Secret; trade_TradePaid, trade_refund_*' },
		],
		default: 'canonical',
		description: "Which shop calls this webhook: its own signature and payload are understood, with the Shop API credential's Webhook Signing Secret",
	},
	{
		displayName: 'Shop Name',
		name: 'shopName',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'mystore',
		description:
			'A name for this store: its orders belong to the shop "<platform>:<name>" (e.g. woocommerce:mystore), so several stores can share one key pool without their order IDs meeting',
		displayOptions: { show: { platform: PRESETS } },
	},
	optionsFor('wooOptions', 'WooCommerce Options', [
		choice('skuFrom', 'SKU From', [
			{ name: 'SKU (Else Product ID)', value: 'sku' },
			{ name: 'Variation ID (Else Product ID)', value: 'variation_id' },
			{ name: 'Product ID', value: 'product_id' },
		], 'Which field of an order line is the SKU of the key pool'),
		key('paidStatuses', 'Paid Statuses', 'processing,completed', 'Order statuses that mean paid, comma-separated (custom statuses of payment plugins)'),
	], forPlatform('woocommerce')),
	optionsFor('shopifyOptions', 'Shopify Options', [
		choice('skuFrom', 'SKU From', [
			{ name: 'SKU (Else Variant ID, Product ID)', value: 'sku' },
			{ name: 'Variant ID (Else Product ID)', value: 'variant_id' },
			{ name: 'Product ID', value: 'product_id' },
		], 'Which field of an order line is the SKU of the key pool'),
		choice('refundWithoutLines', 'Refund Without Lines', [
			{ name: 'Ignore', value: 'ignore' },
			{ name: 'Refund the Whole Order', value: 'whole' },
		], 'What a refund of shipping or an amount only (no refunded lines) does'),
	], forPlatform('shopify')),
	optionsFor('stripeOptions', 'Stripe Options', [
		choice('skuFrom', 'SKU From', [
			{ name: 'Checkout Session Metadata', value: 'session_metadata' },
			{ name: 'Line Items (Stripe API)', value: 'line_items' },
		], "Session metadata: one SKU in metadata (and an optional quantity). Line items: read with the Shop API credential's Stripe secret key."),
		choice('lineItemSku', 'Line Item SKU', [
			{ name: "Price's Lookup Key", value: 'lookup_key' },
			{ name: "Product's Metadata", value: 'product_metadata' },
			{ name: 'Price ID', value: 'price_id' },
		], 'With SKU From = Line Items: where the SKU of a line is'),
		key('skuKey', 'SKU Metadata Key', 'sku', 'The metadata key holding the SKU'),
		key('quantityKey', 'Quantity Metadata Key', 'quantity', 'With SKU From = Session Metadata: the metadata key holding the quantity (default 1)'),
		partialRefunds,
	], forPlatform('stripe')),
	optionsFor('lemonSqueezyOptions', 'Lemon Squeezy Options', [
		choice('skuFrom', 'SKU From', [
			{ name: 'Variant ID', value: 'variant_id' },
			{ name: 'Product ID', value: 'product_id' },
			{ name: 'Checkout Custom Data', value: 'custom_data' },
		], 'Which value of the order is the SKU of the key pool'),
		key('skuKey', 'Custom Data Key', 'sku', 'With SKU From = Checkout Custom Data: the key holding the SKU'),
		choice('orderIdFrom', 'Order ID From', [
			{ name: 'Order ID', value: 'id' },
			{ name: 'Identifier', value: 'identifier' },
			{ name: 'Order Number', value: 'order_number' },
		], 'Which value identifies the order'),
		partialRefunds,
	], forPlatform('lemonsqueezy')),
	optionsFor('paddleOptions', 'Paddle Options', [
		choice('skuFrom', 'SKU From', [
			{ name: 'Price ID', value: 'price_id' },
			{ name: 'Product ID', value: 'product_id' },
			{ name: 'Price Custom Data', value: 'price_custom_data' },
		], 'Which value of a transaction line is the SKU of the key pool'),
		key('skuKey', 'Custom Data Key', 'sku', 'With SKU From = Price Custom Data: the key holding the SKU'),
		key('emailKey', 'Email Custom Data Key', 'email', "The transaction's custom data key holding the buyer's email"),
		{
			displayName: 'Look Up Customer',
			name: 'fetchCustomer',
			type: 'boolean',
			default: true,
			description: "Whether to read the buyer's email and name from the Paddle API (Shop API credential's Paddle API key) when the custom data has none",
		},
		choice('refundLines', 'Refunded Lines', [
			{ name: 'Look Up the Transaction', value: 'transaction' },
			{ name: 'Whole Order', value: 'whole_order' },
		], 'How a refund finds its lines: through the Paddle API, or revoke the whole order'),
		choice('environment', 'Environment', [
			{ name: 'Live', value: 'live' },
			{ name: 'Sandbox', value: 'sandbox' },
		], 'Which Paddle API the lookups use'),
		partialRefunds,
	], forPlatform('paddle')),
	optionsFor('goofishOptions', '闲管家 Options', [
		key('skuField', 'SKU Field', 'outer_id', 'The field of the order\'s goods that is the SKU of the key pool (outer_id = 商家编码; or item_id, product_id, sku_id)'),
		key('paidStatuses', 'Paid Statuses', '12', 'order_status codes that mean paid and waiting for shipment (12 = 待发货), comma-separated'),
		key('refundedStatuses', 'Refunded Order Statuses', '23', 'order_status codes that mean refunded (23 = 已退款), comma-separated'),
		key('refundStatuses', 'Refund Success Statuses', '5', 'refund_status codes that mean the refund succeeded (5 = 退款成功), comma-separated'),
	], forPlatform('goofish')),
	optionsFor('youzanOptions', '有赞 Options', [
		choice('skuFrom', 'SKU From', [
			{ name: 'SKU Code (Else Item Code)', value: 'outer_sku_id' },
			{ name: 'Item Code', value: 'outer_item_id' },
			{ name: 'SKU ID (Else Item ID)', value: 'sku_id' },
			{ name: 'Item ID', value: 'item_id' },
		], 'Which field of an order line is the SKU of the key pool (SKU code = 规格编码 outer_sku_id)'),
		key('paidTypes', 'Paid Message Types', 'trade_TradePaid', 'Message types that mean paid, comma-separated'),
		key('refundTypes', 'Refund Message Types', 'trade_refund_RefundSuccess', 'Message types that mean refunded, comma-separated'),
		choice('refundLines', 'Refunded Lines', [
			{ name: 'Look Up the Trade', value: 'trade' },
			{ name: 'Whole Order', value: 'whole_order' },
		], "How a refund naming order lines (oids) finds their SKUs: read the trade (youzan.trade.get with the Shop API credential's Access Token; revokes only those lines), or revoke the whole order"),
		key('tradeGetVersion', 'Trade API Version', '4.0.0', 'The version of youzan.trade.get used to read a refunded trade'),
	], forPlatform('youzan')),
	optionsFor('genericSignature', 'Signature Scheme', [
		key('header', 'Signature Header', 'X-Signature', 'The header holding the signature'),
		choice('algorithm', 'Algorithm', [
			{ name: 'HMAC-SHA256', value: 'sha256' },
			{ name: 'HMAC-SHA1', value: 'sha1' },
			{ name: 'HMAC-SHA512', value: 'sha512' },
		], 'The HMAC hash function'),
		choice('encoding', 'Encoding', [
			{ name: 'Hex', value: 'hex' },
			{ name: 'Base64', value: 'base64' },
		], 'How the digest is written'),
		key('prefix', 'Prefix', '', 'Text before the digest, e.g. "sha256="'),
		choice('signedText', 'Signed Text', [
			{ name: 'Body', value: '{body}' },
			{ name: 'Timestamp.Body', value: '{timestamp}.{body}' },
			{ name: 'Timestamp:Body', value: '{timestamp}:{body}' },
		], 'What the shop signs'),
		key('timestampHeader', 'Timestamp Header', '', 'The header with the unix time, when the timestamp is signed (the tolerance in Options applies)'),
	], forPlatform('generic')),
];
