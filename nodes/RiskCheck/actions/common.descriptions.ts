/** Risk Check parameters that several operations show; each stands once, where it always stood in the form. */
import type { IDisplayOptions, INodeProperties } from 'n8n-workflow';

import { orderIdProperty, shopProperty } from '../../shared/descriptions';

const evaluateOrApprove: IDisplayOptions = { show: { operation: ['evaluate', 'approveHeld'] } };
const blocklistEntry: IDisplayOptions = { show: { operation: ['addToBlocklist', 'removeFromBlocklist'] } };

// ---------------------------------------------------------------- Evaluate and Approve Held: the order line
export const orderId: INodeProperties = orderIdProperty({
	description: 'Shop order number. Evaluating the same order and line again returns the recorded decision and counts nothing.',
	displayOptions: evaluateOrApprove,
});

export const line: INodeProperties = {
	displayName: 'Order Line (SKU)',
	name: 'line',
	type: 'string',
	default: '={{ $json.sku }}',
	description: 'The line of the order (Shop Webhook gives one item per line). Other lines of the same order are not counted as further orders. Empty: the whole order.',
	displayOptions: evaluateOrApprove,
};

export const shop: INodeProperties = shopProperty({
	description: 'The shop the order belongs to: an order is Shop + Order ID (two shops may use the same order ID). Empty: the default shop.',
	displayOptions: evaluateOrApprove,
});

// ---------------------------------------------------------------- the blocklist entry type

/**
 * "Type" of a blocklist entry (core BlockKind values: buyer ID, email, IP). `all` puts an "All"
 * choice first and makes it the default: a filter rather than an entry.
 */
export function kindProperty(name: string, displayOptions: IDisplayOptions, all = false): INodeProperties {
	return {
		displayName: 'Type',
		name,
		type: 'options',
		options: [...(all ? [{ name: 'All', value: 'all' }] : []), { name: 'Buyer ID', value: 'buyer' }, { name: 'Email', value: 'email' }, { name: 'IP', value: 'ip' }],
		default: all ? 'all' : 'buyer',
		displayOptions,
	};
}

// ---------------------------------------------------------------- Add to and Remove From Blocklist: the entry
export const kind: INodeProperties = kindProperty('kind', blocklistEntry);

export const value: INodeProperties = {
	displayName: 'Value',
	name: 'value',
	type: 'string',
	default: '',
	required: true,
	placeholder: 'u123 / name@email.com / 203.0.113.7',
	description: 'The buyer ID, email or IP (emails and IPs are compared case-insensitively)',
	displayOptions: blocklistEntry,
};
