/**
 * Mark Shipped with a platform preset (WooCommerce, Shopify, Stripe, Lemon Squeezy, Paddle, Taobao): the
 * parameters of item `i` read into the core's input; the core (delivery/shipPlatforms) does the rest.
 */
import type { ICredentialDataDecryptedObject, IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { shipPlatform, type PlatformShipInput, type WooNoteMode } from '../core/delivery';
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
	if (platform === 'woocommerce' || platform === 'shopify' || platform === 'taobao') {
		setup.shopCredentials ??= await ctx.getCredentials<ICredentialDataDecryptedObject>(SHOP_API_CREDENTIAL);
		input.target = platformTargetFromCredentials(setup.shopCredentials, platform);
	}
	if (platform === 'woocommerce') input.wooNote = ctx.getNodeParameter('wooNote', i, 'none') as WooNoteMode;
	if (platform === 'shopify') input.notifyCustomer = ctx.getNodeParameter('notifyCustomer', i, false) as boolean;
	if (platform === 'taobao') {
		input.taobaoIdentCode = ctx.getNodeParameter('taobaoIdentCode', i, false) as boolean;
		if (input.taobaoIdentCode) input.taobaoSkuFrom = ctx.getNodeParameter('taobaoSkuFrom', i, 'outer_sku_id') as TaobaoSkuFrom;
	}
	return input;
}
