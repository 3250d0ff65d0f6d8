import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { openStore, ownMessage, runOperation, type Failed, type Operation, type StoreSetup } from '../../shared/runner';
import * as addToBlocklist from './addToBlocklist.operation';
import * as approveHeld from './approveHeld.operation';
import * as evaluate from './evaluate.operation';
import * as listBlocklist from './listBlocklist.operation';
import * as removeFromBlocklist from './removeFromBlocklist.operation';

const operations: Record<string, Operation<StoreSetup>> = { evaluate, approveHeld, addToBlocklist, removeFromBlocklist, listBlocklist };

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return await runOperation(
		this,
		operations,
		(operation) => {
			const isEvaluate = operation === 'evaluate';
			const failed: Failed = (i, message) => (isEvaluate ? evaluate.failed(this.getInputData()[i].json, message) : { output: 0, json: { error: message, operation } });
			// Evaluate: Pass, Review, Reject; the other operations: one output.
			return { outputs: isEvaluate ? 3 : 1, setup: () => openStore(this), failed, setupFailed: ownMessage(failed) };
		},
		(operation) => new Error(`Unknown operation "${operation}"`),
	);
}
