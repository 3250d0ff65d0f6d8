/**
 * The credential test of the platform presets: one read-only call with the credential, no retry,
 * and a message naming the problem (never a key — every text is scrubbed of the target's secrets).
 *
 * - WooCommerce: `GET /wp-json/wc/v3/orders?per_page=1` (list all orders:
 *   https://woocommerce.github.io/woocommerce-rest-api-docs/#list-all-orders)
 * - Shopify: `{ shop { name } }` on the GraphQL Admin API (https://shopify.dev/docs/api/admin-graphql/latest/queries/shop),
 *   after the client credentials grant for a Dev Dashboard app
 * - Stripe: `GET https://api.stripe.com/v1/balance` with the secret key as a Bearer token
 *   ("Authentication to the API is performed via HTTP Basic Auth … If you need to authenticate via
 *   bearer auth … use -H "Authorization: Bearer sk_test_…"": https://docs.stripe.com/api/authentication;
 *   retrieve balance: https://docs.stripe.com/api/balance/balance_retrieve)
 * - Paddle Billing: `GET /event-types` with `Authorization: Bearer <API key>` on https://api.paddle.com
 *   or https://sandbox-api.paddle.com ("sandbox keys only work against the sandbox base URL"; an
 *   invalid key answers 403 `invalid_token`): https://developer.paddle.com/api-reference/about/authentication,
 *   https://developer.paddle.com/api-reference/event-types/list-event-types,
 *   https://developer.paddle.com/errors/shared/invalid_token
 * - 闲管家: 查询闲鱼店铺 `POST /api/open/user/authorize/list` (signed; https://s.apifox.cn/35842026-8755-4ac7-a61e-9b07fbcac599/api-93586388)
 * - 有赞: `youzan.shop.get` 3.0.0 with the access token (not verified against the live platform)
 * - Taobao / Tmall: `taobao.trades.sold.increment.get` for the last minute, one trade a page
 *   (https://open.taobao.com/api.htm?docId=128&docType=2): proves the App Key, the signature and
 *   the Session Key; TOP errors are explained by taobao/client.ts
 */
import { redactSecrets } from '../../secrets';
import { ValidationError } from '../../errors';
import { HttpCallError, type HttpCall } from '../../outbound';
import type { ShopConnectionCheck } from '../shipRequest';
import { PAID_STATUS, TopApiError, topCall, topTarget, topTimestamp } from '../../taobao';
import { CallSequence, forgetShopifyToken, platformSecrets, shopifyToken } from './run';
import { SHOP_NAME_QUERY, readShopName, shopifyGraphqlCall, shopifyTarget } from './shopify';
import { PLATFORM_LABELS, PlatformAnswerError, baseUrl, text, urlText, type PaddleTarget, type PlatformTarget, type StripeTarget } from './types';
import { readWooProbe, wooProbeCall, wooTarget } from './woocommerce';
import { goofishCall, readGoofishAnswer } from '../../goofish';
import { readYouzanAnswer, youzanCall } from '../../youzan';
import { envelopeReader, goofishTarget } from './goofish';
import { youzanTarget } from './youzan';

export const STRIPE_API_URL = 'https://api.stripe.com';
export const PADDLE_API_URL = 'https://api.paddle.com';
export const PADDLE_SANDBOX_API_URL = 'https://sandbox-api.paddle.com';

const isObject = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);

function stripeCall(t: StripeTarget, timeoutMs: number): HttpCall {
	const key = text(t.secretKey);
	if (key === '') throw new ValidationError('stripeSecretKey', 'The Stripe Secret Key is empty (Stripe Dashboard > Developers > API keys).');
	if (/^pk_/.test(key)) throw new ValidationError('stripeSecretKey', 'This is a publishable key (pk_…); the credential needs the secret key (sk_live_… / sk_test_…) or a restricted key (rk_…).');
	const api = text(t.apiUrl) ? urlText(baseUrl(text(t.apiUrl), 'stripeApiUrl', 'The Stripe API URL')) : STRIPE_API_URL;
	return { method: 'GET', url: `${api}/v1/balance`, headers: { Authorization: `Bearer ${key}` }, timeoutMs, retries: 0, secrets: [key] };
}

function paddleCall(t: PaddleTarget, timeoutMs: number): HttpCall {
	const key = text(t.apiKey);
	if (key === '') throw new ValidationError('paddleApiKey', 'The Paddle API Key is empty (Paddle > Developer tools > Authentication).');
	if (t.sandbox !== true && /^pdl_sdbx_/.test(key)) throw new ValidationError('paddleSandbox', 'This is a sandbox API key (pdl_sdbx_…): switch on Sandbox in the credential, or use a live key.');
	if (t.sandbox === true && /^pdl_live_/.test(key)) throw new ValidationError('paddleSandbox', 'This is a live API key (pdl_live_…) but Sandbox is on: switch it off, or use a sandbox key.');
	const api = text(t.apiUrl) ? urlText(baseUrl(text(t.apiUrl), 'paddleApiUrl', 'The Paddle API URL')) : t.sandbox === true ? PADDLE_SANDBOX_API_URL : PADDLE_API_URL;
	return { method: 'GET', url: `${api}/event-types`, headers: { Authorization: `Bearer ${key}` }, timeoutMs, retries: 0, secrets: [key] };
}

/** The `message` / `error.detail` / `error.message` a platform put in its refusal (already redacted by the HTTP client). */
function refusalText(body: string | null): string {
	if (!body) return '';
	try {
		const o = JSON.parse(body) as unknown;
		if (!isObject(o)) return '';
		const error = isObject(o.error) ? o.error : {};
		const said = o.message ?? error.detail ?? error.message ?? (typeof o.errors === 'string' ? o.errors : undefined) ?? o.error_description;
		return typeof said === 'string' && said !== '' ? ` (“${said.slice(0, 160)}”)` : '';
	} catch {
		return '';
	}
}

const REFUSED_HINTS: Record<PlatformTarget['platform'], string> = {
	woocommerce: 'Check the Consumer Key and Secret, that the key has Read/Write permission, and that its WordPress user may manage orders.',
	shopify: 'Check the Admin API Access Token (or the Client ID and Secret) and that the app is installed on this store.',
	stripe: 'Check the secret key (live or test mode) or that the restricted key may read the Balance.',
	paddle: 'Check the API key, that it is not revoked or expired, and that Sandbox matches the key (sandbox keys work only on the sandbox API).',
	taobao: 'Check the App Key, App Secret, Sign Method and Session Key.',
	goofish: 'Check the App Key and App Secret (闲管家 开放平台 → 应用管理).',
	youzan: 'Check the Access Token (it expires: renew it in 有赞云).',
};

function failure(t: PlatformTarget, err: unknown, host: string): ShopConnectionCheck {
	const label = PLATFORM_LABELS[t.platform];
	const scrub = (s: string) => redactSecrets(s, platformSecrets(t));
	if (err instanceof ValidationError || err instanceof PlatformAnswerError || err instanceof TopApiError) return { ok: false, status: err instanceof TopApiError ? err.status : null, message: scrub(err.message) };
	if (!(err instanceof HttpCallError)) return { ok: false, status: null, message: scrub(`Could not reach ${label}: ${(err as Error)?.message ?? String(err)}`) };
	const status = err.status;
	if (status === 401 || status === 403) {
		return { ok: false, status, message: scrub(`${label} at ${host} refused the credentials (${status})${refusalText(err.responseBody)}. ${REFUSED_HINTS[t.platform]}`) };
	}
	const plain = err.message.replace(/ \(attempt \d+ of \d+\)/, '').replace(/ Gave up after \d+ attempts\./, '');
	if (status !== null && status >= 500) return { ok: false, status, message: scrub(`${label} at ${host} is reachable but answered ${status} (server error). Try again later.`) };
	return { ok: false, status, message: scrub(`${label}: ${plain}`) };
}

/** One read-only call with the credential of a platform preset; ok with what it found, or why not. */
export async function checkPlatformConnection(target: PlatformTarget, timeoutMs = 10000): Promise<ShopConnectionCheck> {
	const calls = new CallSequence();
	let host = PLATFORM_LABELS[target.platform];
	const hostOf = (call: HttpCall) => {
		host = new URL(call.url).host;
		return call;
	};
	const once = { timeoutMs, retries: 0, backoffMs: 0 };
	try {
		switch (target.platform) {
			case 'woocommerce': {
				const t = wooTarget(target);
				await calls.run(hostOf(wooProbeCall(t, timeoutMs)), readWooProbe);
				return { ok: true, status: calls.status, message: `Connected to WooCommerce at ${host}: the keys may read orders (give them Read/Write so Mark Shipped can complete orders).` };
			}
			case 'shopify': {
				const t = shopifyTarget(target);
				host = new URL(t.adminUrl).host;
				try {
					const token = await shopifyToken(t, calls, once);
					const name = await calls.run(shopifyGraphqlCall(t, token, SHOP_NAME_QUERY, {}, once), readShopName);
					return { ok: true, status: calls.status, message: `Connected to Shopify store “${name}” at ${host} (API ${t.apiVersion}).` };
				} catch (err) {
					forgetShopifyToken(t, err);
					throw err;
				}
			}
			case 'stripe': {
				const balance = await calls.run(hostOf(stripeCall(target, timeoutMs)), (data) => {
					if (!isObject(data) || data.object !== 'balance') throw new PlatformAnswerError('The Stripe API URL answered, but not with a Stripe balance.', 'not_stripe');
					return data;
				});
				return { ok: true, status: calls.status, message: `Connected to Stripe at ${host} (${balance.livemode === true ? 'live' : 'test'} mode).` };
			}
			case 'paddle': {
				const types = await calls.run(hostOf(paddleCall(target, timeoutMs)), (data) => {
					if (!isObject(data) || !Array.isArray(data.data)) throw new PlatformAnswerError('The Paddle API URL answered, but not with Paddle event types.', 'not_paddle');
					return data.data.length;
				});
				return { ok: true, status: calls.status, message: `Connected to Paddle Billing at ${host} (${target.sandbox === true ? 'sandbox' : 'live'}; ${types} event types).` };
			}
			case 'taobao': {
				// one read-only call: the paid trades of the last minute, one per page (proves the session and the trade permission)
				const t = topTarget(target);
				host = new URL(t.routerUrl).host;
				const now = Date.now();
				const r = await topCall(
					t,
					'taobao.trades.sold.increment.get',
					{ fields: 'tid', status: PAID_STATUS, start_modified: topTimestamp(new Date(now - 60_000)), end_modified: topTimestamp(new Date(now)), page_no: 1, page_size: 1, use_has_next: 'true' },
					{ timeoutMs, retries: 0 },
				);
				void r;
				return { ok: true, status: 200, message: `Connected to the Taobao router at ${host}: the Session Key may read the shop's trades.` };
			}
			case 'goofish': {
				// 查询闲鱼店铺 (/api/open/user/authorize/list): read-only, proves the App Key and the signature
				const t = goofishTarget(target);
				const call = hostOf(goofishCall(t, '/api/open/user/authorize/list', {}, { timeoutMs, retries: 0 }));
				const data = await calls.run(call, envelopeReader(readGoofishAnswer, '查询闲鱼店铺'));
				const shops = Array.isArray(data.list) ? data.list.length : null;
				return { ok: true, status: calls.status, message: `Connected to 闲管家 at ${host}${shops === null ? '' : ` (${shops} authorised 闲鱼 shop${shops === 1 ? '' : 's'})`}.` };
			}
			case 'youzan': {
				// youzan.shop.get: read-only, proves the access token
				const t = youzanTarget(target);
				const data = await calls.run(hostOf(youzanCall(t, 'youzan.shop.get', '3.0.0', {}, { timeoutMs, retries: 0 })), envelopeReader(readYouzanAnswer, 'youzan.shop.get'));
				const name = typeof data.name === 'string' ? ` “${data.name.slice(0, 60)}”` : '';
				return { ok: true, status: calls.status, message: `Connected to 有赞 shop${name} at ${host}: the access token works.` };
			}
		}
	} catch (err) {
		return failure(target, err, host);
	}
}
