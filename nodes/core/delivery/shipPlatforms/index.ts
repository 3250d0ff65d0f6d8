/**
 * Mark Shipped's platform presets: WooCommerce (order → completed, optional order note), Shopify
 * (fulfillmentCreate on the order's open fulfillment orders), and Stripe, Lemon Squeezy, Paddle
 * Billing (no fulfil call: recorded only), Taobao / Tmall (logistics.dummy.send, once per trade), 闲鱼 / 闲管家 (订单物流发货 or 无需物流发货) and 有赞
 * (logistics.online.confirm, no express), once per order. Pure request builders and answer readers per platform,
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
	type GoofishTarget,
	type YouzanTarget,
	type WooCommerceTarget,
} from './types';
export * from './woocommerce';
export * from './shopify';
export * from './taobao';
export * from './goofish';
export * from './youzan';
export { CallSequence, platformSecrets, runPlatformShip, type PlatformShipDone, type PlatformShipRequest } from './run';
export * from './ship';
export * from './connection';
