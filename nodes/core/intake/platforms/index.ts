/**
 * The platform registry (issue: real shops connect with no code): every Platform of this folder,
 * in the order of Shop Webhook's Platform dropdown, and the shop an order of a preset belongs to.
 *
 * `canonical` (the default) and `generic` read the shop's own JSON with Field Mapping / Event
 * Mapping and keep the order's own `shop`; every other platform is a preset: its payload is
 * classified by the platform file and its orders belong to the shop `<platform>:<Shop Name>`
 * (`woocommerce:mystore`), so two stores — or two platforms — sharing one key pool never share
 * an order id.
 */
import { canonical } from './canonical';
import { generic } from './generic';
import { goofish } from './goofish';
import { lemonSqueezy } from './lemonsqueezy';
import { paddle } from './paddle';
import { shopify } from './shopify';
import { stripe } from './stripe';
import type { Platform, PlatformId } from './types';
import { woocommerce } from './woocommerce';
import { youzan } from './youzan';

export * from './types';
export { canonical, classifyCanonical } from './canonical';
export { generic, SIGNED_TEXTS } from './generic';
export { woocommerce } from './woocommerce';
export { shopify } from './shopify';
export { stripe } from './stripe';
export { lemonSqueezy } from './lemonsqueezy';
export { paddle } from './paddle';
export { goofish, goofishOptions } from './goofish';
export { youzan, youzanOptions, decodeYouzanMsg } from './youzan';
export { DIGEST_ENCODINGS, HMAC_ALGORITHMS, type DigestEncoding, type HmacAlgorithm } from './hmac';

/** Every platform, in the order Shop Webhook lists them (the default first). */
export const PLATFORMS: readonly Platform[] = [canonical, woocommerce, shopify, stripe, lemonSqueezy, paddle, goofish, youzan, generic];

/** The platform with this id, or undefined. */
export function platformFor(id: string): Platform | undefined {
	return PLATFORMS.find((p) => p.id === id);
}

/** Platforms that read the shop's own JSON with Field Mapping / Event Mapping (and keep the order's `shop`). */
const MAPPED: readonly PlatformId[] = ['canonical', 'generic'];

/** A preset: the platform file classifies the payload and the shop is `<platform>:<Shop Name>`. */
export function isPreset(platform: Platform | PlatformId): boolean {
	return !MAPPED.includes(typeof platform === 'string' ? platform : platform.id);
}

/**
 * The shop of an order received through `platform`: `<id>:<shopName>` for a preset
 * (`woocommerce:mystore`), null for canonical / generic (the order's own `shop` stays).
 */
export function shopFor(platform: Platform | PlatformId, shopName: string): string | null {
	const id = typeof platform === 'string' ? platform : platform.id;
	return isPreset(id) ? `${id}:${shopName.trim()}` : null;
}
