/** Send or Resend for one input item: find its deliveries, then notify the buyer of each. */
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { findTargets, notifyDelivery, prepareChannel } from '../../core/delivery';
import { toNodeError } from '../../shared/errors';
import { itemParam } from '../../shared/params';
import { includeKeys } from '../../shared/tool';
import type { Emit } from '../../shared/runner';
import { channelFor } from './channel';
import type { NotifySetup } from './interfaces';
import { failedItem, itemFor } from './items';

export async function notifyItem(ctx: IExecuteFunctions, i: number, setup: NotifySetup, emit: Emit, op: { resend: boolean }): Promise<void> {
	const input = ctx.getInputData()[i].json;
	const findBy = ctx.getNodeParameter('findBy', i) as string;
	const kind = ctx.getNodeParameter('channel', i) as 'email' | 'webhook';
	const options = ctx.getNodeParameter('options', i, {}) as IDataObject;
	const channel = await channelFor(ctx, i, kind, options, setup);
	prepareChannel(channel); // bad settings fail before the store is asked anything
	const timeZone = (options.timeZone as string) || null;
	const reveal = includeKeys(ctx, i);
	const targets = await findTargets(
		setup.store,
		findBy === 'order'
			? { orderId: itemParam(ctx, 'orderId', i) as string, shop: itemParam(ctx, 'shop', i, '') as string, sku: itemParam(ctx, 'sku', i, '') as string }
			: { deliveryId: itemParam(ctx, 'deliveryId', i) as string },
	);

	const buyer = input.buyer && typeof input.buyer === 'object' ? (input.buyer as IDataObject) : null;
	for (const deliveryId of targets) {
		try {
			const result = await notifyDelivery(setup.store, {
				deliveryId,
				resend: op.resend,
				channel,
				timeZone,
				buyerNameFallback: typeof buyer?.name === 'string' ? buyer.name : null,
				reveal,
				actor: setup.actor,
				links: setup.links,
			});
			emit(0, itemFor(input, result));
		} catch (error) {
			// One input item may stand for several deliveries (a whole order): under On Error → Continue
			// a failed one becomes its own item and the next ones are still sent.
			const nodeError = toNodeError(ctx.getNode(), error, i);
			if (!ctx.continueOnFail()) throw nodeError;
			emit(0, failedItem(input, nodeError.message, error, deliveryId));
		}
	}
}
