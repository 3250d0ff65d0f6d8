import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { approveHeld } from '../../core/risk';
import type { Emit, StoreSetup } from '../../shared/runner';

/** Shown between the order ID and line and the shop (common.descriptions.ts). */
export const description: INodeProperties[] = [
	{
		displayName: 'Note',
		name: 'note',
		type: 'string',
		default: '',
		description: 'Why you approve it (kept in the audit log)',
		displayOptions: { show: { operation: ['approveHeld'] } },
	},
];

export async function execute(this: IExecuteFunctions, i: number, { store, actor }: StoreSetup, emit: Emit): Promise<void> {
	const a = await approveHeld(store, {
		orderId: this.getNodeParameter('orderId', i) as string,
		shop: this.getNodeParameter('shop', i, '') as string,
		line: this.getNodeParameter('line', i, '') as string,
		note: this.getNodeParameter('note', i, '') as string,
		actor,
	});
	emit(0, a as unknown as IDataObject);
}
