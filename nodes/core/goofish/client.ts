/**
 * 闲管家 (open.goofish.pro) API calls: a signed POST and the reading of its answer envelope.
 *
 * Every call is `POST <origin><path>?appid=<AppKey>&timestamp=<unix s>[&mch_id=…]&sign=<md5>` with a
 * JSON body; the sign covers the MD5 of the exact body bytes (sign.ts), so the body is serialised
 * once here and sent as that text. Answers are `{"code": 0, "msg": "OK", "data": {…}}`; any other
 * code is a refusal (闲管家开放平台 接入说明 / 代码示例, open.goofish.pro — e.g. the 查询订单详情 and
 * 订单物流发货 pages: "code integer 必需 默认值 0").
 * Not verified against the live platform (docs/platforms.md says so).
 */
import type { HttpCall } from '../outbound';
import { goofishQuery, type GoofishCredentials } from './sign';

export const GOOFISH_API_URL = 'https://open.goofish.pro';

/** Where and how to call: the app (and merchant) keys and the API origin (a local fake in tests). */
export interface GoofishTarget extends GoofishCredentials {
	/** Default https://open.goofish.pro. */
	apiUrl?: string;
}

/** Scrubbed from every error text: the secrets (the AppKey is public: it travels in the query). */
export function goofishSecrets(t: GoofishCredentials): string[] {
	return [t.appSecret, t.mchSecret ?? ''].filter((s) => s !== '');
}

export interface GoofishCallOptions {
	timeoutMs: number;
	retries: number;
	backoffMs?: number;
	now?: number;
}

/** The signed HttpCall for `path` (e.g. `/api/open/order/detail`) with `body` (serialised once). */
export function goofishCall(t: GoofishTarget, path: string, body: Record<string, unknown>, o: GoofishCallOptions): HttpCall {
	const text = JSON.stringify(body);
	const url = new URL(`${(t.apiUrl || GOOFISH_API_URL).replace(/\/+$/, '')}${path}`);
	for (const [k, v] of Object.entries(goofishQuery(t, text, o.now ?? Date.now()))) url.searchParams.set(k, v);
	return {
		method: 'POST',
		url: url.toString(),
		headers: { 'Content-Type': 'application/json' },
		body: text,
		timeoutMs: o.timeoutMs,
		retries: o.retries,
		backoffMs: o.backoffMs,
		secrets: goofishSecrets(t),
	};
}

/** A 2xx answer whose `code` is not 0: 闲管家 refused the call (`msg` says why). */
export class GoofishApiError extends Error {
	constructor(
		message: string,
		readonly code: string,
	) {
		super(message);
		this.name = 'GoofishApiError';
	}
}

const isObject = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);

/** `data` of a `{code: 0, data}` answer; GoofishApiError naming the call, the code and 闲管家's `msg` otherwise. */
export function readGoofishAnswer(answer: unknown, what: string): Record<string, unknown> {
	if (!isObject(answer) || answer.code === undefined) {
		throw new GoofishApiError(`闲管家 answered ${what} without a {"code", "msg", "data"} envelope: check the API URL.`, 'not_goofish');
	}
	const code = String(answer.code);
	if (code !== '0') {
		const msg = typeof answer.msg === 'string' && answer.msg !== '' ? `: “${answer.msg.slice(0, 160)}”` : '';
		const hint = /sign|签名/i.test(String(answer.msg ?? '')) ? ' Check the App Key and App Secret in the Auto Delivery Shop API credential.' : '';
		throw new GoofishApiError(`闲管家 refused ${what} (code ${code.slice(0, 20)})${msg}.${hint}`, code.slice(0, 20));
	}
	return isObject(answer.data) ? answer.data : {};
}
