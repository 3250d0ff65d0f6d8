/** Risk Check parameters that several operations show; each stands once, where it always stood in the form. */
import type { IDisplayOptions, INodeProperties } from 'n8n-workflow';

const evaluateOrApprove: IDisplayOptions = { show: { operation: ['evaluate', 'approveHeld'] } };

// ---------------------------------------------------------------- Evaluate and Approve Held: the order line
export const orderId: INodeProperties = {
	displayName: 'Order ID',
	name: 'orderId',
	type: 'string',
	default: '={{ $json.orderId }}',
	required: true,
	description: 'Shop order number. Evaluating the same order and line again returns the recorded decision and counts nothing.',
	displayOptions: evaluateOrApprove,
};

export const line: INodeProperties = {
	displayName: 'Order Line (SKU)',
	name: 'line',
	type: 'string',
	default: '={{ $json.sku }}',
	description: 'The line of the order (Shop Webhook gives one item per line). Other lines of the same order are not counted as further orders. Empty: the whole order.',
	displayOptions: evaluateOrApprove,
};

export const shop: INodeProperties = {
	displayName: 'Shop',
	name: 'shop',
	type: 'string',
	default: '={{ $json.shop }}',
	description: 'The shop the order belongs to: an order is Shop + Order ID (two shops may use the same order ID). Empty: the default shop.',
	displayOptions: evaluateOrApprove,
};

// ---------------------------------------------------------------- Add to and Remove From Blocklist: the entry
export const kind: INodeProperties = {
	displayName: 'Type',
	name: 'kind',
	type: 'options',
	options: [
		{ name: 'Buyer ID', value: 'buyer' },
		{ name: 'Email', value: 'email' },
		{ name: 'IP', value: 'ip' },
	],
	default: 'buyer',
	displayOptions: { show: { operation: ['addToBlocklist', 'removeFromBlocklist'] } },
};

export const value: INodeProperties = {
	displayName: 'Value',
	name: 'value',
	type: 'string',
	default: '',
	required: true,
	placeholder: 'u123 / name@email.com / 203.0.113.7',
	description: 'The buyer ID, email or IP (emails and IPs are compared case-insensitively)',
	displayOptions: { show: { operation: ['addToBlocklist', 'removeFromBlocklist'] } },
};
