/**
 * n8n glue for the Auto Delivery Shop API credential: its Platform (Custom HTTP API by default — a
 * credential saved before platforms existed has none and stays Custom), the base URL + auth headers
 * of a custom shop API, the fields of the platform presets, and the credential test.
 */
import type {
	ICredentialDataDecryptedObject,
	ICredentialTestFunctions,
	ICredentialsDecrypted,
	INodeCredentialTestResult,
} from 'n8n-workflow';

import { ValidationError } from '../core/errors';
import { TOP_SIGN_METHODS, type TopSignMethod } from '../core/taobao';
import { PLATFORM_LABELS, checkPlatformConnection, checkShopConnection, isShipPlatform, type PlatformTarget, type ShipPlatformId, type ShopTarget } from '../core/delivery';

export const SHOP_API_CREDENTIAL = 'autoDeliveryShopApi';

export type ShopAuthType = 'none' | 'bearer' | 'header';

/** The credential's Platform: `custom` (the default, and for credentials saved before platforms existed) or a preset. */
export type ShopPlatform = 'custom' | ShipPlatformId;

export function shopPlatformOf(c: ICredentialDataDecryptedObject): ShopPlatform {
	return isShipPlatform(c.platform) ? c.platform : 'custom';
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

/** Where to call and with which headers. `secrets` are scrubbed from any stored or shown error text. */
export function shopTargetFromCredentials(c: ICredentialDataDecryptedObject): ShopTarget & { authType: ShopAuthType; authConfigured: boolean } {
	const authType = (['bearer', 'header'].includes(String(c.authType)) ? c.authType : 'none') as ShopAuthType;
	const headers: Record<string, string> = {};
	const secrets: string[] = [];
	if (authType === 'bearer') {
		const token = String(c.token ?? '').trim();
		if (token) {
			headers.Authorization = `Bearer ${token}`;
			secrets.push(token);
		}
	} else if (authType === 'header') {
		const name = String(c.headerName ?? '').trim();
		const value = String(c.headerValue ?? '');
		if (name && value) {
			headers[name] = value;
			secrets.push(value);
		}
	}
	// Not sent anywhere by Mark Shipped, but scrubbed too should a shop ever echo it.
	if (typeof c.signingSecret === 'string' && c.signingSecret !== '') secrets.push(c.signingSecret);
	return {
		baseUrl: String(c.baseUrl ?? '').trim(),
		headers,
		ignoreSsl: c.ignoreSslIssues === true,
		secrets,
		authType,
		authConfigured: Object.keys(headers).length > 0,
	};
}

/**
 * The preset target of a credential whose Platform is `platform` (WooCommerce, Shopify, Stripe,
 * Paddle, Taobao); a ValidationError naming the Platform field when the credential is set up for another one.
 */
export function platformTargetFromCredentials(c: ICredentialDataDecryptedObject, platform: ShipPlatformId): PlatformTarget {
	const own = shopPlatformOf(c);
	if (own !== platform) {
		const label = PLATFORM_LABELS[platform];
		const has = own === 'custom' ? 'Custom HTTP API' : PLATFORM_LABELS[own];
		throw new ValidationError('platform', `The Auto Delivery Shop API credential is set up for ${has}, not ${label}: choose ${label} as its Platform and fill in its fields (or pick another credential).`);
	}
	switch (platform) {
		case 'woocommerce':
			return {
				platform,
				storeUrl: str(c.wooStoreUrl),
				consumerKey: str(c.wooConsumerKey),
				consumerSecret: str(c.wooConsumerSecret),
				allowHttp: c.wooAllowHttp === true,
				ignoreSsl: c.ignoreSslIssues === true,
			};
		case 'shopify': {
			const clientCredentials = c.shopifyAuth === 'clientCredentials';
			return {
				platform,
				shop: str(c.shopifyShop),
				apiVersion: str(c.shopifyApiVersion),
				accessToken: clientCredentials ? '' : str(c.shopifyAccessToken),
				clientId: clientCredentials ? str(c.shopifyClientId) : '',
				clientSecret: clientCredentials ? str(c.shopifyClientSecret) : '',
				adminUrl: str(c.shopifyAdminUrl),
			};
		}
		case 'stripe':
			return { platform, secretKey: str(c.stripeSecretKey), apiUrl: str(c.stripeApiUrl) };
		case 'paddle':
			return { platform, apiKey: str(c.paddleApiKey), sandbox: c.paddleSandbox === true, apiUrl: str(c.paddleApiUrl) };
		case 'taobao':
			return {
				platform,
				appKey: str(c.taobaoAppKey),
				appSecret: str(c.taobaoAppSecret),
				session: str(c.taobaoSession),
				signMethod: (TOP_SIGN_METHODS as readonly string[]).includes(str(c.taobaoSignMethod)) ? (str(c.taobaoSignMethod) as TopSignMethod) : 'hmac-sha256',
				routerUrl: str(c.taobaoRouterUrl),
			};
		case 'goofish':
			return {
				platform,
				appKey: str(c.goofishAppKey).trim(),
				appSecret: str(c.goofishAppSecret),
				mchId: str(c.goofishMchId).trim() || null,
				mchSecret: str(c.goofishMchSecret) || null,
				apiUrl: str(c.goofishApiUrl).trim(),
			};
		case 'youzan':
			return { platform, accessToken: str(c.youzanAccessToken).trim(), apiUrl: str(c.youzanApiUrl).trim(), clientId: str(c.youzanClientId).trim(), clientSecret: str(c.youzanClientSecret) };
		case 'lemonsqueezy':
			throw new ValidationError('platform', 'Lemon Squeezy has no API fields in this credential: Mark Shipped records Lemon Squeezy orders without calling anything.');
	}
}

/**
 * The keys Shop Webhook checks a request with: the Webhook Signing Secret, or — for the platforms
 * that sign with their app keys — 闲管家's App Key / App Secret (and merchant secret), 有赞's
 * Client ID / Client Secret.
 */
export function webhookKeysFromCredentials(c: ICredentialDataDecryptedObject, platform: string): { secret: string; appKey?: string; merchantSecret?: string } {
	if (platform === 'goofish') return { secret: str(c.goofishAppSecret), appKey: str(c.goofishAppKey).trim(), merchantSecret: str(c.goofishMchSecret) };
	if (platform === 'youzan') return { secret: str(c.youzanClientSecret), appKey: str(c.youzanClientId).trim() };
	return { secret: typeof c.signingSecret === 'string' ? c.signingSecret : '' };
}

/** The custom shop API: one GET of the base URL with the auth headers (the behaviour before platforms existed). */
async function testCustomShop(data: ICredentialDataDecryptedObject): Promise<INodeCredentialTestResult> {
	const target = shopTargetFromCredentials(data);
	if (target.authType !== 'none' && !target.authConfigured) {
		return {
			status: 'Error',
			message: target.authType === 'bearer' ? 'Authentication is Bearer Token but the Token is empty.' : 'Authentication is Custom Header but the Header Name or Header Value is empty.',
		};
	}
	if (target.baseUrl === '') {
		const signing = typeof data.signingSecret === 'string' && data.signingSecret !== '';
		return signing
			? { status: 'OK', message: 'Webhook signing secret set; no Base URL, so Mark Shipped can only run in Record Only mode.' }
			: { status: 'Error', message: 'Set the Base URL (for Mark Shipped) or the Webhook Signing Secret (for Shop Webhook), or both.' };
	}
	const r = await checkShopConnection(target);
	return { status: r.ok ? 'OK' : 'Error', message: r.message };
}

/** Credential test (`testedBy` on Mark Shipped): the custom API's base URL, or one read-only call to the platform. */
export async function testShopApiCredential(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const data = credential.data ?? {};
	const platform = shopPlatformOf(data);
	if (platform === 'custom') return await testCustomShop(data);
	if (platform === 'lemonsqueezy') {
		return typeof data.signingSecret === 'string' && data.signingSecret !== ''
			? { status: 'OK', message: 'Lemon Squeezy: webhook signing secret set. Its API has no fulfil call, so Mark Shipped records Lemon Squeezy orders without calling anything.' }
			: { status: 'Error', message: 'Set the Webhook Signing Secret (the one entered in Lemon Squeezy > Settings > Webhooks) for Shop Webhook.' };
	}
	const r = await checkPlatformConnection(platformTargetFromCredentials(data, platform));
	return { status: r.ok ? 'OK' : 'Error', message: r.message };
}
