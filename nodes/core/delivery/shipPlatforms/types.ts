/**
 * Mark Shipped's platform presets: which platforms there are, what each one needs from the
 * Auto Delivery Shop API credential, and the error a platform's answer raises when it cannot be
 * read. WooCommerce and Shopify have a fulfil call; Stripe, Lemon Squeezy and Paddle Billing do not
 * (a paid order there needs no shipping step), so their presets only record the shipment. Taobao /
 * Tmall sends the trade with logistics.dummy.send (taobao.ts); 闲管家 and 有赞 ship without a carrier
 * (cnShip.ts).
 */
import { ValidationError } from '../../errors';
import type { GoofishTarget as GoofishApiTarget } from '../../goofish';
import type { TopTarget } from '../../taobao';
import type { YouzanTarget as YouzanApiTarget } from '../../youzan';

export const SHIP_PLATFORMS = ['woocommerce', 'shopify', 'stripe', 'lemonsqueezy', 'paddle', 'taobao', 'goofish', 'youzan'] as const;
export type ShipPlatformId = (typeof SHIP_PLATFORMS)[number];

/** Platforms whose preset calls the shop; the others record only. */
export const CALLING_PLATFORMS = ['woocommerce', 'shopify', 'taobao', 'goofish', 'youzan'] as const;

export const PLATFORM_LABELS: Record<ShipPlatformId, string> = {
	woocommerce: 'WooCommerce',
	shopify: 'Shopify',
	stripe: 'Stripe',
	lemonsqueezy: 'Lemon Squeezy',
	paddle: 'Paddle Billing',
	taobao: 'Taobao / Tmall',
	goofish: '闲鱼 / 闲管家',
	youzan: '有赞 Youzan',
};

/** A WordPress + WooCommerce store (REST API v3, consumer key and secret). */
export interface WooCommerceTarget {
	platform: 'woocommerce';
	/** Root of the WordPress site, e.g. https://shop.example.com (a sub-folder install keeps its folder). */
	storeUrl: string;
	consumerKey: string;
	consumerSecret: string;
	/** Accept a plain http:// Store URL (testing only: the keys travel unencrypted). */
	allowHttp?: boolean;
	/** Accept a self-signed or otherwise invalid certificate. */
	ignoreSsl?: boolean;
}

/** A Shopify store (GraphQL Admin API) with an Admin API access token or a Dev Dashboard app's client credentials. */
export interface ShopifyTarget {
	platform: 'shopify';
	/** `mystore`, `mystore.myshopify.com` or its https URL. */
	shop: string;
	/** `YYYY-MM` (a stable version) or `unstable`. */
	apiVersion?: string;
	/** Admin API access token (`shpat_…`) of an app created in the Shopify admin. */
	accessToken?: string;
	/** Client ID and secret of a Dev Dashboard app installed on the store (client credentials grant). */
	clientId?: string;
	clientSecret?: string;
	/** Replaces `https://<shop>.myshopify.com` (a local test double). */
	adminUrl?: string;
}

export interface StripeTarget {
	platform: 'stripe';
	/** Secret key (`sk_live_…`, `sk_test_…`) or restricted key (`rk_…`). */
	secretKey: string;
	/** Replaces https://api.stripe.com (a local test double). */
	apiUrl?: string;
}

export interface PaddleTarget {
	platform: 'paddle';
	apiKey: string;
	/** https://sandbox-api.paddle.com instead of https://api.paddle.com. */
	sandbox?: boolean;
	/** Replaces the Paddle API URL (a local test double). */
	apiUrl?: string;
}

/** A Taobao / Tmall shop through the TOP router: the app (key, secret, sign method) and the seller's Session Key. */
export interface TaobaoTarget extends TopTarget {
	platform: 'taobao';
}

/** A 闲鱼 shop through 闲管家: the app's App Key / App Secret (and the merchant variant's mch_id / mch_secret). */
export interface GoofishTarget extends GoofishApiTarget {
	platform: 'goofish';
}

/** A 有赞 shop: its access token (and the app's client id / secret, scrubbed from errors). */
export interface YouzanTarget extends YouzanApiTarget {
	platform: 'youzan';
}

export type PlatformTarget = WooCommerceTarget | ShopifyTarget | StripeTarget | PaddleTarget | TaobaoTarget | GoofishTarget | YouzanTarget;

/** Timeout, retries and backoff of each call (checked by callOptions). */
export interface PlatformCall {
	timeoutMs: number;
	retries: number;
	backoffMs: number;
}

/** A 2xx answer that does not say what the platform's documentation says it should (or says no). */
export class PlatformAnswerError extends Error {
	constructor(
		message: string,
		readonly code: string,
	) {
		super(message);
		this.name = 'PlatformAnswerError';
	}
}

export function isShipPlatform(value: unknown): value is ShipPlatformId {
	return typeof value === 'string' && (SHIP_PLATFORMS as readonly string[]).includes(value);
}

export function shipPlatform(value: unknown): ShipPlatformId {
	if (!isShipPlatform(value)) {
		throw new ValidationError('platform', `Platform must be one of ${SHIP_PLATFORMS.join(', ')} (got "${String(value)}").`);
	}
	return value;
}

/** Text of a credential field, trimmed ('' when absent). */
export const text = (value: unknown): string => (typeof value === 'string' ? value.trim() : value === undefined || value === null ? '' : String(value).trim());

/** An http(s) URL without query, fragment or trailing slash; `field` names the credential field in the error. */
export function baseUrl(value: string, field: string, label: string): URL {
	let url: URL;
	try {
		url = new URL(value);
	} catch {
		throw new ValidationError(field, `${label} "${value}" is not a URL, e.g. https://shop.example.com.`);
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValidationError(field, `${label} "${value}" is not an http(s) URL.`);
	if (url.username || url.password) throw new ValidationError(field, `${label} must not contain a user name or password; use the key fields of the credential.`);
	url.search = '';
	url.hash = '';
	url.pathname = url.pathname.replace(/\/+$/, '');
	return url;
}

/** `url` as text without a trailing slash. */
export const urlText = (url: URL): string => url.toString().replace(/\/+$/, '');
