import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { Emit, StoreSetup } from '../../../shared/runner';

/** Shown with the SKU (common.descriptions.ts) above them. */
export const description: INodeProperties[] = [
	{
		displayName: 'Product Name',
		name: 'name',
		type: 'string',
		default: '',
		description: 'Empty keeps the current name (new products use the SKU)',
		displayOptions: { show: { operation: ['upsertProduct'] } },
	},
	{
		displayName: 'Low-Stock Threshold',
		name: 'lowStockThreshold',
		type: 'number',
		typeOptions: { minValue: -1 },
		default: -1,
		description: 'Alert when available keys fall to this number. -1 keeps the current value (Stock Alert then uses its own default).',
		displayOptions: { show: { operation: ['upsertProduct'] } },
	},
	{
		displayName: 'Fixed Content',
		name: 'fixedContentMode',
		type: 'options',
		options: [
			{ name: 'Keep', value: 'keep', description: 'Leave fixed content as it is' },
			{ name: 'Set', value: 'set', description: 'Every buyer receives the same content (e.g. a download link) instead of a pool key' },
			{ name: 'Clear', value: 'clear', description: 'Deliver keys from the pool again' },
		],
		default: 'keep',
		displayOptions: { show: { operation: ['upsertProduct'] } },
	},
	{
		displayName: 'Content',
		name: 'fixedContent',
		type: 'string',
		typeOptions: { rows: 3, password: true },
		default: '',
		description: 'Stored encrypted, like keys',
		displayOptions: { show: { operation: ['upsertProduct'], fixedContentMode: ['set'] } },
	},
];

export async function execute(this: IExecuteFunctions, i: number, { store, actor }: StoreSetup, emit: Emit): Promise<void> {
	const mode = this.getNodeParameter('fixedContentMode', i) as string;
	const threshold = this.getNodeParameter('lowStockThreshold', i) as number;
	const product = await store.upsertProduct({
		sku: this.getNodeParameter('sku', i) as string,
		name: (this.getNodeParameter('name', i) as string) || null,
		lowStockThreshold: threshold < 0 ? undefined : threshold,
		fixedContent: mode === 'set' ? (this.getNodeParameter('fixedContent', i) as string) : mode === 'clear' ? null : undefined,
		actor,
	});
	emit(0, { ...product });
}
