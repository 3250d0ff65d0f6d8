import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import { openStore, ownMessage, runOperation, type Operation, type StoreSetup } from '../../shared/runner';
import * as deliveryPage from './delivery/deliveryPage.operation';
import * as completeWaiting from './delivery/completeWaiting.operation';
import * as getDelivery from './delivery/getDelivery.operation';
import * as exportKeys from './key/exportKeys.operation';
import * as getStock from './key/getStock.operation';
import * as importKeys from './key/import.operation';
import * as listKeys from './key/listKeys.operation';
import * as voidKeys from './key/voidKeys.operation';
import * as upsertProduct from './product/upsertProduct.operation';

/**
 * The operations by value. The values are unique across the resources and the same in version 1,
 * which has no resource, so the operation alone picks the module in both versions.
 */
const operations: Record<string, Operation<StoreSetup>> = { import: importKeys, getStock, listKeys, voidKeys, exportKeys, upsertProduct, getDelivery, deliveryPage, completeWaiting };

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return await runOperation(
		this,
		operations,
		(operation) => ({
			outputs: 1,
			setup: () => openStore(this),
			failed: (_i, message) => ({ output: 0, json: { error: message, operation } }),
			setupFailed: ownMessage((_i, error) => ({ output: 0, json: { error } })),
		}),
		(operation, i) => new NodeOperationError(this.getNode(), `Unknown operation "${operation}".`, { itemIndex: i }),
	);
}
