import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { deliveryDetails } from '../../../core/delivery';
import { includeKeysProperty, orderIdProperty, shopProperty, skuProperty } from '../../../shared/descriptions';
import { withDeliveryLink, type Emit, type StoreSetup } from '../../../shared/runner';
import { includeKeys } from '../../../shared/tool';

const getDelivery = { show: { operation: ['getDelivery'] } };

/** The order is typed in (no item defaults); Shop and SKU have names of their own, as saved workflows have them. */
export const description: INodeProperties[] = [
	orderIdProperty({ default: '', displayOptions: getDelivery }),
	shopProperty({ name: 'deliveryShop', default: '', displayOptions: getDelivery }),
	skuProperty({ name: 'deliverySku', default: '', placeholder: 'All lines of the order', displayOptions: getDelivery }),
	includeKeysProperty('Whether to output the keys in plain text. Off: masked like ABCD…WXYZ. Plain keys end up in n8n execution data.', { displayOptions: getDelivery }),
];

export async function execute(this: IExecuteFunctions, i: number, setup: StoreSetup, emit: Emit): Promise<void> {
	const { store } = setup;
	const ref = {
		orderId: this.getNodeParameter('orderId', i) as string,
		shop: this.getNodeParameter('deliveryShop', i, '') as string,
		sku: (this.getNodeParameter('deliverySku', i) as string) || null,
	};
	const deliveries = await store.getDeliveries({ ...ref, reveal: includeKeys(this, i) });
	// None: findDelivery says so, naming the shops that do have this order ID.
	if (deliveries.length === 0) await store.findDelivery(ref);
	for (const d of deliveries) emit(0, withDeliveryLink(setup, deliveryDetails(d) as { orderId: string; shop: string | null }) as unknown as IDataObject);
}
