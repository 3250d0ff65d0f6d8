import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { addToBlocklist, type BlockKind } from '../../core/risk';
import { reasonProperty } from '../../shared/descriptions';
import type { Emit, StoreSetup } from '../../shared/runner';

/** Shown with the type and value (common.descriptions.ts) above them. */
export const description: INodeProperties[] = [
	reasonProperty({ description: 'Why (shown in the risk reasons of matching orders)', displayOptions: { show: { operation: ['addToBlocklist'] } } }),
];

export async function execute(this: IExecuteFunctions, i: number, { store, actor }: StoreSetup, emit: Emit): Promise<void> {
	const e = await addToBlocklist(store, {
		kind: this.getNodeParameter('kind', i) as BlockKind,
		value: this.getNodeParameter('value', i) as string,
		reason: this.getNodeParameter('reason', i, '') as string,
		actor,
	});
	emit(0, e as unknown as IDataObject);
}
