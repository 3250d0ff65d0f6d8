/** Claim Key's parameters. */
import type { INodeProperties } from 'n8n-workflow';

import { includeKeysProperty, orderIdProperty, shopProperty, skuProperty, strategyProperty } from '../shared/descriptions';

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
	strategyProperty(),
	{
		displayName: 'Record Waiting Lines',
		name: 'waitingLines',
		type: 'boolean',
		default: true,
		description:
			'Whether an out-of-stock line is recorded as waiting (once per order line, with the buyer and the payment time), so the buyer can be sent a delay notice (Notify Buyer → Send Delay Notice) and Key Pool → Complete Waiting Orders delivers it in order of payment when keys are imported; a delivered line ends its waiting record',
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
			{
				displayName: 'Paid At',
				name: 'paidAt',
				type: 'string',
				placeholder: '2026-11-23T10:00:00Z',
				default: '',
				description: 'When the buyer paid (ISO 8601 or epoch milliseconds); waiting lines are completed in this order. Empty: now.',
			},
		],
	},
];
