import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { checkStock } from '../../core/alerts';
import type { Emit, StoreSetup } from '../../shared/runner';

export const description: INodeProperties[] = [
	{
		displayName: 'Default Low-Stock Threshold',
		name: 'defaultThreshold',
		type: 'number',
		typeOptions: { minValue: 0, numberPrecision: 0 },
		default: 10,
		description: 'A SKU is low at this many available keys or fewer, unless its product has its own threshold (Key Pool → Upsert Product)',
		displayOptions: { show: { operation: ['checkStock'] } },
	},
	{
		displayName: 'SKUs',
		name: 'skus',
		type: 'string',
		default: '',
		placeholder: 'STEAM-50, STEAM-100',
		description: 'Only these SKUs (comma-separated); empty for every SKU. Fixed-content products never run out and are skipped.',
		displayOptions: { show: { operation: ['checkStock'] } },
	},
	{
		displayName: 'Report Every SKU',
		name: 'reportAll',
		type: 'boolean',
		default: false,
		description: 'Whether to output every SKU on every run (a stock report), not only those that just crossed into low or empty. Items that crossed still have alert: true.',
		displayOptions: { show: { operation: ['checkStock'] } },
	},
];

export async function execute(this: IExecuteFunctions, i: number, { store, actor }: StoreSetup, emit: Emit): Promise<void> {
	const skus = String(this.getNodeParameter('skus', i, '') ?? '')
		.split(/[,\n]/)
		.map((s) => s.trim())
		.filter(Boolean);
	const rows = await checkStock(store, {
		defaultThreshold: this.getNodeParameter('defaultThreshold', i, 10) as number,
		skus: skus.length ? skus : null,
		reportAll: this.getNodeParameter('reportAll', i, false) as boolean,
		actor,
	});
	for (const row of rows) emit(0, row as unknown as IDataObject);
}
