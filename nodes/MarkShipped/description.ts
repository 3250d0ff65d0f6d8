/**
 * Mark Shipped's parameters: the delivery to find, the mode (call the shop API, or record only),
 * the fake-shipping guard, the shop request and its options.
 */
import type { INodeProperties } from 'n8n-workflow';

import { DEFAULT_REFERENCE_FIELD, MAX_RETRIES } from '../core/delivery';
import { findDeliveryProperties, maxRetriesOption, optionsCollection, retryDelayOption, timeoutOption, timeZoneOption } from '../shared/descriptions';

const DEFAULT_BODY = '{\n  "orderId": "{orderId}",\n  "status": "shipped"\n}';

const callApi = { show: { mode: ['callApi'] } };

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
		displayName: 'Require Sent',
		name: 'requireSent',
		type: 'boolean',
		default: true,
		description:
			'Whether to refuse deliveries the buyer was not sent yet (recorded by Notify Buyer). Marking them shipped would be fake shipping (虚假发货). Off: an explicit override, recorded in the audit log.',
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
		displayOptions: callApi,
	},
	{
		displayName: 'Path',
		name: 'path',
		type: 'string',
		default: '/orders/{orderId}/ship',
		required: true,
		displayOptions: callApi,
		description:
			'Relative to the Base URL of the credential. Variables are URL-encoded: {orderId} {订单号}, {productName} {商品名称}, {buyerName} {买家昵称}, {quantity} {数量}, {date} {购买日期}.',
	},
	{
		displayName: 'JSON Body',
		name: 'body',
		type: 'json',
		default: DEFAULT_BODY,
		displayOptions: { show: { mode: ['callApi'], method: ['POST', 'PUT', 'PATCH', 'DELETE'] } },
		description:
			'Template of the JSON sent to the shop; empty sends no body. Variables inside quotes are escaped ("Order {orderId}"); a variable on its own becomes a JSON value ({quantity} a number, others a string). {deliveryContent} / {发货内容} (the keys, one per line) is decrypted only for this request, for shops that deliver the content through their own API.',
	},
	{
		displayName: 'Shop Reference Field',
		name: 'referenceField',
		type: 'string',
		default: DEFAULT_REFERENCE_FIELD,
		displayOptions: callApi,
		description: 'Dotted path into the JSON answer (e.g. reference or data.shipment.id) whose value is stored as the shop reference; empty: none',
	},
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
		{ displayOptions: callApi },
	),
];
