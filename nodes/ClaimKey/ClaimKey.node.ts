import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { claimItem } from '../core/delivery';
import { itemCollection, itemParam } from '../shared/params';
import { includeKeys } from '../shared/tool';
import type { Strategy } from '../core/store';
import { openStore, ownMessage, runItems, withDeliveryLink, type Failed } from '../shared/runner';
import { testKeyStoreCredential } from '../shared/store';
import { properties } from './description';

export class ClaimKey implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Claim Key',
		name: 'claimKey',
		icon: { light: 'file:claimKey.svg', dark: 'file:claimKey.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["quantity"]}} × {{$parameter["sku"]}}',
		description: 'Atomically claim unused keys (卡密) for an order line, or fetch the content from your API; the same order always gets the same keys',
		defaults: { name: 'Claim Key' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Delivered', 'Not Delivered'],
		credentials: [{ name: 'autoDeliveryKeyStore', required: true, testedBy: 'autoDeliveryKeyStoreTest' }],
		properties,
	};

	methods = {
		credentialTest: { autoDeliveryKeyStoreTest: testKeyStoreCredential },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		// Never on "Delivered": a failed claim must not reach Notify Buyer.
		const failed: Failed = (_i, error) => ({ output: 1, json: { status: 'not_delivered', reason: 'error', error } });
		return await runItems(this, { outputs: 2, setup: () => openStore(this), failed, setupFailed: ownMessage(failed) }, async (i, setup, emit) => {
			const { store, actor } = setup;
			const details = itemCollection(this, 'details', i);
			const input = {
				orderId: itemParam(this, 'orderId', i) as string,
				sku: itemParam(this, 'sku', i) as string,
				quantity: itemParam(this, 'quantity', i) as number,
				strategy: this.getNodeParameter('strategy', i) as Strategy,
				reveal: includeKeys(this, i),
				buyer: {
					id: details.buyerId as string | undefined,
					name: details.buyerName as string | undefined,
					email: details.buyerEmail as string | undefined,
					ip: details.buyerIp as string | undefined,
				},
				amount: details.amount as number | undefined,
				// Workflows saved before Shop was a parameter of its own kept it in the details.
				shop: (itemParam(this, 'shop', i, '') as string) || (details.shop as string | undefined),
				actor,
			};
			const paidAt = (details.paidAt as string | number | undefined) || null;
			// Record Waiting Lines (default on): out of stock waits for Complete Waiting Orders; External API products through the seller's endpoint.
			const { delivered, item } = await claimItem(store, { ...input, paidAt }, { recordWaiting: this.getNodeParameter('waitingLines', i, true) as boolean });
			emit(delivered ? 0 : 1, withDeliveryLink(setup, item) as unknown as IDataObject);
		});
	}
}
