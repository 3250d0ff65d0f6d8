/** Send: the content once; a delivery already sent is not sent again (alreadySent). */
import type { IExecuteFunctions, INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import type { Emit } from '../../shared/runner';
import type { NotifySetup } from '../helpers/interfaces';
import { notifyItem } from '../helpers/notify';

export const option: INodePropertyOptions = {
	name: 'Send',
	value: 'send',
	action: 'Send the delivery to the buyer',
	description: 'Send the content once; a delivery already sent is not sent again (alreadySent)',
};

/** No parameters of its own: Send and Resend take the same ones (description.ts). */
export const description: INodeProperties[] = [];

export async function execute(this: IExecuteFunctions, itemIndex: number, setup: NotifySetup, emit: Emit): Promise<void> {
	await notifyItem(this, itemIndex, setup, emit, { resend: false });
}
