import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { openStore, runOperation, type Operation, type StoreSetup } from '../../shared/runner';
import * as checkDeliveries from './checkDeliveries.operation';
import * as checkStock from './checkStock.operation';

const operations: Record<string, Operation<StoreSetup>> = { checkStock, checkDeliveries };

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return await runOperation(
		this,
		operations,
		(operation) => ({
			outputs: 1,
			// Once per execution, whatever the number of input items: a schedule gives one. The output
			// items, and a failure under On Error → Continue, are paired to the first input item.
			once: true,
			setup: () => openStore(this),
			failed: (_i, message) => ({ output: 0, json: { error: message, operation } }),
		}),
		(operation) => new Error(`Unknown operation "${operation}"`),
	);
}
