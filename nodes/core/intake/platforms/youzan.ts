/**
 * 有赞 (Youzan) push messages (消息推送) as a Shop Webhook preset: trade paid and refund messages.
 *
 * Sources (read for this preset):
 *  - 有赞云 消息推送 → 接入说明 / 推送消息格式 / 推送消息签名 (https://doc.youzanyun.com/list/MSG/1243 and
 *    the message pages under 交易消息 / 交易退款): a push is `POST <your URL>` with the JSON body
 *    `{client_id, id, kdt_id, kdt_name, mode, msg, sendCount, sign, status, test, type, version}`;
 *    `msg` is the message as URL-encoded JSON text; `sign = MD5(client_id + msg + client_secret)`
 *    over `msg` exactly as received, also sent as the `Event-Sign` header (with `Event-Type` =
 *    `type`); the answer `{"code": 0, "msg": "success"}` stops the retries; a "test" push is sent
 *    when the URL is saved — nodes/core/youzan/sign.ts and the official youzanyun-sdk-java
 *    `PushMessageUtil` (URLDecoder.decode(msg, "utf-8"): `+` is a space).
 *  - 交易消息 trade_TradePaid (交易支付): msg = `{"full_order_info": {"order_info": {tid, status,
 *    pay_time, …}, "buyer_info": {buyer_id, yz_open_id, fans_nickname, …}, "orders": [{oid,
 *    outer_sku_id, outer_item_id, sku_id, item_id, num, price, payment, title}], "pay_info":
 *    {payment, total_fee, …}}}` — the fields of youzan.trade.get's full_order_info.
 *  - 交易退款 trade_refund_* (e.g. trade_refund_RefundSuccess, 退款成功): msg = `{tid, oids,
 *    refund_id, refunded_fee, refund_type, update_time}`; `oids` (交易明细id) is text — the
 *    refunded order lines (`orders[].oid` of the trade), not SKUs.
 *  - youzan.trade.get 4.0.0 (获取单笔交易的信息, https://doc.youzanyun.com/detail/API/0/71 as
 *    open-source 有赞 clients link it; the call form of nodes/core/youzan/client.ts): `{tid}` →
 *    `data.full_order_info` (the structure of trade_TradePaid's msg: `orders[]` with `oid` and the
 *    SKU fields) and `data.refund_order[]` — as the open-source 有赞 SDK for C#
 *    (koaqiu/open-sdk-csharp: GetTrade, YouzanTradeGetResult) and PHP / Node clients call and read it.
 *
 * Classification: `test: true` → ignored with 200; `type` in `paidTypes` (default
 * trade_TradePaid) → paid; in `refundTypes` (default trade_refund_RefundSuccess) → refunded; any
 * other type → ignored with 200. A refund whose msg lists `oids` is completed (Classification.complete)
 * by reading the trade with youzan.trade.get (the credential's access token): each refunded oid
 * becomes its line's SKU (the same `skuFrom` as a paid message), a refund of whole lines (`{sku}`,
 * no quantity); when every line of the trade is refunded it is the whole order. A refund without
 * `oids`, or with `refundLines: "whole_order"`, is the whole order at once. A trade that cannot be
 * read (no access token, 有赞 refuses, an oid not in the trade) is an error — never a silent
 * refund of the whole order — so 有赞 sends the message again.
 *
 * Order: orderId = `tid` exactly as sent (E2026…, or digits kept exact); one line per `orders[]`:
 * SKU from `skuFrom` — `outer_sku_id` (default; else `outer_item_id`, the 商品编码), `outer_item_id`,
 * `sku_id` (else `item_id`) or `item_id`; quantity `num`; unit `price` (yuan); amount
 * `pay_info.payment` (yuan, CNY); buyer id `yz_open_id` (else `buyer_id`), name `fans_nickname`.
 *
 * Not verified against the live platform (built from the pages above, tested against
 * test/helpers/fakes/youzan.ts): the exact message type names of every refund step, whether
 * `msg` is always URL-encoded (a `msg` that is plain JSON text is read too), how `oids` separates
 * several lines (commas are read, as is a JSON list) and the youzan.trade.get version — hence the
 * options.
 */
import { ValidationError } from '../../errors';
import { YOUZAN_API_URL, readYouzanAnswer, verifyYouzan } from '../../youzan';
import { isJsonObject, parseJsonExact } from '../json';
import { verifyFailure } from './hmac';
import { compact, ignore, list, obj, refunded, type Json } from './presets';
import { choice, headerText, payloadObject, text, wordList } from './read';
import type { CanonicalJson, Classification, ClassifyContext, FetchJson, Platform, PlatformOptions, VerifyInput, VerifyResult } from './types';

const SKU_FROM = ['outer_sku_id', 'outer_item_id', 'sku_id', 'item_id'] as const;
const SKU_FIELDS: Record<(typeof SKU_FROM)[number], readonly string[]> = {
	outer_sku_id: ['outer_sku_id', 'outer_item_id'],
	outer_item_id: ['outer_item_id'],
	sku_id: ['sku_id', 'item_id'],
	item_id: ['item_id'],
};

export function youzanOptions(o: PlatformOptions) {
	return {
		paidTypes: wordList(o, 'paidTypes', ['trade_TradePaid']),
		refundTypes: wordList(o, 'refundTypes', ['trade_refund_RefundSuccess']),
		skuFields: SKU_FIELDS[choice(o, 'skuFrom', SKU_FROM, 'outer_sku_id')],
		refundLines: choice(o, 'refundLines', ['trade', 'whole_order'] as const, 'trade'),
		tradeGetVersion: apiVersion(o, 'tradeGetVersion', '4.0.0'),
	};
}

type YouzanOptions = ReturnType<typeof youzanOptions>;

function apiVersion(o: PlatformOptions, key: string, fallback: string): string {
	const v = o[key];
	if (v === undefined || v === null || v === '') return fallback;
	if (typeof v === 'string' && /^[0-9]{1,3}(\.[0-9]{1,3}){2}$/.test(v.trim())) return v.trim();
	throw new ValidationError(`platformOptions.${key}`, `platformOptions.${key} must be an API version such as "${fallback}".`);
}

function parseBody(raw: Buffer): Json | null {
	try {
		const v = JSON.parse(raw.toString('utf8')) as unknown;
		return isJsonObject(v) ? v : null;
	} catch {
		return null;
	}
}

function verify(input: VerifyInput): VerifyResult {
	const body = parseBody(input.rawBody);
	const header = headerText(input.headers, 'Event-Sign');
	if (!body || typeof body.msg !== 'string') {
		return verifyFailure('bad_format', 'msg', 'The body is not a 有赞 push message (a JSON object with "msg" and "sign"), so it was rejected.');
	}
	if (header === undefined && typeof body.sign !== 'string') {
		return verifyFailure('missing_signature', 'event-sign', 'The push has no signature (no Event-Sign header, no "sign" field): it was not signed by 有赞, so it was rejected.');
	}
	const clientId = text(body.client_id);
	const appKey = input.appKey ?? '';
	if (clientId !== undefined && clientId !== appKey) {
		return verifyFailure('mismatch', 'client_id', 'The push is for another 有赞 app (its client_id is not the Client ID of the Auto Delivery Shop API credential).');
	}
	const r = verifyYouzan(appKey, input.secret, body, header);
	if (r.ok) return r;
	const field = header !== undefined ? 'event-sign' : 'sign';
	return r.reason === 'missing'
		? verifyFailure('bad_format', field, 'The push signature is not 32 hex characters (MD5).')
		: verifyFailure('mismatch', field, 'The signature does not match: the message was changed, or 有赞 signs with a different Client Secret.');
}

/** `msg` as 有赞 sends it: URL-encoded JSON (Java URLEncoder: `+` is a space), or plain JSON text. */
export function decodeYouzanMsg(msg: string): Json {
	let textMsg = msg.trim();
	if (!textMsg.startsWith('{')) {
		try {
			textMsg = decodeURIComponent(textMsg.replace(/\+/g, ' '));
		} catch {
			throw new ValidationError('msg', 'msg is not URL-encoded JSON (a bad %-escape).');
		}
	}
	let v: unknown;
	try {
		v = parseJsonExact(textMsg);
	} catch {
		throw new ValidationError('msg', 'msg is not JSON once URL-decoded.');
	}
	if (!isJsonObject(v)) throw new ValidationError('msg', 'msg must be a JSON object once URL-decoded.');
	return v;
}

function pick(line: Json, fields: readonly string[]): string | undefined {
	for (const f of fields) {
		const v = text(line[f]);
		if (v !== undefined && !(f.endsWith('_id') && !f.startsWith('outer') && /^0+$/.test(v))) return v;
	}
	return undefined;
}

function paid(msg: Json, skuFields: readonly string[], eventId: string | undefined): Classification {
	const full = obj(msg.full_order_info);
	const info = obj(full?.order_info);
	const orderId = text(info?.tid);
	if (!full || orderId === undefined) throw new ValidationError('msg.full_order_info.order_info.tid', 'msg.full_order_info.order_info.tid is required: the 有赞 trade message names no trade.');
	const buyerInfo = obj(full.buyer_info) ?? {};
	const lines = list(full.orders);
	const buyer = compact({ id: text(buyerInfo.yz_open_id) ?? text(buyerInfo.buyer_id), name: text(buyerInfo.fans_nickname) });
	const order = compact({
		event: 'order.paid',
		orderId,
		buyer: Object.keys(buyer).length > 0 ? buyer : undefined,
		items: lines.map((l) => compact({ sku: pick(l, skuFields), name: text(l.title), quantity: l.num ?? 1, price: text(l.price) })),
		amount: text(obj(full.pay_info)?.payment) ?? text(info?.payment),
		currency: 'CNY',
		paidAt: youzanTime(text(info?.pay_time)),
	});
	return { kind: 'paid', order, lines, eventId };
}

/** `2026-11-23 10:00:00` (China time, as 有赞 writes it) → ISO 8601 with +08:00. */
function youzanTime(t: string | undefined): string | undefined {
	return t !== undefined && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(t) ? `${t.replace(' ', 'T')}+08:00` : undefined;
}

function classify(body: unknown, ctx: ClassifyContext): Classification {
	const push = payloadObject(body, '有赞 push');
	const o = youzanOptions(ctx.options);
	const type = text(push.type) ?? '';
	const eventId = text(push.id);
	if (push.test === true || push.test === 'true') return ignore(type || 'test', '有赞 test push acknowledged; nothing was started.', eventId);
	const handled = o.paidTypes.includes(type) ? 'paid' : o.refundTypes.includes(type) ? 'refunded' : null;
	if (handled === null) {
		return ignore(type || 'unknown', `有赞 message type "${type.slice(0, 60)}" is not handled (this preset acts on ${[...o.paidTypes, ...o.refundTypes].join(', ')}): acknowledged and ignored.`, eventId);
	}
	if (typeof push.msg !== 'string') throw new ValidationError('msg', 'msg is required: the 有赞 push carries no message.');
	const msg = decodeYouzanMsg(push.msg);
	if (handled === 'paid') return paid(msg, o.skuFields, eventId);
	const tid = text(msg.tid) ?? text(obj(obj(msg.full_order_info)?.order_info)?.tid);
	if (tid === undefined) throw new ValidationError('msg.tid', 'msg.tid is required: the 有赞 refund message names no trade.');
	const oids = refundOids(msg.oids);
	if (oids.length === 0 || o.refundLines === 'whole_order') return refunded({ orderId: tid, items: [] }, eventId);
	return refunded({ orderId: tid, items: [] }, eventId, (fetch) => refundedLines(fetch, tid, oids, o));
}

/**
 * The refunded order lines a refund msg names: `oids` as text (several separated by commas), a
 * number, or a JSON list (of ids or of `{oid}`); exactly as sent (digits kept, nothing rewritten).
 */
function refundOids(v: unknown): string[] {
	const parts = Array.isArray(v) ? v.map((x) => (isJsonObject(x) ? x.oid : x)) : typeof v === 'string' ? v.split(',') : [v];
	const out: string[] = [];
	for (const p of parts) {
		const oid = text(p);
		if (oid !== undefined && !out.includes(oid)) out.push(oid);
	}
	return out;
}

/**
 * The refund of lines `oids` of trade `tid`, read with youzan.trade.get: `{items: [{sku}]}` (whole
 * lines, one per refunded SKU), or the whole order when every line of the trade is refunded.
 * 有赞's refusal is thrown as YouzanApiError (answered 5xx: 有赞 retries); a trade without one of
 * the oids, or a refunded line without a SKU, is a ValidationError naming the field.
 */
async function refundedLines(fetch: FetchJson, tid: string, oids: string[], o: YouzanOptions): Promise<CanonicalJson> {
	const answer = await fetch({ method: 'POST', url: `${YOUZAN_API_URL}/youzan.trade.get/${o.tradeGetVersion}`, body: { tid } });
	const data = readYouzanAnswer(answer, `youzan.trade.get for trade ${tid} (to find the refunded lines)`);
	const lines = list(obj(data.full_order_info)?.orders);
	const skus: string[] = [];
	for (const oid of oids) {
		const i = lines.findIndex((l) => text(l.oid) === oid);
		if (i < 0) throw new ValidationError('msg.oids', `有赞 refund of trade ${tid} names order line ${oid.slice(0, 40)}, which youzan.trade.get does not list: nothing was revoked.`);
		const sku = pick(lines[i], o.skuFields);
		if (sku === undefined) {
			throw new ValidationError(`full_order_info.orders[${i}].${o.skuFields[0]}`, `有赞 trade ${tid}: refunded line ${oid.slice(0, 40)} has no ${o.skuFields.join(' / ')} (the SKU From field): nothing was revoked.`);
		}
		if (!skus.includes(sku)) skus.push(sku);
	}
	const all = lines.every((l) => oids.includes(text(l.oid) ?? ''));
	return all ? { event: 'order.refunded', orderId: tid, items: [] } : { event: 'order.refunded', orderId: tid, items: skus.map((sku) => ({ sku })) };
}

export const youzan: Platform = {
	id: 'youzan',
	label: '有赞 Youzan',
	sources: [
		'https://doc.youzanyun.com/list/MSG/1243 (消息推送: 推送消息格式, 签名)',
		'https://github.com/youzan/youzanyun-sdk-java (PushMessageUtil)',
		'https://doc.youzanyun.com/detail/API/0/71 (youzan.trade.get, as open-source 有赞 clients link it)',
		'https://github.com/koaqiu/open-sdk-csharp (xBei/Youzan: GetTrade, YouzanTradeGetResult)',
	],
	needsAppKey: true,
	answer: { code: 0, msg: 'success' },
	checkOptions: (o) => void youzanOptions(o),
	verify,
	classify,
};
