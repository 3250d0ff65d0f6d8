import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { listBlocklist, type BlockKind } from '../../core/risk';
import { limitProperty } from '../../shared/descriptions';
import type { Emit, StoreSetup } from '../../shared/runner';
import { kindProperty } from './common.descriptions';

const listOnly = { show: { operation: ['listBlocklist'] } };

export const description: INodeProperties[] = [kindProperty('kindFilter', listOnly, true), limitProperty({ displayOptions: listOnly })];

export async function execute(this: IExecuteFunctions, i: number, { store }: StoreSetup, emit: Emit): Promise<void> {
	const kind = this.getNodeParameter('kindFilter', i, 'all') as string;
	const entries = await listBlocklist(store, { kind: kind === 'all' ? null : (kind as BlockKind), limit: this.getNodeParameter('limit', i, 50) as number });
	for (const e of entries) emit(0, e as unknown as IDataObject);
}
