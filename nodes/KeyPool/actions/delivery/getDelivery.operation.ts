import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { deliveryDetails } from '../../../core/delivery';
import type { Emit, StoreSetup } from '../../../shared/runner';

export const description: INodeProperties[] = [
	{
		displayName: 'Order ID',
		name: 'orderId',
		type: 'string',
		default: '',
		required: true,
		displayOptions: { show: { operation: ['getDelivery'] } },
	},
	{
		displayName: 'Shop',
		name: 'deliveryShop',
		type: 'string',
		default: '',
		description: 'The shop the order belongs to. An order is identified by Shop + Order ID + SKU, so two shops may use the same order ID. Empty: the default shop.',
		displayOptions: { show: { operation: ['getDelivery'] } },
	},
	{
		displayName: 'SKU',
		name: 'deliverySku',
		type: 'string',
		default: '',
		placeholder: 'All lines of the order',
		displayOptions: { show: { operation: ['getDelivery'] } },
	},
	{
		displayName: 'Include Keys in Output',
		name: 'includeKeys',
		type: 'boolean',
		default: false,
		description: 'Whether to output the keys in plain text. Off: masked like ABCD…WXYZ. Plain keys end up in n8n execution data.',
		displayOptions: { show: { operation: ['getDelivery'] } },
	},
];

export async function execute(this: IExecuteFunctions, i: number, { store }: StoreSetup, emit: Emit): Promise<void> {
	const ref = {
		orderId: this.getNodeParameter('orderId', i) as string,
		shop: this.getNodeParameter('deliveryShop', i, '') as string,
		sku: (this.getNodeParameter('deliverySku', i) as string) || null,
	};
	const deliveries = await store.getDeliveries({ ...ref, reveal: this.getNodeParameter('includeKeys', i) as boolean });
	// None: findDelivery says so, naming the shops that do have this order ID.
	if (deliveries.length === 0) await store.findDelivery(ref);
	for (const d of deliveries) emit(0, deliveryDetails(d) as unknown as IDataObject);
}
