/** Claim Key's parameters. */
import type { INodeProperties } from 'n8n-workflow';

import { includeKeysProperty, orderIdProperty, shopProperty, skuProperty } from '../shared/descriptions';

export const properties: INodeProperties[] = [
	orderIdProperty({ description: 'The shop order number. Claiming the same shop, order ID and SKU again returns the same keys.' }),
	shopProperty(),
	skuProperty({ default: '={{ $json.sku }}', required: true, description: 'Product code of the order line' }),
	{
		displayName: 'Quantity',
		name: 'quantity',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 1000, numberPrecision: 0 },
		default: 1,
		description: 'Number of keys for this order line; all or nothing',
	},
	{
		displayName: 'Strategy',
		name: 'strategy',
		type: 'options',
		options: [
			{ name: 'Sequential (Import Order)', value: 'sequential', description: 'Oldest imported keys first' },
			{ name: 'Random', value: 'random', description: 'A random available key' },
		],
		default: 'sequential',
	},
	includeKeysProperty(
		'Whether to output the keys in plain text. Off (recommended): keys are masked like ABCD…WXYZ and Notify Buyer decrypts them only when sending. On: plain keys are stored in n8n execution data.',
	),
	{
		displayName: 'Buyer and Order Details',
		name: 'details',
		type: 'collection',
		placeholder: 'Add Detail',
		default: {},
		description: 'Recorded with the delivery (for messages, risk checks and support)',
		options: [
			{ displayName: 'Amount', name: 'amount', type: 'number', typeOptions: { minValue: 0, numberPrecision: 2 }, default: 0 },
			{ displayName: 'Buyer Email', name: 'buyerEmail', type: 'string', placeholder: 'name@email.com', default: '' },
			{ displayName: 'Buyer ID', name: 'buyerId', type: 'string', default: '' },
			{ displayName: 'Buyer IP', name: 'buyerIp', type: 'string', default: '' },
			{ displayName: 'Buyer Name', name: 'buyerName', type: 'string', default: '' },
		],
	},
];
