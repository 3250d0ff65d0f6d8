/**
 * Signing a Taobao Open Platform (TOP) API request.
 *
 * Source: TOP's "API调用方法详解" (https://open.taobao.com/doc.htm?docId=101617&docType=1, section
 * 签名算法) and the official SDK's `TaobaoUtils.signTopRequest` (taobao-sdk-java,
 * com/taobao/api/internal/util/TaobaoUtils.java):
 *   1. every parameter of the request — the common ones (method, app_key, session, timestamp,
 *      format, v, sign_method, …) and the API's own — except `sign` and byte (file) parameters,
 *      sorted by name (ASCII);
 *   2. name + value of each, concatenated, skipping empty names and values;
 *   3. md5: MD5(secret + text + secret); hmac: HMAC-MD5(key secret, text); hmac-sha256:
 *      HMAC-SHA256(key secret, text) — over the UTF-8 bytes;
 *   4. uppercase hex.
 * Timestamps are `yyyy-MM-dd HH:mm:ss` in GMT+8 (Asia/Shanghai, no daylight saving).
 */
import { createHash, createHmac } from 'crypto';

export type TopSignMethod = 'md5' | 'hmac' | 'hmac-sha256';
export const TOP_SIGN_METHODS: readonly TopSignMethod[] = ['md5', 'hmac', 'hmac-sha256'];

/** The text that is signed: sorted name+value pairs (sign and empty values left out). */
export function topSignText(params: Record<string, string | number | boolean | null | undefined>): string {
	return Object.keys(params)
		.filter((k) => k !== 'sign' && k !== '')
		.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) // code-unit order, like Java's Arrays.sort on Strings
		.map((k) => {
			const v = params[k];
			return v === undefined || v === null || v === '' ? '' : `${k}${String(v)}`;
		})
		.join('');
}

export function topSign(params: Record<string, string | number | boolean | null | undefined>, secret: string, method: TopSignMethod): string {
	const text = topSignText(params);
	switch (method) {
		case 'md5':
			return createHash('md5').update(`${secret}${text}${secret}`, 'utf8').digest('hex').toUpperCase();
		case 'hmac':
			return createHmac('md5', Buffer.from(secret, 'utf8')).update(text, 'utf8').digest('hex').toUpperCase();
		case 'hmac-sha256':
			return createHmac('sha256', Buffer.from(secret, 'utf8')).update(text, 'utf8').digest('hex').toUpperCase();
	}
}

/** `yyyy-MM-dd HH:mm:ss` in GMT+8, the TOP timestamp format. */
export function topTimestamp(date: Date = new Date()): string {
	const t = new Date(date.getTime() + 8 * 3600_000);
	const p = (n: number) => String(n).padStart(2, '0');
	return `${t.getUTCFullYear()}-${p(t.getUTCMonth() + 1)}-${p(t.getUTCDate())} ${p(t.getUTCHours())}:${p(t.getUTCMinutes())}:${p(t.getUTCSeconds())}`;
}

/** Parses a TOP time (`yyyy-MM-dd HH:mm:ss`, GMT+8) to epoch ms; NaN when it is not one. */
export function parseTopTime(text: string): number {
	const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
	if (!m) return NaN;
	return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) - 8 * 3600_000;
}
