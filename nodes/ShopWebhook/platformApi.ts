/**
 * The platform API calls a preset may need to finish an order its webhook does not fully carry
 * (Stripe's Checkout line items, Paddle's customer and refunded lines, 闲管家's order details, 有赞's
 * refunded lines), made with the Shop API credential: Stripe secret key / Paddle API key as a Bearer
 * token, 闲管家 signed, 有赞 with the access token. The credential's API URL override (for a local
 * stand-in of the platform) replaces the platform's own origin.
 */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { callWithRetry } from '../core/outbound';
import type { FetchJson, PlatformId } from '../core/intake';
import { ValidationError } from '../core/errors';
import { GOOFISH_API_URL, goofishCall } from '../core/goofish';
import { YOUZAN_API_URL, youzanCall, type YouzanTarget } from '../core/youzan';
import type { GoofishTarget } from '../core/delivery';
import { platformTargetFromCredentials } from '../shared/shopApi';

interface ApiAccess {
	token: string;
	/** Origins the platform file calls; replaced by `override` when set. */
	origins: string[];
	override: string;
	label: string;
	/** Paddle: a sandbox key (the credential's Sandbox switch or a `pdl_sdbx_` key) only works on the sandbox API. */
	sandboxOrigin?: string;
}

function apiAccess(platform: PlatformId, c: ICredentialDataDecryptedObject): ApiAccess | null {
	const str = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
	if (platform === 'stripe') return { token: str(c.stripeSecretKey), origins: ['https://api.stripe.com'], override: str(c.stripeApiUrl), label: 'Stripe Secret Key' };
	if (platform === 'paddle') {
		const token = str(c.paddleApiKey);
		const sandbox = c.paddleSandbox === true || token.startsWith('pdl_sdbx_');
		return {
			token,
			origins: ['https://api.paddle.com', 'https://sandbox-api.paddle.com'],
			override: str(c.paddleApiUrl),
			label: 'Paddle API Key',
			...(sandbox ? { sandboxOrigin: 'https://sandbox-api.paddle.com' } : {}),
		};
	}
	return null;
}

/**
 * 闲管家: every call is a signed POST (App Key / App Secret of the credential, nodes/core/goofish);
 * the preset's URL is on https://open.goofish.pro, replaced by the credential's API URL when set.
 */
function goofishFetch(credentials: ICredentialDataDecryptedObject): FetchJson {
	return async ({ url, body }) => {
		const target = platformTargetFromCredentials(credentials, 'goofish') as GoofishTarget;
		if (target.appKey === '' || target.appSecret === '') {
			throw new ValidationError('credentials', 'This 闲管家 push needs the order details from 闲管家: set the App Key and App Secret in the Auto Delivery Shop API credential.');
		}
		const path = url.startsWith(GOOFISH_API_URL) ? url.slice(GOOFISH_API_URL.length) : new URL(url).pathname;
		const result = await callWithRetry(goofishCall(target, path, body ?? {}, { timeoutMs: 10000, retries: 2 }));
		return result.data;
	};
}

/**
 * 有赞: `POST <API URL>/<api>/<version>?access_token=…` (nodes/core/youzan); the preset's URL is on
 * https://open.youzanyun.com/api, replaced by the credential's API URL when set.
 */
function youzanFetch(credentials: ICredentialDataDecryptedObject): FetchJson {
	return async ({ url, body }) => {
		const target = platformTargetFromCredentials(credentials, 'youzan') as YouzanTarget;
		if (target.accessToken === '') {
			throw new ValidationError(
				'credentials',
				'This 有赞 refund names order lines (oids): finding their SKUs reads the trade (youzan.trade.get), which needs the Access Token in the Auto Delivery Shop API credential. Nothing was revoked; set the token and 有赞 sends the message again.',
			);
		}
		const [api, version] = (url.startsWith(YOUZAN_API_URL) ? url.slice(YOUZAN_API_URL.length) : new URL(url).pathname).split('/').filter((p) => p !== '').slice(-2);
		const result = await callWithRetry(youzanCall(target, api, version, body ?? {}, { timeoutMs: 10000, retries: 2 }));
		return result.data;
	};
}

/** A FetchJson for the platform, or one that explains what the credential lacks. */
export function platformFetch(platform: PlatformId, credentials: ICredentialDataDecryptedObject): FetchJson {
	if (platform === 'goofish') return goofishFetch(credentials);
	if (platform === 'youzan') return youzanFetch(credentials);
	const access = apiAccess(platform, credentials);
	return async ({ method = 'GET', url, query }) => {
		if (!access || access.token === '') {
			throw new ValidationError(
				'credentials',
				`This ${platform} webhook needs the platform's API to read the order: set the ${access?.label ?? 'API key'} in the Auto Delivery Shop API credential.`,
			);
		}
		let target = url;
		const origin = access.origins.find((o) => url.startsWith(o));
		if (origin && access.override !== '') target = access.override.replace(/\/+$/, '') + url.slice(origin.length);
		else if (origin && access.sandboxOrigin && origin !== access.sandboxOrigin) target = access.sandboxOrigin + url.slice(origin.length);
		const u = new URL(target);
		for (const [k, v] of Object.entries(query ?? {})) u.searchParams.append(k, v);
		const result = await callWithRetry({
			method,
			url: u.toString(),
			headers: { Authorization: `Bearer ${access.token}`, Accept: 'application/json' },
			timeoutMs: 10000,
			retries: 2,
			secrets: [access.token],
		});
		return result.data;
	};
}
