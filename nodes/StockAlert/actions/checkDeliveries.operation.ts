import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { stuckDeliveries } from '../../core/alerts';
import { limitProperty } from '../../shared/descriptions';
import type { Emit, StoreSetup } from '../../shared/runner';

export const description: INodeProperties[] = [
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
		displayName: 'Waiting After (Minutes)',
		name: 'waitingMinutes',
		type: 'number',
		typeOptions: { minValue: 0, numberPrecision: 0 },
		default: 15,
		description: 'Report order lines that could not be delivered at once (out of stock, held for review, the content API failing, the message failing) and still wait after this long. 0 turns this check off.',
		displayOptions: { show: { operation: ['checkDeliveries'] } },
	},
	limitProperty({
		description: 'Max number of results to return for each of the three checks (oldest first)',
		displayOptions: { show: { operation: ['checkDeliveries'] } },
	}),
];

export async function execute(this: IExecuteFunctions, i: number, { store }: StoreSetup, emit: Emit): Promise<void> {
	const minutes = (name: string, dflt: number) => {
		const v = Number(this.getNodeParameter(name, i, dflt));
		return v === 0 ? null : v;
	};
	const limit = this.getNodeParameter('limit', i, 50) as number;
	const rows = await stuckDeliveries(store, { notSentMinutes: minutes('notSentMinutes', 15), notShippedMinutes: minutes('notShippedMinutes', 60), waitingMinutes: minutes('waitingMinutes', 15), limit });
	for (const row of rows) emit(0, row as unknown as IDataObject);
}
