import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { checkStock, stuckDeliveries } from '../core/alerts';
import { actorOf, storeFor, testKeyStoreCredential } from '../shared/store';
import { toNodeError } from '../shared/errors';

export class StockAlert implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Stock Alert',
		name: 'stockAlert',
		icon: { light: 'file:stockAlert.svg', dark: 'file:stockAlert.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"]}}',
		description: 'Warn when card keys run low or out (once per crossing) and find deliveries stuck between claim, send and ship (库存预警)',
		defaults: { name: 'Stock Alert' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'autoDeliveryKeyStore', required: true, testedBy: 'autoDeliveryKeyStoreTest' }],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Check Stock', value: 'checkStock', description: 'One item per SKU that just ran low or out', action: 'Check stock' },
					{ name: 'Check Deliveries', value: 'checkDeliveries', description: 'One item per delivery claimed but not sent, or sent but not shipped, for too long', action: 'Check deliveries' },
				],
				default: 'checkStock',
			},
			{
				displayName: 'This node runs once per execution (a Schedule Trigger gives one item); its output items are paired to the first input item',
				name: 'onceNotice',
				type: 'notice',
				default: '',
			},
			// ---------------------------------------------------------------- check stock
			{
				displayName: 'Default Low-Stock Threshold',
				name: 'defaultThreshold',
				type: 'number',
				typeOptions: { minValue: 0, numberPrecision: 0 },
				default: 10,
				description: 'A SKU is low at this many available keys or fewer, unless its product has its own threshold (Key Pool → Upsert Product)',
				displayOptions: { show: { operation: ['checkStock'] } },
			},
			{
				displayName: 'SKUs',
				name: 'skus',
				type: 'string',
				default: '',
				placeholder: 'STEAM-50, STEAM-100',
				description: 'Only these SKUs (comma-separated); empty for every SKU. Fixed-content products never run out and are skipped.',
				displayOptions: { show: { operation: ['checkStock'] } },
			},
			{
				displayName: 'Report Every SKU',
				name: 'reportAll',
				type: 'boolean',
				default: false,
				description: 'Whether to output every SKU on every run (a stock report), not only those that just crossed into low or empty. Items that crossed still have alert: true.',
				displayOptions: { show: { operation: ['checkStock'] } },
			},
			// ---------------------------------------------------------------- check deliveries
			{
				displayName: 'Not Sent After (Minutes)',
				name: 'notSentMinutes',
				type: 'number',
				typeOptions: { minValue: 0, numberPrecision: 0 },
				default: 15,
				description: 'Report deliveries claimed this long ago and still not sent to the buyer. 0 turns this check off.',
				displayOptions: { show: { operation: ['checkDeliveries'] } },
			},
			{
				displayName: 'Not Shipped After (Minutes)',
				name: 'notShippedMinutes',
				type: 'number',
				typeOptions: { minValue: 0, numberPrecision: 0 },
				default: 60,
				description: 'Report deliveries sent this long ago and still not marked shipped on the shop. 0 turns this check off.',
				displayOptions: { show: { operation: ['checkDeliveries'] } },
			},
			{
				displayName: 'Limit',
				name: 'limit',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 50,
				description: 'Max number of results to return for each of the two checks (oldest first)',
				displayOptions: { show: { operation: ['checkDeliveries'] } },
			},
		],
	};

	methods = {
		credentialTest: { autoDeliveryKeyStoreTest: testKeyStoreCredential },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		// Once per execution, whatever the number of input items: a schedule gives one.
		const operation = this.getNodeParameter('operation', 0) as string;
		const paired = { item: 0 };
		try {
			const store = await storeFor(this);
			let rows: object[];
			if (operation === 'checkStock') {
				const skus = String(this.getNodeParameter('skus', 0, '') ?? '')
					.split(/[,\n]/)
					.map((s) => s.trim())
					.filter(Boolean);
				rows = await checkStock(store, {
					defaultThreshold: this.getNodeParameter('defaultThreshold', 0, 10) as number,
					skus: skus.length ? skus : null,
					reportAll: this.getNodeParameter('reportAll', 0, false) as boolean,
					actor: actorOf(this),
				});
			} else if (operation === 'checkDeliveries') {
				const minutes = (name: string, dflt: number) => {
					const v = Number(this.getNodeParameter(name, 0, dflt));
					return v === 0 ? null : v;
				};
				const limit = this.getNodeParameter('limit', 0, 50) as number;
				rows = await stuckDeliveries(store, { notSentMinutes: minutes('notSentMinutes', 15), notShippedMinutes: minutes('notShippedMinutes', 60), limit });
			} else {
				throw new Error(`Unknown operation "${operation}"`);
			}
			return [rows.map((json) => ({ json: json as IDataObject, pairedItem: paired }))];
		} catch (error) {
			const nodeError = toNodeError(this.getNode(), error, 0);
			if (this.continueOnFail()) return [[{ json: { error: nodeError.message, operation }, pairedItem: paired }]];
			throw nodeError;
		}
	}
}
