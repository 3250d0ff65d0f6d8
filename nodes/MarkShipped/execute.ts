/**
 * Mark Shipped's execute: the one item runner; each item is shipped (output Shipped) or not (output
 * Not Sent, with the reason), and under On Error → Continue a failure goes to Not Sent too. The
 * Custom HTTP API platform runs the templated request (delivery/ship.ts); a preset runs
 * delivery/shipPlatforms (platform.ts reads its parameters).
 */
import { NodeOperationError, type ICredentialDataDecryptedObject, type IDataObject, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import { DEFAULT_REFERENCE_FIELD, ShipError, platformShipItem, shipDelivery, shipItem, shipViaPlatform, type ShipInput, type ShipItem, type ShipOutcome } from '../core/delivery';
import { itemParam } from '../shared/params';
import { openStore, ownMessage, runItems, type Failed } from '../shared/runner';
import { SHOP_API_CREDENTIAL, shopTargetFromCredentials } from '../shared/shopApi';
import { platformInputFor, type ShipSetup } from './platform';

const SHIPPED = 0;
const NOT_SENT = 1;

export async function shipItems(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const failed: Failed = (i, message, error) => ({ output: NOT_SENT, json: failedItem(items[i].json, message, error) });
	return await runItems<ShipSetup>(this, { outputs: 2, setup: () => openStore(this), failed, setupFailed: ownMessage(failed) }, async (i, setup, emit) => {
		const { outcome, item, requireSent } = await shipOne(this, i, setup);
		const json = { ...items[i].json, ...item } as IDataObject;
		// Shipped — or waiting, as the seller chose, for the buyer to open the delivery page (not a failure).
		if (outcome.outcome === 'shipped' || outcome.outcome === 'not_viewed') {
			emit(SHIPPED, json);
			return;
		}
		if (outcome.outcome === 'not_sent' && requireSent && this.getNodeParameter('whenNotSent', i, 'route') === 'error') {
			throw new NodeOperationError(this.getNode(), outcome.message, {
				itemIndex: i,
				description: 'Nothing was called and nothing was changed. Connect Notify Buyer before Mark Shipped, or route not-sent deliveries to the Not Sent output.',
			});
		}
		emit(NOT_SENT, json);
	});
}

/** Item `i` shipped the Custom HTTP API way (or Record Only), or with a platform preset. */
async function shipOne(ctx: IExecuteFunctions, i: number, setup: ShipSetup): Promise<{ outcome: ShipOutcome; item: ShipItem; requireSent: boolean }> {
	const delivery =
		ctx.getNodeParameter('lookup', i) === 'order'
			? await setup.store.findDelivery({ orderId: itemParam(ctx, 'orderId', i) as string, shop: itemParam(ctx, 'shop', i, '') as string, sku: (itemParam(ctx, 'sku', i, '') as string) || null })
			: await setup.store.findDelivery({ deliveryId: itemParam(ctx, 'deliveryId', i) as string });
	const requireSent = ctx.getNodeParameter('requireSent', i) as boolean;
	const requireViewed = requireSent && ctx.getNodeParameter('waitForView', i, false) === true;
	const mode = ctx.getNodeParameter('mode', i) as string;
	const platform = mode === 'callApi' ? (ctx.getNodeParameter('platform', i, 'custom') as string) : 'custom';
	if (platform !== 'custom') {
		const outcome = await shipViaPlatform(setup.store, { ...(await platformInputFor(ctx, i, setup, delivery.id, requireSent, platform)), requireViewed });
		return { outcome, item: platformShipItem(outcome), requireSent };
	}
	const outcome = await shipDelivery(setup.store, { ...(await shipInputFor(ctx, i, setup, delivery.id, requireSent, mode)), requireViewed });
	return { outcome, item: shipItem(outcome), requireSent };
}

/** What to do with the delivery: call the shop (with the request) or record only. */
async function shipInputFor(ctx: IExecuteFunctions, i: number, setup: ShipSetup, deliveryId: number, requireSent: boolean, mode: string): Promise<ShipInput> {
	const input: ShipInput = { deliveryId, requireSent, actor: setup.actor };
	if (mode === 'recordOnly') {
		input.recordOnly = true;
		input.shopReference = (ctx.getNodeParameter('shopReference', i, '') as string) || null;
		return input;
	}
	setup.shopCredentials ??= await ctx.getCredentials<ICredentialDataDecryptedObject>(SHOP_API_CREDENTIAL);
	const options = ctx.getNodeParameter('options', i, {}) as IDataObject;
	const method = ctx.getNodeParameter('method', i) as string;
	let body: unknown = method === 'GET' ? '' : ctx.getNodeParameter('body', i, '');
	if (body !== null && typeof body === 'object') body = JSON.stringify(body);
	input.shop = shopTargetFromCredentials(setup.shopCredentials);
	input.request = {
		method,
		path: ctx.getNodeParameter('path', i) as string,
		body: body as string,
		referenceField: ctx.getNodeParameter('referenceField', i, DEFAULT_REFERENCE_FIELD) as string,
		timeoutMs: options.timeoutMs as number | undefined,
		retries: options.retries as number | undefined,
		backoffMs: options.backoffMs as number | undefined,
	};
	input.timeZone = (options.timeZone as string | undefined) || undefined;
	return input;
}

/** A failed item (Not Sent output): the input with the error, and the HTTP status and attempts of a failed shop call. */
function failedItem(input: IDataObject, message: string, error: unknown): IDataObject {
	const extra: IDataObject = {};
	if (error instanceof ShipError) {
		if (error.status !== null) extra.httpStatus = error.status;
		extra.attempts = error.attempts;
	}
	return { ...input, ship: { shipped: false, reason: 'error', error: message, ...extra }, error: message };
}
