import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import type { KeyStore, RevokeResult } from '../core/store';
import { actorOf, storeFor, testKeyStoreCredential } from '../shared/store';
import { toNodeError } from '../shared/errors';

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
		properties: [
			{
				displayName: 'Order ID',
				name: 'orderId',
				type: 'string',
				default: '={{ $json.orderId }}',
				required: true,
				description: 'The refunded shop order',
			},
			{
				displayName: 'Shop',
				name: 'shop',
				type: 'string',
				default: '={{ $json.shop }}',
				description: 'The shop of the refunded order. Only that shop\'s order is revoked: another shop\'s order with the same ID is never touched. Empty: the default shop.',
			},
			{
				displayName: 'SKU',
				name: 'sku',
				type: 'string',
				default: '',
				placeholder: 'All lines of the order',
				description: 'Only this line of the order; empty for every line (and any line not delivered yet is blocked)',
			},
			{
				displayName: 'Reason',
				name: 'reason',
				type: 'string',
				default: 'refund',
				description: 'Recorded with the revoked delivery and in the audit log',
			},
			{
				displayName: 'Return Unsent Keys to Stock',
				name: 'returnUnsent',
				type: 'boolean',
				default: false,
				description:
					'Whether keys nothing ever tried to hand over (no send recorded, attempted or in flight, no shop call) go back to stock to be sold again. Keys the buyer was or may have been sent are never returned.',
			},
			{
				displayName: 'Include Keys in Output',
				name: 'includeKeys',
				type: 'boolean',
				default: false,
				description:
					'Whether to output the revoked keys in plain text (e.g. to deactivate them at the vendor). Off: masked like ABCD…WXYZ. On: plain keys are stored in n8n execution data.',
			},
		],
	};

	methods = {
		credentialTest: { autoDeliveryKeyStoreTest: testKeyStoreCredential },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const out: INodeExecutionData[] = [];
		let store: KeyStore;
		try {
			store = await storeFor(this);
		} catch (error) {
			if (!this.continueOnFail()) throw toNodeError(this.getNode(), error, 0);
			return [items.map((_, i) => ({ json: { error: (error as Error).message }, pairedItem: { item: i } }))];
		}
		const actor = actorOf(this);

		for (let i = 0; i < items.length; i++) {
			try {
				const results = await store.revoke({
					orderId: this.getNodeParameter('orderId', i) as string,
					shop: this.getNodeParameter('shop', i, '') as string,
					sku: this.getNodeParameter('sku', i, '') as string,
					reason: this.getNodeParameter('reason', i, '') as string,
					returnUnsent: this.getNodeParameter('returnUnsent', i, false) as boolean,
					reveal: this.getNodeParameter('includeKeys', i, false) as boolean,
					actor,
				});
				for (const r of results) out.push({ json: revokeItem(r), pairedItem: { item: i } });
			} catch (error) {
				const nodeError = toNodeError(this.getNode(), error, i);
				if (this.continueOnFail()) {
					out.push({ json: { error: nodeError.message }, pairedItem: { item: i } });
					continue;
				}
				throw nodeError;
			}
		}
		return [out];
	}
}

/** One order line: what was revoked, keys as display strings (masked unless revealed). */
function revokeItem(r: RevokeResult): IDataObject {
	return {
		orderId: r.orderId,
		shop: r.shop,
		sku: r.sku,
		deliveryId: r.deliveryId,
		tombstone: r.tombstone,
		alreadyRevoked: r.alreadyRevoked,
		previousStatus: r.previousStatus,
		buyerSaw: r.buyerSaw,
		reason: r.reason,
		quantity: r.quantity,
		keys: r.keys.map((k) => k.key ?? k.masked),
		keyIds: r.keys.map((k) => k.id),
		keysMasked: r.keys.some((k) => k.key === undefined),
		revokedKeyIds: r.revokedKeyIds,
		returnedKeyIds: r.returnedKeyIds,
		returnedToStock: r.returnedKeyIds.length,
		buyer: r.buyer,
	};
}
