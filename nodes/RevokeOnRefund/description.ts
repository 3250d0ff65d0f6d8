/** Revoke on Refund's parameters. */
import type { INodeProperties } from 'n8n-workflow';

export const properties: INodeProperties[] = [
	{
		displayName: 'Order ID',
		name: 'orderId',
		type: 'string',
		default: '={{ $json.orderId }}',
		required: true,
		description: 'The refunded shop order',
	},
	{
		displayName: 'Shop',
		name: 'shop',
		type: 'string',
		default: '={{ $json.shop }}',
		description: 'The shop of the refunded order. Only that shop\'s order is revoked: another shop\'s order with the same ID is never touched. Empty: the default shop.',
	},
	{
		displayName: 'SKU',
		name: 'sku',
		type: 'string',
		default: '',
		placeholder: 'All lines of the order',
		description: 'Only this line of the order; empty for every line (and any line not delivered yet is blocked)',
	},
	{
		displayName: 'Reason',
		name: 'reason',
		type: 'string',
		default: 'refund',
		description: 'Recorded with the revoked delivery and in the audit log',
	},
	{
		displayName: 'Return Unsent Keys to Stock',
		name: 'returnUnsent',
		type: 'boolean',
		default: false,
		description:
			'Whether keys nothing ever tried to hand over (no send recorded, attempted or in flight, no shop call) go back to stock to be sold again. Keys the buyer was or may have been sent are never returned.',
	},
	{
		displayName: 'Include Keys in Output',
		name: 'includeKeys',
		type: 'boolean',
		default: false,
		description:
			'Whether to output the revoked keys in plain text (e.g. to deactivate them at the vendor). Off: masked like ABCD…WXYZ. On: plain keys are stored in n8n execution data.',
	},
];
