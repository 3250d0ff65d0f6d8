/** Resend: an existing delivery again, e.g. when the buyer says nothing arrived. */
import type { IExecuteFunctions, INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import type { Emit } from '../../shared/runner';
import type { NotifySetup } from '../helpers/interfaces';
import { notifyItem } from '../helpers/notify';

export const option: INodePropertyOptions = {
	name: 'Resend',
	value: 'resend',
	action: 'Resend a delivery to the buyer',
	description: 'Send an existing delivery again, e.g. when the buyer says nothing arrived',
};

/** No parameters of its own: Send and Resend take the same ones (description.ts). */
export const description: INodeProperties[] = [];

export async function execute(this: IExecuteFunctions, itemIndex: number, setup: NotifySetup, emit: Emit): Promise<void> {
	await notifyItem(this, itemIndex, setup, emit, { resend: true });
}
