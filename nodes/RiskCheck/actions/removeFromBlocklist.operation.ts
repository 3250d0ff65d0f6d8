import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { removeFromBlocklist, type BlockKind } from '../../core/risk';
import type { Emit, StoreSetup } from '../../shared/runner';

/** Only the type and value (common.descriptions.ts). */
export const description: INodeProperties[] = [];

export async function execute(this: IExecuteFunctions, i: number, { store, actor }: StoreSetup, emit: Emit): Promise<void> {
	const r = await removeFromBlocklist(store, {
		kind: this.getNodeParameter('kind', i) as BlockKind,
		value: this.getNodeParameter('value', i) as string,
		actor,
	});
	emit(0, r as unknown as IDataObject);
}
