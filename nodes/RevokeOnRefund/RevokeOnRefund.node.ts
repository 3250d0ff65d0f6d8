import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { revokeLines } from '../core/delivery';
import { openStore, ownMessage, runItems, type Failed } from '../shared/runner';
import { testKeyStoreCredential } from '../shared/store';
import { includeKeys } from '../shared/tool';
import { properties } from './description';
import { revokeItem } from './helpers/output';

export class RevokeOnRefund implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Revoke on Refund',
		name: 'revokeOnRefund',
		icon: { light: 'file:revokeOnRefund.svg', dark: 'file:revokeOnRefund.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["sku"] ? "line " + $parameter["sku"] : "whole order"}}',
		description: 'Revoke the card keys of a refunded order so they are never resold; blocks a late delivery of an order refunded before it was paid (退款撤销卡密)',
		defaults: { name: 'Revoke on Refund' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'autoDeliveryKeyStore', required: true, testedBy: 'autoDeliveryKeyStoreTest' }],
		properties,
	};

	methods = {
		credentialTest: { autoDeliveryKeyStoreTest: testKeyStoreCredential },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const failed: Failed = (_i, error) => ({ output: 0, json: { error } });
		return await runItems(this, { outputs: 1, setup: () => openStore(this), failed, setupFailed: ownMessage(failed) }, async (i, { store, actor }, emit) => {
			// The store revokes first; External API lines then get their product's revoke call, if any.
			const results = await revokeLines(store, {
				orderId: this.getNodeParameter('orderId', i) as string,
				shop: this.getNodeParameter('shop', i, '') as string,
				sku: this.getNodeParameter('sku', i, '') as string,
				reason: this.getNodeParameter('reason', i, '') as string,
				returnUnsent: this.getNodeParameter('returnUnsent', i, false) as boolean,
				reveal: includeKeys(this, i),
				actor,
			});
			for (const r of results) emit(0, revokeItem(r));
		});
	}
}
