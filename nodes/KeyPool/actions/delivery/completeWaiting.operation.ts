/** Complete Waiting Orders: new stock delivers the waiting lines of a SKU in order of payment (core store/waiting.ts). */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { completedItem } from '../../../core/delivery';
import type { Strategy } from '../../../core/store';
import { includeKeysProperty, skuProperty, strategyProperty } from '../../../shared/descriptions';
import { itemParam } from '../../../shared/params';
import type { Emit, StoreSetup } from '../../../shared/runner';
import { runsAsTool } from '../../../shared/tool';

const completeWaiting = { show: { operation: ['completeWaiting'] } };

export const description: INodeProperties[] = [
	skuProperty({
		name: 'waitingSku',
		default: '={{ $json.sku }}',
		required: true,
		placeholder: 'STEAM-50',
		description: 'The SKU whose waiting order lines to deliver (e.g. the SKU just imported)',
		displayOptions: completeWaiting,
	}),
	strategyProperty({ name: 'waitingStrategy', displayOptions: completeWaiting }),
	{
		displayName: 'Max Lines',
		name: 'waitingLimit',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 10000, numberPrecision: 0 },
		default: 500,
		description: 'At most this many waiting lines are delivered per run (the rest wait for the next run)',
		displayOptions: completeWaiting,
	},
	includeKeysProperty(
		'Whether to output the keys in plain text. Off (recommended): keys are masked like ABCD…WXYZ and Notify Buyer decrypts them only when sending. On: plain keys are stored in n8n execution data.',
		{ name: 'waitingIncludeKeys', displayOptions: completeWaiting },
	),
];

/**
 * One item per line delivered now, shaped like Claim Key's Delivered output (→ Notify Buyer → Mark
 * Shipped), with the waiting line it ended; none when nothing could be delivered.
 */
export async function execute(this: IExecuteFunctions, i: number, { store, actor }: StoreSetup, emit: Emit): Promise<void> {
	const r = await store.completeWaiting({
		sku: String(itemParam(this, 'waitingSku', i, '') ?? ''),
		strategy: this.getNodeParameter('waitingStrategy', i, 'sequential') as Strategy,
		limit: this.getNodeParameter('waitingLimit', i, 500) as number,
		reveal: !runsAsTool(this) && this.getNodeParameter('waitingIncludeKeys', i, false) === true,
		actor,
	});
	for (const c of r.delivered) emit(0, completedItem(c) as unknown as IDataObject);
}
