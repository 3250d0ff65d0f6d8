import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { reasonProperty } from '../../../shared/descriptions';
import type { Emit, StoreSetup } from '../../../shared/runner';

/** Shown with the SKU (common.descriptions.ts) above them. */
export const description: INodeProperties[] = [
	{
		displayName: 'Void Which Keys',
		name: 'voidSelector',
		type: 'options',
		options: [
			{ name: 'By Key ID', value: 'ids' },
			{ name: 'By Key Value', value: 'keys' },
			{ name: 'Whole Batch', value: 'batch' },
			{ name: 'All Available Keys of the SKU', value: 'all' },
		],
		default: 'ids',
		description: 'Only keys still available are voided; delivered keys are never touched',
		displayOptions: { show: { operation: ['voidKeys'] } },
	},
	{
		displayName: 'Key IDs',
		name: 'keyIds',
		type: 'string',
		default: '',
		placeholder: '12, 13, 20',
		displayOptions: { show: { operation: ['voidKeys'], voidSelector: ['ids'] } },
	},
	{
		displayName: 'Key Values',
		name: 'keyValues',
		type: 'string',
		typeOptions: { rows: 4, password: true },
		default: '',
		description: 'One key per line',
		displayOptions: { show: { operation: ['voidKeys'], voidSelector: ['keys'] } },
	},
	{
		displayName: 'Batch ID',
		name: 'voidBatchId',
		type: 'string',
		default: '',
		displayOptions: { show: { operation: ['voidKeys'], voidSelector: ['batch'] } },
	},
	reasonProperty({ displayOptions: { show: { operation: ['voidKeys'] } } }),
];

export async function execute(this: IExecuteFunctions, i: number, { store, actor }: StoreSetup, emit: Emit): Promise<void> {
	const selector = this.getNodeParameter('voidSelector', i) as string;
	const sku = this.getNodeParameter('sku', i) as string;
	const reason = this.getNodeParameter('reason', i) as string;
	const res = await store.voidKeys({
		sku,
		reason,
		actor,
		ids: selector === 'ids' ? idList(this.getNodeParameter('keyIds', i) as string) : undefined,
		keys: selector === 'keys' ? lines(this.getNodeParameter('keyValues', i) as string) : undefined,
		batchId: selector === 'batch' ? (this.getNodeParameter('voidBatchId', i) as string) : undefined,
		all: selector === 'all',
	});
	emit(0, { ...res });
}

function idList(v: string): number[] {
	return String(v ?? '')
		.split(/[\s,;，]+/)
		.filter((s) => s !== '')
		.map((s) => Number(s));
}

function lines(v: string): string[] {
	return String(v ?? '').split(/\r\n|\r|\n/);
}
