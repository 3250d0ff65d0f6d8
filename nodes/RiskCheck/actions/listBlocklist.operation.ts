import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { listBlocklist, type BlockKind } from '../../core/risk';
import type { Emit, StoreSetup } from '../../shared/runner';

export const description: INodeProperties[] = [
	{
		displayName: 'Type',
		name: 'kindFilter',
		type: 'options',
		options: [
			{ name: 'All', value: 'all' },
			{ name: 'Buyer ID', value: 'buyer' },
			{ name: 'Email', value: 'email' },
			{ name: 'IP', value: 'ip' },
		],
		default: 'all',
		displayOptions: { show: { operation: ['listBlocklist'] } },
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 50,
		description: 'Max number of results to return',
		displayOptions: { show: { operation: ['listBlocklist'] } },
	},
];

export async function execute(this: IExecuteFunctions, i: number, { store }: StoreSetup, emit: Emit): Promise<void> {
	const kind = this.getNodeParameter('kindFilter', i, 'all') as string;
	const entries = await listBlocklist(store, { kind: kind === 'all' ? null : (kind as BlockKind), limit: this.getNodeParameter('limit', i, 50) as number });
	for (const e of entries) emit(0, e as unknown as IDataObject);
}
