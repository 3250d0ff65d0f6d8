/** Key Pool parameters that several operations show; each stands once, where it always stood in the form. */
import type { INodeProperties } from 'n8n-workflow';

import { skuProperty } from '../../shared/descriptions';

export const sku: INodeProperties = skuProperty({
	default: '',
	required: true,
	placeholder: 'STEAM-50',
	description: 'Product code the keys belong to (must match the SKU in shop orders)',
	displayOptions: { show: { operation: ['import', 'listKeys', 'voidKeys', 'upsertProduct'] } },
});

export const skuFilter: INodeProperties = skuProperty({
	name: 'skuFilter',
	default: '',
	placeholder: 'All SKUs',
	description: 'Only this SKU; empty for every SKU',
	displayOptions: { show: { operation: ['getStock', 'exportKeys'] } },
});

export const status: INodeProperties = {
	displayName: 'Status',
	name: 'status',
	type: 'options',
	options: [
		{ name: 'All', value: 'all' },
		{ name: 'Available', value: 'available' },
		{ name: 'Assigned', value: 'assigned' },
		{ name: 'Revoked', value: 'revoked' },
		{ name: 'Void', value: 'void' },
	],
	default: 'all',
	displayOptions: { show: { operation: ['listKeys', 'exportKeys'] } },
};
