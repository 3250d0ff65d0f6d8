import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { Emit, StoreSetup } from '../../../shared/runner';

/** Only the SKU filter (common.descriptions.ts). */
export const description: INodeProperties[] = [];

export async function execute(this: IExecuteFunctions, i: number, { store }: StoreSetup, emit: Emit): Promise<void> {
	const sku = (this.getNodeParameter('skuFilter', i) as string) || null;
	const rows = await store.stock(sku);
	if (sku && rows.length === 0) {
		throw new NodeOperationError(this.getNode(), `Unknown SKU "${sku}": no product and no keys.`, { itemIndex: i });
	}
	for (const r of rows) emit(0, { ...r });
}
