/** Revoke on Refund's parameters. */
import type { INodeProperties } from 'n8n-workflow';

import { includeKeysProperty, orderIdProperty, reasonProperty, shopProperty, skuProperty } from '../shared/descriptions';

export const properties: INodeProperties[] = [
	orderIdProperty({ description: 'The refunded shop order' }),
	shopProperty({
		description: 'The shop of the refunded order. Only that shop\'s order is revoked: another shop\'s order with the same ID is never touched. Empty: the default shop.',
	}),
	skuProperty({
		default: '',
		placeholder: 'All lines of the order',
		description: 'Only this line of the order; empty for every line (and any line not delivered yet is blocked)',
	}),
	reasonProperty({ default: 'refund', description: 'Recorded with the revoked delivery and in the audit log' }),
	{
		displayName: 'Return Unsent Keys to Stock',
		name: 'returnUnsent',
		type: 'boolean',
		default: false,
		description:
			'Whether keys nothing ever tried to hand over (no send recorded, attempted or in flight, no shop call) go back to stock to be sold again. Keys the buyer was or may have been sent are never returned.',
	},
	includeKeysProperty(
		'Whether to output the revoked keys in plain text (e.g. to deactivate them at the vendor). Off: masked like ABCD…WXYZ. On: plain keys are stored in n8n execution data.',
	),
];
