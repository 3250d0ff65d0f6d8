/**
 * A call to the Taobao Open Platform (TOP) router: one signed POST
 * (`application/x-www-form-urlencoded;charset=utf-8`) per API call, answers read with exact digits.
 *
 * Built from:
 * - TOP "API调用方法详解" (https://open.taobao.com/doc.htm?docId=101617&docType=1): the router
 *   `https://eco.taobao.com/router/rest` (gw.api.taobao.com is the older host of the same router),
 *   the common parameters `method`, `app_key`, `session`, `timestamp` (`yyyy-MM-dd HH:mm:ss`, GMT+8;
 *   TOP accepts 10 minutes of clock skew), `v=2.0`, `format=json`, `sign_method`, `sign`
 *   (sign.ts), optional `simplify`; the answer `{"<name>_response": {...}}` where `<name>` is the
 *   method without its `taobao.` prefix and with `_` for `.`, or `{"error_response": {"code",
 *   "msg", "sub_code", "sub_msg", "request_id"}}`.
 * - The official SDK's client (taobao-sdk-java `com/taobao/api/DefaultTaobaoClient.java`:
 *   `Constants.SIGN_METHOD_*`, the form POST with `charset=utf-8`; the `error_response` reading of
 *   `TaobaoResponse.isSuccess` = no `errorCode` and no `subCode`).
 * - TOP platform error codes ("平台错误码", https://open.taobao.com/doc.htm?docId=114&docType=1):
 *   7 App Call Limited (sub_msg "This ban will last for N more seconds"), 15 Remote service
 *   error, 11/12 insufficient permissions, 21/22 missing/invalid method, 25 Invalid signature,
 *   26 Missing session, 27 Invalid session, 28/29 missing/invalid app key, 30/31 missing/invalid
 *   timestamp, 40/41 missing/invalid arguments; business sub codes `isp.*` (the platform's
 *   service failed: retry) and `isv.*` (the request is wrong: do not retry).
 *   Not confirmed against the live router: the exact sub codes of the call limit
 *   (`accesscontrol.limited-by-api-access-count` and friends are what third-party SDKs show) —
 *   the client reads the ban seconds from sub_msg whatever the sub code is.
 *
 * Never a request parameter value in an error: a `feature` field may carry card keys, the session is
 * a credential. Every error text is built from the answer's codes and messages and then redacted of
 * the app secret, the session, the sign and every parameter value the caller marks secret.
 */
import { redactSecrets } from '../secrets';
import { HttpCallError, callWithRetry } from '../outbound';
import { ValidationError } from '../errors';
import { isJsonObject } from '../intake';
import { TOP_SIGN_METHODS, topSign, topTimestamp, type TopSignMethod } from './sign';

export const TOP_ROUTER_URL = 'https://eco.taobao.com/router/rest';

/** The seller's app and authorisation (Auto Delivery Shop API credential, Platform Taobao). */
export interface TopTarget {
	appKey: string;
	appSecret: string;
	/** The seller's authorisation (Session Key / access_token from the OAuth authorisation). */
	session: string;
	signMethod: TopSignMethod;
	/** Default https://eco.taobao.com/router/rest. */
	routerUrl?: string;
}

export interface TopCallOptions {
	/** Per attempt. Default 15 s. */
	timeoutMs?: number;
	/** Extra attempts on 5xx / timeouts / isp.* / call limits. Default 3. */
	retries?: number;
	backoffMs?: number;
	/** Longest call-limit ban the client waits out before giving up with a retryable error. Default 10 s. */
	maxBanWaitMs?: number;
	/** Parameter values that must never appear anywhere (keys in a `feature` field). */
	secrets?: string[];
	now?: () => Date;
	sleep?: (ms: number) => Promise<void>;
}

export type TopErrorKind = 'session' | 'call_limit' | 'signature' | 'app_key' | 'permission' | 'timestamp' | 'arguments' | 'service' | 'business' | 'answer' | 'http';

/** An `error_response` (or an answer that is not one TOP documents), in words a seller understands. */
export class TopApiError extends Error {
	constructor(
		message: string,
		readonly kind: TopErrorKind,
		readonly code: string | null,
		readonly subCode: string | null,
		/** Asking again later may succeed (isp.*, call limits, 5xx, timeouts). */
		readonly retryable: boolean,
		readonly attempts: number,
		/** For a call limit: how long TOP said the ban lasts. */
		readonly retryAfterMs: number | null = null,
		readonly status: number | null = null,
	) {
		super(message);
		this.name = 'TopApiError';
	}
}

type ParamValue = string | number | boolean | null | undefined;

/** The target's fields checked: bad input names the credential field and changes nothing. */
export function topTarget(t: TopTarget): Required<TopTarget> {
	const appKey = String(t.appKey ?? '').trim();
	const appSecret = String(t.appSecret ?? '').trim();
	const session = String(t.session ?? '').trim();
	if (appKey === '') throw new ValidationError('taobaoAppKey', 'The Taobao App Key is empty: set it in the Auto Delivery Shop API credential (开放平台 控制台 → 应用 → App Key).');
	if (appSecret === '') throw new ValidationError('taobaoAppSecret', 'The Taobao App Secret is empty: set it in the Auto Delivery Shop API credential.');
	if (session === '') throw new ValidationError('taobaoSession', 'The Taobao Session Key is empty: authorise the app for your shop and paste the Session Key (access_token) into the credential.');
	if (!TOP_SIGN_METHODS.includes(t.signMethod)) throw new ValidationError('taobaoSignMethod', `Sign Method must be one of ${TOP_SIGN_METHODS.join(', ')}.`);
	const routerUrl = String(t.routerUrl ?? '').trim() || TOP_ROUTER_URL;
	let url: URL;
	try {
		url = new URL(routerUrl);
	} catch {
		throw new ValidationError('taobaoRouterUrl', `The Router URL "${routerUrl}" is not a URL, e.g. ${TOP_ROUTER_URL}.`);
	}
	if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ValidationError('taobaoRouterUrl', `The Router URL "${routerUrl}" is not an http(s) URL.`);
	if (url.username || url.password) throw new ValidationError('taobaoRouterUrl', 'The Router URL must not contain a user name or password.');
	return { appKey, appSecret, session, signMethod: t.signMethod, routerUrl: url.toString() };
}

/** The credential values scrubbed from every text. */
export function topSecrets(t: TopTarget): string[] {
	return [t.appSecret, t.session].map((s) => String(s ?? '').trim()).filter((s) => s !== '');
}

/** `taobao.trades.sold.increment.get` → `trades_sold_increment_get_response`. */
export function topResponseKey(method: string): string {
	return `${method.replace(/^taobao\./, '').replace(/\./g, '_')}_response`;
}

const BAN = /ban will last for (\d+) more seconds?/i;

const text = (v: unknown): string | null => (v === undefined || v === null || v === '' ? null : String(v));

/** Maps an `error_response` to a TopApiError (the message redacted by the caller). */
export function topError(method: string, e: Record<string, unknown>, attempts: number): TopApiError {
	const code = text(e.code);
	const subCode = text(e.sub_code);
	const said = [text(e.msg), text(e.sub_msg)].filter((x): x is string => x !== null).join(' — ').slice(0, 300);
	const tail = `(TOP error ${code ?? '?'}${subCode ? ` / ${subCode}` : ''}${said ? `: ${said}` : ''})`;
	const ban = BAN.exec(String(e.sub_msg ?? e.msg ?? ''));
	switch (code) {
		case '26':
		case '27':
			return new TopApiError(
				`Taobao refused the Session Key ${tail}. The seller's authorisation is missing or expired: authorise the app for the shop again and update the Session Key in the Auto Delivery Shop API credential.`,
				'session',
				code,
				subCode,
				false,
				attempts,
			);
		case '7': {
			const seconds = ban ? Number(ban[1]) : null;
			return new TopApiError(
				`Taobao's call limit for this app was reached while calling ${method} ${tail}${seconds !== null ? `; the ban lasts ${seconds} more seconds` : ''}. The next poll tries again; if this keeps happening, poll less often or ask Taobao for a higher limit.`,
				'call_limit',
				code,
				subCode,
				true,
				attempts,
				seconds !== null ? seconds * 1000 : null,
			);
		}
		case '24':
		case '25':
			return new TopApiError(`Taobao rejected the request signature ${tail}. Check the App Secret and the Sign Method in the Auto Delivery Shop API credential (they must belong to the App Key).`, 'signature', code, subCode, false, attempts);
		case '28':
		case '29':
			return new TopApiError(`Taobao does not know this App Key ${tail}. Check the App Key in the Auto Delivery Shop API credential.`, 'app_key', code, subCode, false, attempts);
		case '11':
		case '12':
		case '13':
			return new TopApiError(`The app may not call ${method} ${tail}. Apply for the API's permission package in the Taobao Open Platform console, and make sure the seller authorised the app.`, 'permission', code, subCode, false, attempts);
		case '30':
		case '31':
			return new TopApiError(`Taobao refused the request time ${tail}. Check this machine's clock (TOP accepts about 10 minutes of difference).`, 'timestamp', code, subCode, false, attempts);
		case '40':
		case '41':
		case '43':
			return new TopApiError(`Taobao refused the arguments of ${method} ${tail}.`, 'arguments', code, subCode, false, attempts);
		default:
			break;
	}
	// the sub code decides: isv.* = the request is wrong (whatever the code), isp.* = the platform failed
	if (!(subCode ?? '').startsWith('isv.') && (code === '10' || code === '15' || (subCode ?? '').startsWith('isp.'))) {
		return new TopApiError(`Taobao's service failed while calling ${method} ${tail}; trying again later may succeed.`, 'service', code, subCode, true, attempts);
	}
	return new TopApiError(`Taobao refused ${method} ${tail}.`, 'business', code, subCode, false, attempts);
}

/** The form body: common + API parameters, signed. Exported for tests. */
export function topForm(t: Required<TopTarget>, method: string, params: Record<string, ParamValue>, now: Date): URLSearchParams {
	const all: Record<string, ParamValue> = {
		...params,
		method,
		app_key: t.appKey,
		session: t.session,
		timestamp: topTimestamp(now),
		v: '2.0',
		format: 'json',
		sign_method: t.signMethod,
	};
	const form = new URLSearchParams();
	for (const k of Object.keys(all).sort()) {
		const v = all[k];
		if (v === undefined || v === null || v === '') continue;
		form.append(k, String(v));
	}
	form.append('sign', topSign(all, t.appSecret, t.signMethod));
	return form;
}

/**
 * Calls `method` with `params`; returns the inside of `<name>_response`. Retries 5xx / timeouts
 * (callWithRetry), isp.* / code 15 and call limits whose ban is at most `maxBanWaitMs`; throws
 * TopApiError (codes and a seller's sentence, never a parameter value) or ValidationError.
 */
export async function topCall(target: TopTarget, method: string, params: Record<string, ParamValue>, opts: TopCallOptions = {}): Promise<Record<string, unknown>> {
	const t = topTarget(target);
	const retries = Math.max(0, Math.min(10, opts.retries ?? 3));
	const maxBan = Math.max(0, opts.maxBanWaitMs ?? 10_000);
	const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
	const secretValues = [...topSecrets(t), ...(opts.secrets ?? []), ...Object.values(params).filter((v): v is string => typeof v === 'string' && (opts.secrets ?? []).some((s) => v.includes(s)))];
	const scrub = (s: string) => redactSecrets(s, secretValues);
	let attempts = 0;
	for (let round = 0; ; round++) {
		const form = topForm(t, method, params, opts.now?.() ?? new Date());
		let data: unknown;
		try {
			const res = await callWithRetry(
				{
					method: 'POST',
					url: t.routerUrl,
					headers: { 'Content-Type': 'application/x-www-form-urlencoded;charset=utf-8' },
					body: form.toString(),
					timeoutMs: opts.timeoutMs ?? 15_000,
					retries,
					backoffMs: opts.backoffMs,
					secrets: [...secretValues, form.get('sign') ?? ''],
				},
				sleep,
			);
			attempts += res.attempts;
			data = res.data;
		} catch (err) {
			if (!(err instanceof HttpCallError)) throw err;
			attempts += err.attempts;
			const retryable = err.status === null ? err.code !== 'bad_url' : err.status >= 500;
			// the HTTP client's message names the host and status; its body snippet is already redacted
			throw new TopApiError(scrub(`Calling ${method} at the Taobao router failed: ${err.message}`), 'http', null, null, retryable, attempts, null, err.status);
		}
		if (!isJsonObject(data)) {
			throw new TopApiError(`The Taobao router answered ${method} with something that is not TOP JSON. Check the Router URL in the credential.`, 'answer', null, null, false, attempts);
		}
		if (isJsonObject(data.error_response)) {
			const e = topError(method, data.error_response, attempts);
			const wait = e.kind === 'call_limit' ? (e.retryAfterMs ?? 1000) : e.kind === 'service' ? (opts.backoffMs ?? 500) * 2 ** round : null;
			if (wait !== null && round < retries && wait <= maxBan) {
				await sleep(wait);
				continue;
			}
			throw new TopApiError(scrub(e.message), e.kind, e.code, e.subCode, e.retryable, e.attempts, e.retryAfterMs);
		}
		const key = topResponseKey(method);
		const inner = data[key] ?? data[`taobao_${key}`];
		if (!isJsonObject(inner)) {
			throw new TopApiError(`The Taobao router answered ${method} without "${key}". Check the Router URL in the credential.`, 'answer', null, null, false, attempts);
		}
		return inner;
	}
}
