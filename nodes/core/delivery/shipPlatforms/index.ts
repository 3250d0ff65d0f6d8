/**
 * Mark Shipped's platform presets: WooCommerce (order → completed, optional order note), Shopify
 * (fulfillmentCreate on the order's open fulfillment orders), and Stripe, Lemon Squeezy, Paddle
 * Billing (no fulfil call: recorded only), Taobao / Tmall (logistics.dummy.send, once per trade). Pure request builders and answer readers per platform,
 * the call sequence (run.ts), the use case with the lease (ship.ts) and the credential test
 * (connection.ts).
 */
export {
	CALLING_PLATFORMS,
	PLATFORM_LABELS,
	PlatformAnswerError,
	SHIP_PLATFORMS,
	isShipPlatform,
	shipPlatform,
	type PaddleTarget,
	type PlatformCall,
	type PlatformTarget,
	type ShipPlatformId,
	type ShopifyTarget,
	type StripeTarget,
	type TaobaoTarget,
	type WooCommerceTarget,
} from './types';
export * from './woocommerce';
export * from './shopify';
export * from './taobao';
export { CallSequence, platformSecrets, runPlatformShip, type PlatformShipDone, type PlatformShipRequest } from './run';
export * from './ship';
export * from './connection';
