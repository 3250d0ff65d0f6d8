/**
 * Mark Shipped's parameters: the delivery to find, the mode (call the shop API, or record only),
 * the platform (Custom HTTP API — the request below, the default — or a preset), the fake-shipping
 * guard, the shop request, the presets' own settings and the call options.
 */
import type { INodeProperties } from 'n8n-workflow';
import { TAOBAO_SKU_FROM_CHOICES } from '../core/taobao';

import { DEFAULT_REFERENCE_FIELD, MAX_RETRIES } from '../core/delivery';
import { findDeliveryProperties, maxRetriesOption, optionsCollection, retryDelayOption, timeoutOption, timeZoneOption } from '../shared/descriptions';

const DEFAULT_BODY = '{\n  "orderId": "{orderId}",\n  "status": "shipped"\n}';

const callApi = { show: { mode: ['callApi'] } };
const RECORD = 'Its API has no fulfil call: record the shipment only (no credential needed)';
/** The Platform options: value, name, description. */
const PLATFORMS: Array<[string, string, string]> = [
	['custom', 'Custom HTTP API', 'Call the shop API of the credential with the method, path and body below'],
	['lemonsqueezy', 'Lemon Squeezy', RECORD],
	['paddle', 'Paddle Billing', RECORD],
	['shopify', 'Shopify', "Fulfil the order's open fulfillment orders (GraphQL Admin API)"],
	['stripe', 'Stripe', RECORD],
	['taobao', 'Taobao / Tmall', 'Send the trade without a carrier: taobao.logistics.dummy.send, once per trade'],
	['woocommerce', 'WooCommerce', 'Set the order to Completed (REST API v3)'],
	['goofish', '闲鱼 / 闲管家 (Goofish)', 'Ship the 闲鱼 order through 闲管家 (signed with App Key + App Secret), once per order'],
	['youzan', '有赞 (Youzan)', 'youzan.logistics.online.confirm without a carrier (is_no_express=1), once per trade'],
];
const goofishShip = (extra: Record<string, unknown[]> = {}) => ({ show: { mode: ['callApi'], platform: ['goofish'], ...extra } });
const customApi = { show: { mode: ['callApi'], platform: ['custom'] } };

export const properties: INodeProperties[] = [
	...findDeliveryProperties({
		selector: 'lookup',
		options: [
			{ name: 'Delivery ID', value: 'deliveryId', description: 'The deliveryId from Claim Key or Notify Buyer' },
			{ name: 'Order ID and SKU', value: 'order', description: 'The shop order number (and the SKU when the order has several lines)' },
		],
		deliveryId: { description: 'The delivery to mark shipped' },
		sku: { default: '={{ $json.sku }}', description: 'Product code of the order line; may be empty when the order has a single line' },
	}),
	{
		displayName: 'Mode',
		name: 'mode',
		type: 'options',
		options: [
			{ name: 'Call Shop API', value: 'callApi', description: 'Call the shop (Auto Delivery Shop API credential), then record the shipment' },
			{ name: 'Record Only', value: 'recordOnly', description: 'Record the shipment without calling anything (you shipped it another way)' },
		],
		default: 'callApi',
	},
	{
		displayName: 'Platform',
		name: 'platform',
		type: 'options',
		options: PLATFORMS.map(([value, name, description]) => ({ name, value, description })),
		default: 'custom',
		displayOptions: callApi,
		description:
			"Where the shipment goes. With a platform, the delivery's order ID is the platform's order ID and the credential's Platform must match. WooCommerce, Shopify, Taobao, 闲管家 and 有赞 mark the whole order, so they wait until every line of the order was sent.",
	},
	{
		displayName: 'Require Sent',
		name: 'requireSent',
		type: 'boolean',
		default: true,
		description:
			'Whether to refuse deliveries the buyer was not sent yet (recorded by Notify Buyer). Marking them shipped would be fake shipping (虚假发货). Off: an explicit override, recorded in the audit log.',
	},
	{
		displayName: 'Wait for the Buyer to Open the Delivery Page',
		name: 'waitForView',
		type: 'boolean',
		default: false,
		displayOptions: { show: { requireSent: [true] } },
		description:
			'Whether to mark shipped only once the buyer opened the order\'s delivery page, instead of once the content was sent. Until then the item leaves on the first output with ship.reason "not_viewed" (nothing called); the delivery-page workflow ships it when the buyer opens the page.',
	},
	{
		displayName: 'When Not Sent',
		name: 'whenNotSent',
		type: 'options',
		options: [
			{ name: 'Route to Not Sent Output', value: 'route', description: 'The item goes to the second output with the reason' },
			{ name: 'Stop With Error', value: 'error', description: 'The node fails with a message naming fake shipping' },
		],
		default: 'route',
		displayOptions: { show: { requireSent: [true] } },
		description: 'What to do with a delivery that was not sent yet. Refunded (revoked) deliveries always go to the Not Sent output.',
	},
	{
		displayName: 'Method',
		name: 'method',
		type: 'options',
		options: [
			{ name: 'DELETE', value: 'DELETE' },
			{ name: 'GET', value: 'GET' },
			{ name: 'PATCH', value: 'PATCH' },
			{ name: 'POST', value: 'POST' },
			{ name: 'PUT', value: 'PUT' },
		],
		default: 'POST',
		displayOptions: customApi,
	},
	{
		displayName: 'Path',
		name: 'path',
		type: 'string',
		default: '/orders/{orderId}/ship',
		required: true,
		displayOptions: customApi,
		description:
			'Relative to the Base URL of the credential. Variables are URL-encoded: {orderId} {订单号}, {productName} {商品名称}, {buyerName} {买家昵称}, {quantity} {数量}, {date} {购买日期}.',
	},
	{
		displayName: 'JSON Body',
		name: 'body',
		type: 'json',
		default: DEFAULT_BODY,
		displayOptions: { show: { mode: ['callApi'], platform: ['custom'], method: ['POST', 'PUT', 'PATCH', 'DELETE'] } },
		description:
			'Template of the JSON sent to the shop; empty sends no body. Variables inside quotes are escaped ("Order {orderId}"); a variable on its own becomes a JSON value ({quantity} a number, others a string). {deliveryContent} / {发货内容} (the keys, one per line) is decrypted only for this request, for shops that deliver the content through their own API.',
	},
	{
		displayName: 'Shop Reference Field',
		name: 'referenceField',
		type: 'string',
		default: DEFAULT_REFERENCE_FIELD,
		displayOptions: customApi,
		description: 'Dotted path into the JSON answer (e.g. reference or data.shipment.id) whose value is stored as the shop reference; empty: none',
	},
	{
		displayName: 'Order Note',
		name: 'wooNote',
		type: 'options',
		options: [
			{ name: 'None', value: 'none' },
			{ name: 'Private Note', value: 'private', description: 'Seen by the shop staff only' },
			{ name: 'Note to Customer', value: 'customer', description: 'Shown to the buyer, who is e-mailed by WooCommerce' },
		],
		default: 'none',
		displayOptions: { show: { mode: ['callApi'], platform: ['woocommerce'] } },
		description:
			'Whether to also add an order note listing what was delivered, with the keys masked (ABCD…WXYZ). Added after the order is completed; if it fails, the shipment still counts and the output says so.',
	},
	{
		displayName: 'Notify Customer',
		name: 'notifyCustomer',
		type: 'boolean',
		default: false,
		displayOptions: { show: { mode: ['callApi'], platform: ['shopify'] } },
		description: 'Whether Shopify e-mails the buyer a shipping confirmation for the fulfillment',
	},
	{
		displayName: 'Send Keys as identCode',
		name: 'taobaoIdentCode',
		type: 'boolean',
		default: false,
		displayOptions: { show: { mode: ['callApi'], platform: ['taobao'] } },
		description:
			"Whether to put the delivered keys on the Taobao trade (dummy.send's feature identCode=oid:key1,key2), where the buyer sees them in the order. Off (default): only the trade is marked sent; the keys stay in the key store and your message.",
	},
	{
		displayName: 'SKU From',
		name: 'taobaoSkuFrom',
		type: 'options',
		options: TAOBAO_SKU_FROM_CHOICES.map((c) => ({ ...c })),
		default: 'outer_sku_id',
		displayOptions: { show: { mode: ['callApi'], platform: ['taobao'], taobaoIdentCode: [true] } },
		description: "Which field of a trade line is the SKU: the same as the Taobao Trigger's, so each key goes to the line (oid) it was claimed for",
	},
	{
		displayName: 'Ship Call',
		name: 'goofishShipCall',
		type: 'options',
		options: [
			{ name: 'Logistics Ship (Express 其他)', value: 'order_ship', description: '/api/open/order/ship with express code and name below and a waybill number' },
			{ name: 'No-Logistics Ship', value: 'dummy_send', description: '/api/open/trade/logistics/dummy/send (无需物流发货) with the Send Way below' },
		],
		default: 'order_ship',
		displayOptions: goofishShip(),
		description: 'Which 闲管家 call marks the order shipped (virtual goods need no parcel; which one 闲鱼 prefers for card goods is not confirmed)',
	},
	{ displayName: 'Express Code', name: 'goofishExpressCode', type: 'string', default: 'qita', displayOptions: goofishShip({ goofishShipCall: ['order_ship'] }), description: 'express_code (闲管家 查询快递公司; qita = 其他)' },
	{ displayName: 'Express Name', name: 'goofishExpressName', type: 'string', default: '其他', displayOptions: goofishShip({ goofishShipCall: ['order_ship'] }), description: 'express_name' },
	{
		displayName: 'Waybill Number',
		name: 'goofishWaybillNo',
		type: 'string',
		default: '',
		displayOptions: goofishShip({ goofishShipCall: ['order_ship'] }),
		description: 'waybill_no (at least 10 letters or digits). Empty: the order number.',
	},
	{ displayName: 'Send Way', name: 'goofishSendWay', type: 'number', default: 1, typeOptions: { minValue: 1, maxValue: 9 }, displayOptions: goofishShip({ goofishShipCall: ['dummy_send'] }), description: 'send_way of 无需物流发货 (2: card goods with a delivery statement wait for the buyer to confirm)' },
	{
		displayName: 'Shop Reference',
		name: 'shopReference',
		type: 'string',
		default: '',
		displayOptions: { show: { mode: ['recordOnly'] } },
		description: 'Optional reference stored with the shipment, e.g. a tracking number',
	},
	optionsCollection(
		[
			maxRetriesOption(MAX_RETRIES),
			retryDelayOption(),
			timeZoneOption({ default: 'Asia/Shanghai', description: 'IANA time zone of {date} {购买日期}' }),
			timeoutOption('How long to wait for each attempt'),
		],
		{ displayOptions: { show: { mode: ['callApi'], platform: ['custom', 'woocommerce', 'shopify', 'taobao', 'goofish', 'youzan'] } } },
	),
];
