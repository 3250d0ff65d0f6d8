/**
 * 闲管家 (闲鱼 seller tool, open.goofish.pro) request signatures.
 *
 * Every call carries the query parameters `appid`, `timestamp` (unix seconds, accepted for 5
 * minutes) and `sign`, a lowercase MD5 over comma-joined fields with the MD5 of the raw JSON body:
 *   app:       md5(appKey + "," + md5(body) + "," + timestamp + "," + appSecret)
 *   merchant:  md5(appKey + "," + appSecret + "," + md5(body) + "," + timestamp + "," + mch_id + "," + mch_secret)
 *              (with `mch_id` also in the query)
 * Source: 闲管家开放平台 接入指南 → 签名规则 (open.goofish.pro). The app rule is as the page words
 * it; the merchant rule's field order is the one that reproduces the page's published merchant
 * example (body {"goods_type":1,"goods_no":"12344532"}, appid 677859093659717, ts 1724414553,
 * mch_id 1001 → fda5954f48ab32b3b271c84450440ead) — checked in test/unit/cnSign.test.ts. Not verified
 * against the live platform (docs/platforms.md says so).
 */
import { createHash, timingSafeEqual } from 'crypto';

const md5 = (s: string | Buffer) => createHash('md5').update(s).digest('hex');

export interface GoofishCredentials {
	appKey: string;
	appSecret: string;
	/** The merchant variant (商户对接): both set. */
	mchId?: string | null;
	mchSecret?: string | null;
}

export const GOOFISH_TIMESTAMP_TOLERANCE_S = 300;

export function goofishSign(c: GoofishCredentials, body: string | Buffer, timestamp: number | string): string {
	const bodyMd5 = md5(body);
	if (c.mchId && c.mchSecret) return md5(`${c.appKey},${c.appSecret},${bodyMd5},${timestamp},${c.mchId},${c.mchSecret}`);
	return md5(`${c.appKey},${bodyMd5},${timestamp},${c.appSecret}`);
}

/** The query of a signed call: appid, timestamp, (mch_id,) sign. */
export function goofishQuery(c: GoofishCredentials, body: string | Buffer, now = Date.now()): Record<string, string> {
	const timestamp = String(Math.floor(now / 1000));
	const q: Record<string, string> = { appid: c.appKey, timestamp };
	if (c.mchId && c.mchSecret) q.mch_id = c.mchId;
	q.sign = goofishSign(c, body, timestamp);
	return q;
}

export type GoofishCheck = { ok: true } | { ok: false; reason: 'missing' | 'expired' | 'future' | 'bad_signature' | 'wrong_app' };

/** Checks a request 闲管家 sent us (its push): same rule, constant-time, 5-minute window. */
export function verifyGoofish(c: GoofishCredentials, query: Record<string, unknown>, body: Buffer | string, now = Date.now()): GoofishCheck {
	const appid = typeof query.appid === 'string' ? query.appid : null;
	const ts = typeof query.timestamp === 'string' ? query.timestamp : null;
	const sign = typeof query.sign === 'string' ? query.sign.toLowerCase() : null;
	if (!appid || !ts || !sign || !/^[0-9]{1,12}$/.test(ts) || !/^[0-9a-f]{32}$/.test(sign)) return { ok: false, reason: 'missing' };
	if (appid !== c.appKey) return { ok: false, reason: 'wrong_app' };
	const age = Math.floor(now / 1000) - Number(ts);
	if (age > GOOFISH_TIMESTAMP_TOLERANCE_S) return { ok: false, reason: 'expired' };
	if (age < -GOOFISH_TIMESTAMP_TOLERANCE_S) return { ok: false, reason: 'future' };
	const mch = typeof query.mch_id === 'string' ? query.mch_id : null;
	const expected = goofishSign({ ...c, mchId: mch ?? c.mchId ?? null }, body, ts);
	const same = timingSafeEqual(Buffer.from(expected), Buffer.from(sign));
	return same ? { ok: true } : { ok: false, reason: 'bad_signature' };
}
