/**
 * 闲鱼 through 闲管家 (open.goofish.pro): the order push (订单推送通知) as a Shop Webhook preset.
 *
 * Sources (read for this preset; the pages are 闲管家's published API documentation on apifox):
 *  - 订单推送通知 (https://s.apifox.cn/3ac13d69-5a38-4536-ae9b-a54001854ef8/api-93586387, shared from
 *    open.goofish.pro): `POST <your push URL>?appid=<AppKey>&timestamp=<unix s, 5 min valid>&sign=<md5>`
 *    with the JSON body `{seller_id, user_name, order_no, order_type, order_status, refund_status,
 *    modify_time}`; sent when an order's information, status or refund status changes; retried at
 *    most three times; "只有响应报文的result字段返回success,才认为成功" (the answer must carry
 *    `result: "success"`); 3-second timeout. order_status 11 待付款, 12 待发货, 21 已发货, 22 交易成功,
 *    23 已退款, 24 交易关闭; refund_status 0 未申请, 1 待商家处理, 2 待买家退货, 3 待商家收货, 4 退款关闭,
 *    5 退款成功, 6 已拒绝, 8 待确认退货地址.
 *  - 签名说明 (接入说明): sign = md5(appKey + "," + md5(body) + "," + timestamp + "," + appSecret), the
 *    merchant rule with mch_id / mch_secret — nodes/core/goofish/sign.ts.
 *  - 查询订单详情 (https://s.apifox.cn/3ac13d69-5a38-4536-ae9b-a54001854ef8/api-93586385):
 *    `POST /api/open/order/detail {order_no}` → `{code: 0, data: {order_no, order_status, pay_amount
 *    (分), pay_time, buyer_eid, buyer_nick, goods: {title, quantity, price (分), product_id, item_id,
 *    outer_id, sku_id, sku_text}}}`. The push carries no goods, amount or buyer, so a paid push is
 *    completed with this call (Classification.complete, signed with the credential's App Key / Secret).
 *
 * Classification: refund_status in `refundStatuses` (default 5 退款成功) or order_status in
 * `refundedStatuses` (default 23 已退款) → refunded, the whole order; order_status in `paidStatuses`
 * (default 12 待发货) → paid, unless a refund is in progress (refund_status 1, 2, 3 or 8: ignored,
 * delivered once the refund is closed or refused); anything else → ignored with 200.
 *
 * Order: orderId = `order_no` with its exact digits (parsed losslessly, never through a JS number);
 * one line per goods entry: SKU = goods[`skuField`] (default `outer_id`, the 商家编码), quantity,
 * price 分 → yuan; amount = pay_amount 分 → yuan (exact decimal); buyer id `buyer_eid`, name
 * `buyer_nick`; currency CNY.
 *
 * Not verified against the live platform (built from the pages above, tested against
 * test/helpers/fakes/goofish.ts): whether `goods` is one object or a list (both are read), whether
 * ids come as JSON numbers or strings (both are read exactly), and which statuses a virtual-goods
 * shop sees — hence the options.
 */
import { ValidationError } from '../../errors';
import { GOOFISH_API_URL, readGoofishAnswer, verifyGoofish } from '../../goofish';
import { isJsonObject } from '../json';
import { verifyFailure } from './hmac';
import { ISO_MINOR_UNITS, compact, ignore, isoTime, keyOption, refunded, toMajor, type Json } from './presets';
import { payloadObject, text, wordList } from './read';
import type { CanonicalJson, Classification, ClassifyContext, FetchJson, Platform, PlatformOptions, VerifyInput, VerifyResult } from './types';

const REFUND_IN_PROGRESS = ['1', '2', '3', '8'];

export function goofishOptions(o: PlatformOptions) {
	return {
		paidStatuses: wordList(o, 'paidStatuses', ['12']),
		refundedStatuses: wordList(o, 'refundedStatuses', ['23']),
		refundStatuses: wordList(o, 'refundStatuses', ['5']),
		skuField: keyOption(o, 'skuField', 'outer_id'),
	};
}

const one = (v: string | string[] | undefined) => (typeof v === 'string' ? v : undefined);

function verify(input: VerifyInput): VerifyResult {
	const q = input.query ?? {};
	const query = { appid: one(q.appid), timestamp: one(q.timestamp), sign: one(q.sign), mch_id: one(q.mch_id) };
	const r = verifyGoofish({ appKey: input.appKey ?? '', appSecret: input.secret, mchSecret: input.merchantSecret || null }, query, input.rawBody, input.now);
	if (r.ok) return r;
	switch (r.reason) {
		case 'missing':
			if (query.timestamp === undefined || !/^[0-9]{1,12}$/.test(query.timestamp)) {
				return verifyFailure(query.timestamp === undefined ? 'missing_timestamp' : 'bad_timestamp', 'timestamp', 'The query parameter "timestamp" (unix seconds) is missing or not a number: the push was not signed by 闲管家, so it was rejected.');
			}
			return verifyFailure('missing_signature', 'sign', 'The query parameters "appid" and "sign" (32 hex characters) are required: the push was not signed by 闲管家, so it was rejected.');
		case 'wrong_app':
			return verifyFailure('mismatch', 'appid', 'The push is for another 闲管家 app (its "appid" is not the App Key of the Auto Delivery Shop API credential).');
		case 'expired':
		case 'future':
			return verifyFailure('expired', 'timestamp', `The push's timestamp is more than 5 minutes ${r.reason === 'expired' ? 'old' : 'in the future'}: a replayed push, or a wrong clock.`);
		default:
			return verifyFailure('mismatch', 'sign', 'The signature does not match: the body was changed, or 闲管家 signs with a different App Secret.');
	}
}

const codeOf = (v: unknown) => text(v) ?? '';

function classify(body: unknown, ctx: ClassifyContext): Classification {
	const push = payloadObject(body, '闲管家 order push');
	const o = goofishOptions(ctx.options);
	const orderId = text(push.order_no);
	if (orderId === undefined) throw new ValidationError('order_no', 'order_no is required: the 闲管家 push names no order.');
	const status = codeOf(push.order_status);
	const refund = codeOf(push.refund_status);
	const event = `order_status ${status || '?'} / refund_status ${refund || '?'}`;
	if (o.refundStatuses.includes(refund) || o.refundedStatuses.includes(status)) return refunded({ orderId, items: [] });
	if (!o.paidStatuses.includes(status)) {
		return ignore(event, `闲管家 order ${orderId.slice(0, 40)} has order_status ${status.slice(0, 10) || '(none)'}: not paid and waiting for shipment, acknowledged and ignored.`);
	}
	if (REFUND_IN_PROGRESS.includes(refund)) {
		return ignore(event, `闲管家 order ${orderId.slice(0, 40)} has a refund in progress (refund_status ${refund}): nothing is delivered until the refund is closed or refused.`);
	}
	const order: CanonicalJson = { event: 'order.paid', orderId, currency: 'CNY' };
	return { kind: 'paid', order, complete: (fetch) => completeOrder(fetch, orderId, o.skuField) };
}

/** The paid order from 查询订单详情 (the push has no goods, amount or buyer). */
async function completeOrder(fetch: FetchJson, orderId: string, skuField: string): Promise<CanonicalJson> {
	const answer = await fetch({ method: 'POST', url: `${GOOFISH_API_URL}/api/open/order/detail`, body: { order_no: orderId } });
	const d = readGoofishAnswer(answer, `查询订单详情 (/api/open/order/detail) for order ${orderId}`);
	const goods = Array.isArray(d.goods) ? d.goods.filter(isJsonObject) : isJsonObject(d.goods) ? [d.goods] : [];
	if (goods.length === 0) throw new ValidationError('items', `闲管家 order ${orderId} has no goods in its details (/api/open/order/detail).`);
	const items = goods.map((g: Json, i) => {
		const sku = text(g[skuField]);
		if (sku === undefined) {
			throw new ValidationError(`items[${i}].sku`, `闲管家 order ${orderId}: its goods have no "${skuField}" (the field chosen as the SKU — set the 商家编码, or choose another SKU Field).`);
		}
		return compact({ sku, name: text(g.title), quantity: g.quantity ?? 1, price: toMajor(g.price, 'CNY', ISO_MINOR_UNITS, `goods.price`) });
	});
	const buyer = compact({ id: text(d.buyer_eid), name: text(d.buyer_nick) });
	return compact({
		event: 'order.paid',
		orderId,
		buyer: Object.keys(buyer).length > 0 ? buyer : undefined,
		items,
		amount: toMajor(d.pay_amount, 'CNY', ISO_MINOR_UNITS, 'pay_amount'),
		currency: 'CNY',
		paidAt: isoTime(Number(text(d.pay_time))),
	});
}

export const goofish: Platform = {
	id: 'goofish',
	label: '闲鱼 / 闲管家',
	sources: [
		'https://s.apifox.cn/3ac13d69-5a38-4536-ae9b-a54001854ef8/api-93586387 (订单推送通知)',
		'https://s.apifox.cn/3ac13d69-5a38-4536-ae9b-a54001854ef8/api-93586385 (查询订单详情)',
		'https://open.goofish.pro (接入说明: 签名说明)',
	],
	needsAppKey: true,
	answer: { result: 'success', msg: '接收成功' },
	checkOptions: (o) => void goofishOptions(o),
	verify,
	classify,
};
