/**
 * 有赞 push messages (消息推送): a push is a JSON body whose `msg` field is the message (URL-encoded
 * JSON text) and whose signature is `sign = MD5(client_id + msg + client_secret)` — `msg` exactly as
 * received, not decoded — carried in the body's `sign` or in the `Event-Sign` header.
 * Source: 有赞开放平台 消息推送 → 推送消息签名 (doc.youzanyun.com, "消息推送服务" pages) and the
 * official youzanyun-sdk-java `PushMessageUtil`. Not verified against the live platform.
 */
import { createHash, timingSafeEqual } from 'crypto';

export function youzanSign(clientId: string, msg: string, clientSecret: string): string {
	return createHash('md5').update(`${clientId}${msg}${clientSecret}`, 'utf8').digest('hex');
}

export type YouzanCheck = { ok: true } | { ok: false; reason: 'missing' | 'bad_signature' };

/** Checks a push: the signature from the Event-Sign header, else the body's `sign`. */
export function verifyYouzan(clientId: string, clientSecret: string, body: { msg?: unknown; sign?: unknown }, eventSignHeader?: unknown): YouzanCheck {
	const msg = typeof body.msg === 'string' ? body.msg : null;
	const given = typeof eventSignHeader === 'string' && eventSignHeader !== '' ? eventSignHeader : typeof body.sign === 'string' ? body.sign : null;
	if (msg === null || given === null || !/^[0-9a-fA-F]{32}$/.test(given)) return { ok: false, reason: 'missing' };
	const expected = youzanSign(clientId, msg, clientSecret);
	return timingSafeEqual(Buffer.from(expected), Buffer.from(given.toLowerCase())) ? { ok: true } : { ok: false, reason: 'bad_signature' };
}
