import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { KeyStatus } from '../../../core/store';
import { limitProperty } from '../../../shared/descriptions';
import type { Emit, StoreSetup } from '../../../shared/runner';

/** Shown with the SKU and the status (common.descriptions.ts) above them. */
export const description: INodeProperties[] = [
	limitProperty({ displayOptions: { show: { operation: ['listKeys'] } } }),
	{
		displayName: 'Offset',
		name: 'offset',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 0,
		description: 'Skip this many keys (for paging)',
		displayOptions: { show: { operation: ['listKeys'] } },
	},
];

export async function execute(this: IExecuteFunctions, i: number, { store }: StoreSetup, emit: Emit): Promise<void> {
	const status = this.getNodeParameter('status', i) as string;
	const rows = await store.listKeys({
		sku: this.getNodeParameter('sku', i) as string,
		status: status === 'all' ? null : (status as KeyStatus),
		limit: this.getNodeParameter('limit', i) as number,
		offset: this.getNodeParameter('offset', i) as number,
	});
	for (const r of rows) emit(0, { ...r });
}
