/**
 * Mark Shipped with a platform preset (WooCommerce, Shopify, Stripe, Lemon Squeezy, Paddle, Taobao, 闲管家, 有赞): the
 * parameters of item `i` read into the core's input; the core (delivery/shipPlatforms) does the rest.
 */
import type { ICredentialDataDecryptedObject, IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { CALLING_PLATFORMS, shipPlatform, type GoofishShipCall, type PlatformShipInput, type WooNoteMode } from '../core/delivery';
import type { TaobaoSkuFrom } from '../core/taobao';
import type { StoreSetup } from '../shared/runner';
import { SHOP_API_CREDENTIAL, platformTargetFromCredentials } from '../shared/shopApi';

/** The store, opened once per execution; the shop credential is read when an item first calls the shop. */
export interface ShipSetup extends StoreSetup {
	shopCredentials?: ICredentialDataDecryptedObject;
}

export async function platformInputFor(ctx: IExecuteFunctions, i: number, setup: ShipSetup, deliveryId: number, requireSent: boolean, platformName: string): Promise<PlatformShipInput> {
	const platform = shipPlatform(platformName);
	const options = ctx.getNodeParameter('options', i, {}) as IDataObject;
	const input: PlatformShipInput = {
		deliveryId,
		platform,
		requireSent,
		actor: setup.actor,
		timeoutMs: options.timeoutMs as number | undefined,
		retries: options.retries as number | undefined,
		backoffMs: options.backoffMs as number | undefined,
	};
	if ((CALLING_PLATFORMS as readonly string[]).includes(platform)) {
		setup.shopCredentials ??= await ctx.getCredentials<ICredentialDataDecryptedObject>(SHOP_API_CREDENTIAL);
		input.target = platformTargetFromCredentials(setup.shopCredentials, platform);
	}
	if (platform === 'woocommerce') input.wooNote = ctx.getNodeParameter('wooNote', i, 'none') as WooNoteMode;
	if (platform === 'shopify') input.notifyCustomer = ctx.getNodeParameter('notifyCustomer', i, false) as boolean;
	if (platform === 'taobao') {
		input.taobaoIdentCode = ctx.getNodeParameter('taobaoIdentCode', i, false) as boolean;
		if (input.taobaoIdentCode) input.taobaoSkuFrom = ctx.getNodeParameter('taobaoSkuFrom', i, 'outer_sku_id') as TaobaoSkuFrom;
	}
	if (platform === 'goofish') {
		const call = ctx.getNodeParameter('goofishShipCall', i, 'order_ship') as GoofishShipCall;
		input.goofishShip =
			call === 'dummy_send'
				? { call, sendWay: ctx.getNodeParameter('goofishSendWay', i, 1) as number }
				: {
						call,
						expressCode: ctx.getNodeParameter('goofishExpressCode', i, 'qita') as string,
						expressName: ctx.getNodeParameter('goofishExpressName', i, '其他') as string,
						waybillNo: ctx.getNodeParameter('goofishWaybillNo', i, '') as string,
					};
	}
	return input;
}
