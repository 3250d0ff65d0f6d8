/**
 * The 闲鱼 / 闲管家 preset of Mark Shipped: the order is marked shipped on 闲鱼 through 闲管家's
 * signed API (nodes/core/goofish: `?appid&timestamp&sign`, MD5 over the body), once per order.
 *
 * Two calls, the seller's choice (option `goofishShipCall`):
 *  - `order_ship` (default) — 订单物流发货 `POST /api/open/order/ship` with `order_no`, `waybill_no`,
 *    `express_code`, `express_name` (https://s.apifox.cn/3ac13d69-5a38-4536-ae9b-a54001854ef8/api-93586386;
 *    the page's example uses express_name "其他" / express_code "qita"; waybill_no must match
 *    /^\w{10,}$/). For virtual goods there is no parcel: the defaults are express "其他" / "qita" and
 *    the order number as the waybill number (every option can be changed).
 *  - `dummy_send` — 无需物流发货 `POST /api/open/trade/logistics/dummy/send` with `order_no` and
 *    `send_way` (https://s.apifox.cn/35842026-8755-4ac7-a61e-9b07fbcac599/api-495532178; "send_way=2
 *    时,如果卡密商品设置了发货申明,买家不确认是不会发送卡密的"). Default send_way 1.
 * Answers `{code: 0, msg, data}`; another code is a refusal: a clear error naming 闲管家's `msg`, the
 * order stays "sent" (retry with Mark Shipped). The reference recorded is `code=0` plus what `data`
 * holds.
 *
 * Not confirmed against the live platform: which of the two calls 闲鱼 accepts for card / virtual
 * goods, the meaning of send_way 1, and the code 闲管家 answers for an order already shipped — the
 * preset never ships an order twice itself (wholeOrder.ts).
 */
import { ValidationError } from '../../errors';
import { goofishCall, readGoofishAnswer, type GoofishApiError } from '../../goofish';
import type { DeliveryWithKeys, KeyStore } from '../../store';
import { CallSequence } from './run';
import { PlatformAnswerError, baseUrl, text, urlText, type GoofishTarget, type PlatformCall } from './types';
import { shippedSibling, type WholeOrderShipDone } from './wholeOrder';

export const GOOFISH_SHIP_CALLS = ['order_ship', 'dummy_send'] as const;
export type GoofishShipCall = (typeof GOOFISH_SHIP_CALLS)[number];

export interface GoofishShipOptions {
	call?: GoofishShipCall;
	/** order_ship: default "qita". */
	expressCode?: string;
	/** order_ship: default "其他". */
	expressName?: string;
	/** order_ship: default '' = the order number. */
	waybillNo?: string;
	/** dummy_send: default 1. */
	sendWay?: number;
}

/** The target with its fields checked (App Key and App Secret set, the API URL an http(s) URL). */
export function goofishTarget(t: GoofishTarget): GoofishTarget {
	if (text(t.appKey) === '' || text(t.appSecret) === '') {
		throw new ValidationError('goofishAppKey', 'The 闲管家 App Key or App Secret is empty: set them in the Auto Delivery Shop API credential (闲管家 开放平台 → 应用管理).');
	}
	const apiUrl = text(t.apiUrl) === '' ? '' : urlText(baseUrl(text(t.apiUrl), 'goofishApiUrl', 'The 闲管家 API URL'));
	return { ...t, appKey: text(t.appKey), apiUrl };
}

/** A 闲管家 order number: digits, exactly as the delivery has it. */
export function goofishOrderNo(orderId: string): string {
	if (!/^[0-9]{1,30}$/.test(orderId)) {
		throw new ValidationError('orderId', `闲管家 order numbers are digits (e.g. 2226688164543566229), but this delivery's order id is "${orderId.slice(0, 60)}". Check the order id Shop Webhook recorded, or use the Custom HTTP API platform.`);
	}
	return orderId;
}

export function goofishShipOptions(o: GoofishShipOptions | undefined): Required<GoofishShipOptions> {
	const call = o?.call ?? 'order_ship';
	if (!GOOFISH_SHIP_CALLS.includes(call)) throw new ValidationError('goofishShipCall', `Ship Call must be one of ${GOOFISH_SHIP_CALLS.join(', ')}.`);
	const sendWay = o?.sendWay ?? 1;
	if (!Number.isInteger(sendWay) || sendWay < 1 || sendWay > 9) throw new ValidationError('goofishSendWay', 'Send Way must be a whole number from 1 to 9.');
	return { call, expressCode: text(o?.expressCode) || 'qita', expressName: text(o?.expressName) || '其他', waybillNo: text(o?.waybillNo), sendWay };
}

/** The request body of the chosen call. */
export function goofishShipBody(orderNo: string, o: Required<GoofishShipOptions>): { path: string; what: string; body: Record<string, unknown> } {
	if (o.call === 'dummy_send') return { path: '/api/open/trade/logistics/dummy/send', what: `无需物流发货 for order ${orderNo}`, body: { order_no: orderNo, send_way: o.sendWay } };
	return { path: '/api/open/order/ship', what: `订单物流发货 for order ${orderNo}`, body: { order_no: orderNo, waybill_no: o.waybillNo || orderNo, express_code: o.expressCode, express_name: o.expressName } };
}

/** The answer's `data` as a short reference ("code=0" plus its fields). */
export function answerReference(data: Record<string, unknown>): string {
	const fields = Object.entries(data)
		.filter(([, v]) => v !== null && typeof v !== 'object')
		.map(([k, v]) => `${k}=${String(v)}`);
	return ['code=0', ...fields].join(' ').slice(0, 255);
}

/** A reader for CallSequence: the platform's refusal becomes a PlatformAnswerError (recorded as a failed ship). */
export function envelopeReader(read: (data: unknown, what: string) => Record<string, unknown>, what: string) {
	return (data: unknown): Record<string, unknown> => {
		try {
			return read(data, what);
		} catch (err) {
			throw new PlatformAnswerError((err as Error).message, (err as GoofishApiError).code ?? 'refused');
		}
	};
}

export interface GoofishShipRequest {
	target: GoofishTarget;
	delivery: DeliveryWithKeys;
	call: PlatformCall;
	options: Required<GoofishShipOptions>;
}

/** Ships the order of `delivery` on 闲鱼 (or finds it shipped by a sibling line). */
export async function shipGoofish(store: KeyStore, req: GoofishShipRequest): Promise<WholeOrderShipDone> {
	const orderNo = goofishOrderNo(req.delivery.orderId);
	const done = await shippedSibling(store, req.delivery, (sku) => `闲管家 order ${orderNo} was already shipped when SKU ${sku} was (the call ships the whole order): recorded without a second call.`);
	if (done) return done;
	const { path, what, body } = goofishShipBody(orderNo, req.options);
	const calls = new CallSequence();
	const data = await calls.run(goofishCall(req.target, path, body, req.call), envelopeReader(readGoofishAnswer, what));
	return { status: calls.status, attempts: calls.attempts, reference: answerReference(data), note: null };
}
