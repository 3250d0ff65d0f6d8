import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import type { KeyStore, Strategy } from '../core/store';
import { claimOutput } from '../core/delivery';
import { actorOf, storeFor, testKeyStoreCredential } from '../shared/store';
import { toNodeError } from '../shared/errors';

export class ClaimKey implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Claim Key',
		name: 'claimKey',
		icon: { light: 'file:claimKey.svg', dark: 'file:claimKey.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["quantity"]}} × {{$parameter["sku"]}}',
		description: 'Atomically claim unused keys (卡密) for an order line; the same order always gets the same keys',
		defaults: { name: 'Claim Key' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Delivered', 'Not Delivered'],
		credentials: [{ name: 'autoDeliveryKeyStore', required: true, testedBy: 'autoDeliveryKeyStoreTest' }],
		properties: [
			{
				displayName: 'Order ID',
				name: 'orderId',
				type: 'string',
				default: '={{ $json.orderId }}',
				required: true,
				description: 'The shop order number. Claiming the same shop, order ID and SKU again returns the same keys.',
			},
			{
				displayName: 'Shop',
				name: 'shop',
				type: 'string',
				default: '={{ $json.shop }}',
				description: 'The shop the order belongs to. An order is identified by Shop + Order ID + SKU, so two shops may use the same order ID. Empty: the default shop.',
			},
			{
				displayName: 'SKU',
				name: 'sku',
				type: 'string',
				default: '={{ $json.sku }}',
				required: true,
				description: 'Product code of the order line',
			},
			{
				displayName: 'Quantity',
				name: 'quantity',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 1000, numberPrecision: 0 },
				default: 1,
				description: 'Number of keys for this order line; all or nothing',
			},
			{
				displayName: 'Strategy',
				name: 'strategy',
				type: 'options',
				options: [
					{ name: 'Sequential (Import Order)', value: 'sequential', description: 'Oldest imported keys first' },
					{ name: 'Random', value: 'random', description: 'A random available key' },
				],
				default: 'sequential',
			},
			{
				displayName: 'Include Keys in Output',
				name: 'includeKeys',
				type: 'boolean',
				default: false,
				description:
					'Whether to output the keys in plain text. Off (recommended): keys are masked like ABCD…WXYZ and Notify Buyer decrypts them only when sending. On: plain keys are stored in n8n execution data.',
			},
			{
				displayName: 'Buyer and Order Details',
				name: 'details',
				type: 'collection',
				placeholder: 'Add Detail',
				default: {},
				description: 'Recorded with the delivery (for messages, risk checks and support)',
				options: [
					{ displayName: 'Amount', name: 'amount', type: 'number', typeOptions: { minValue: 0, numberPrecision: 2 }, default: 0 },
					{ displayName: 'Buyer Email', name: 'buyerEmail', type: 'string', placeholder: 'name@email.com', default: '' },
					{ displayName: 'Buyer ID', name: 'buyerId', type: 'string', default: '' },
					{ displayName: 'Buyer IP', name: 'buyerIp', type: 'string', default: '' },
					{ displayName: 'Buyer Name', name: 'buyerName', type: 'string', default: '' },
				],
			},
		],
	};

	methods = {
		credentialTest: { autoDeliveryKeyStoreTest: testKeyStoreCredential },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const delivered: INodeExecutionData[] = [];
		const notDelivered: INodeExecutionData[] = [];
		let store: KeyStore;
		try {
			store = await storeFor(this);
		} catch (error) {
			if (!this.continueOnFail()) throw toNodeError(this.getNode(), error, 0);
			return [[], items.map((_, i) => ({ json: { status: 'not_delivered', reason: 'error', error: (error as Error).message }, pairedItem: { item: i } }))];
		}
		const actor = actorOf(this);

		for (let i = 0; i < items.length; i++) {
			try {
				const details = this.getNodeParameter('details', i, {}) as IDataObject;
				const result = await store.claim({
					orderId: this.getNodeParameter('orderId', i) as string,
					sku: this.getNodeParameter('sku', i) as string,
					quantity: this.getNodeParameter('quantity', i) as number,
					strategy: this.getNodeParameter('strategy', i) as Strategy,
					reveal: this.getNodeParameter('includeKeys', i) as boolean,
					buyer: {
						id: details.buyerId as string | undefined,
						name: details.buyerName as string | undefined,
						email: details.buyerEmail as string | undefined,
						ip: details.buyerIp as string | undefined,
					},
					amount: details.amount as number | undefined,
					// Workflows saved before Shop was a parameter of its own kept it in the details.
					shop: (this.getNodeParameter('shop', i, '') as string) || (details.shop as string | undefined),
					actor,
				});
				const json = claimOutput(result) as unknown as IDataObject;
				(result.delivered ? delivered : notDelivered).push({ json, pairedItem: { item: i } });
			} catch (error) {
				const nodeError = toNodeError(this.getNode(), error, i);
				if (this.continueOnFail()) {
					// Never on "Delivered": a failed claim must not reach Notify Buyer.
					notDelivered.push({ json: { status: 'not_delivered', reason: 'error', error: nodeError.message }, pairedItem: { item: i } });
					continue;
				}
				throw nodeError;
			}
		}
		return [delivered, notDelivered];
	}
}
