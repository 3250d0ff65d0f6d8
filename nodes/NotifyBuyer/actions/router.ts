/** Notify Buyer's execute: the one item runner, each input item handed to its operation. */
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { openStore, ownMessage, runItems, type Failed, type Operation } from '../../shared/runner';
import type { NotifySetup } from '../helpers/interfaces';
import { failedItem } from '../helpers/items';
import * as resend from './resend.operation';
import * as send from './send.operation';
import * as sendFollowUp from './sendFollowUp.operation';
import * as sendDelayNotice from './sendDelayNotice.operation';

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const isDelay = (i: number) => this.getNodeParameter('operation', i) === sendDelayNotice.option.value;
	const failed: Failed = (i, message) => ({ output: 0, json: isDelay(i) ? sendDelayNotice.failedItem(items[i].json, message) : failedItem(items[i].json, message) });
	return await runItems<NotifySetup>(this, { outputs: 1, setup: () => openStore(this), failed, setupFailed: ownMessage(failed) }, async (i, setup, emit) => {
		// Read for each item, and any value but Resend sends (not runOperation: it reads item 0 and fails unknown values).
		const name = this.getNodeParameter('operation', i);
		const operation: Operation<NotifySetup> = name === resend.option.value ? resend : name === sendFollowUp.option.value ? sendFollowUp : name === sendDelayNotice.option.value ? sendDelayNotice : send;
		await operation.execute.call(this, i, setup, emit);
	});
}
