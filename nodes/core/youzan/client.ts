/**
 * 有赞云 API calls (open.youzanyun.com): `POST <origin>/api/<api name>/<version>?access_token=<token>`
 * with a JSON body, answered `{"success": true, "code": 200, "data": {…}}`, or a refusal as
 * `{"success": false, "code": …, "message": …}` / `{"gw_err_resp": {"err_code": …, "err_msg": …}}`
 * (the gateway). Source: 有赞云 开发指南 → API 调用 (https://doc.youzanyun.com/detail/API/0/…: the
 * `https://open.youzanyun.com/api/{api}/{version}?access_token=…` form) and the official
 * youzanyun-sdk-java `DefaultYZClient`. Not verified against the live platform: the exact refusal
 * shapes (both are read) — docs/platforms.md says so.
 */
import type { HttpCall } from '../outbound';

export const YOUZAN_API_URL = 'https://open.youzanyun.com/api';

export interface YouzanTarget {
	/** The shop's access token (有赞云 控制台 → 应用 → 授权 / 自用型应用的 access_token). */
	accessToken: string;
	/** Default https://open.youzanyun.com/api (a local fake in tests). */
	apiUrl?: string;
	/** client_id / client_secret: not sent by the ship call, scrubbed should an answer echo them. */
	clientId?: string;
	clientSecret?: string;
}

export function youzanSecrets(t: YouzanTarget): string[] {
	return [t.accessToken, t.clientSecret ?? ''].filter((s) => s !== '');
}

export function youzanCall(t: YouzanTarget, api: string, version: string, body: Record<string, unknown>, o: { timeoutMs: number; retries: number; backoffMs?: number }): HttpCall {
	const url = new URL(`${(t.apiUrl || YOUZAN_API_URL).replace(/\/+$/, '')}/${api}/${version}`);
	url.searchParams.set('access_token', t.accessToken);
	return { method: 'POST', url: url.toString(), body, timeoutMs: o.timeoutMs, retries: o.retries, backoffMs: o.backoffMs, secrets: youzanSecrets(t) };
}

export class YouzanApiError extends Error {
	constructor(
		message: string,
		readonly code: string,
	) {
		super(message);
		this.name = 'YouzanApiError';
	}
}

const isObject = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
const said = (m: unknown) => (typeof m === 'string' && m !== '' ? `: “${m.slice(0, 160)}”` : '');

/** `data` of a successful answer; YouzanApiError naming the call, the code and 有赞's message otherwise. */
export function readYouzanAnswer(answer: unknown, what: string): Record<string, unknown> {
	if (!isObject(answer)) throw new YouzanApiError(`有赞 answered ${what} without a JSON object: check the API URL.`, 'not_youzan');
	const gw = isObject(answer.gw_err_resp) ? answer.gw_err_resp : null;
	if (gw) {
		const code = String(gw.err_code ?? 'gateway').slice(0, 20);
		const token = /token/i.test(String(gw.err_msg ?? '')) ? ' Check the access token in the Auto Delivery Shop API credential (it expires: renew it).' : '';
		throw new YouzanApiError(`有赞 refused ${what} (code ${code})${said(gw.err_msg)}.${token}`, code);
	}
	if (answer.success !== true) {
		const code = String(answer.code ?? answer.error_code ?? 'unknown').slice(0, 20);
		throw new YouzanApiError(`有赞 refused ${what} (code ${code})${said(answer.message ?? answer.msg)}.`, code);
	}
	return isObject(answer.data) ? answer.data : {};
}
