import { NodeOperationError, type IExecuteFunctions, type INodeProperties } from 'n8n-workflow';

import { exportCsv } from '../../../core/keyfiles';
import type { KeyStatus } from '../../../core/store';
import type { Emit, StoreSetup } from '../../../shared/runner';
import { runsAsTool } from '../../../shared/tool';

/** Shown with the SKU filter and the status (common.descriptions.ts) above them. */
export const description: INodeProperties[] = [
	{
		displayName: 'Output Binary Field',
		name: 'outputBinaryPropertyName',
		type: 'string',
		default: 'data',
		displayOptions: { show: { operation: ['exportKeys'] } },
	},
	{
		displayName: 'File Name',
		name: 'fileName',
		type: 'string',
		default: 'keys-backup.csv',
		displayOptions: { show: { operation: ['exportKeys'] } },
	},
];

export async function execute(this: IExecuteFunctions, i: number, { store }: StoreSetup, emit: Emit): Promise<void> {
	if (runsAsTool(this)) {
		throw new NodeOperationError(this.getNode(), 'Export Keys is not available to an AI agent: the file holds every key in plain text. Export from a workflow run by you instead.', { itemIndex: i });
	}
	const sku = (this.getNodeParameter('skuFilter', i) as string) || null;
	const status = this.getNodeParameter('status', i) as string;
	const { buffer, rows } = await exportCsv(store.exportKeys({ sku, status: status === 'all' ? null : (status as KeyStatus) }));
	const prop = this.getNodeParameter('outputBinaryPropertyName', i) as string;
	const fileName = this.getNodeParameter('fileName', i) as string;
	const binary = await this.helpers.prepareBinaryData(buffer, fileName || 'keys-backup.csv', 'text/csv');
	emit(0, { sku, status, exported: rows, fileName }, { [prop]: binary });
}
