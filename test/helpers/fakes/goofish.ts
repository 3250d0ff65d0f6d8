/**
 * A local fake of 闲管家 (open.goofish.pro), built from its published API pages — not a recording
 * of the live platform. In-process HTTP on 127.0.0.1 (fakes/http.ts).
 *
 * Signature (接入说明 → 签名说明, open.goofish.pro): every call carries `appid`, `timestamp` (unix s,
 * 5 minutes valid) and `sign` = lowercase md5("<appKey>,<md5(body)>,<timestamp>,<appSecret>") in the
 * query, checked here with Node's crypto directly (never nodes/core/goofish); a wrong one answers
 * `{code: 1002, msg: "签名错误"}` (the code is not confirmed; any non-zero code is a refusal).
 * APIs (answers `{code, msg, data}`):
 *  - POST /api/open/order/detail {order_no} (查询订单详情, https://s.apifox.cn/3ac13d69-5a38-4536-ae9b-a54001854ef8/api-93586385)
 *  - POST /api/open/order/ship {order_no, waybill_no, express_code, express_name} (订单物流发货,
 *    …/api-93586386: waybill_no must match /^\w{10,}$/); the order moves to 21 已发货; a second ship
 *    answers code 1003 "订单状态不允许发货" (not confirmed)
 *  - POST /api/open/trade/logistics/dummy/send {order_no, send_way} (无需物流发货, …/api-495532178)
 *  - POST /api/open/user/authorize/list (查询闲鱼店铺) for the credential test
 * The fake also pushes (订单推送通知, …/api-93586387): `pushTo(url, body)` POSTs a body with the
 * signed query, as 闲管家 calls the seller's push URL.
 */
import { createHash } from 'node:crypto';

import { parse, stringify } from 'lossless-json';

import { fixtureBytes } from '../platformRequests';
import { startFake, type FakeFault, type FakeRequest, type FakeServer } from './http';

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

type Json = Record<string, unknown>;

export interface GoofishOrder {
	order_no: string;
	order_status: number;
	pay_amount: number;
	buyer_nick: string;
	buyer_eid: string;
	goods: Json;
}

export interface GoofishFake {
	url: string;
	requests: FakeRequest[];
	orders: Map<string, GoofishOrder>;
	/** Every accepted ship call (order/ship or dummy/send), with its time. */
	ships: Array<{ orderNo: string; path: string; body: Json; at: number }>;
	addOrder(o: { orderNo: string; sku: string; quantity?: number; payAmountFen?: number; buyer?: string }): GoofishOrder;
	/** The signed query of a call with `body` at `nowS` (the rule of the page, computed here). */
	signedQuery(body: string, nowS?: number, secret?: string): string;
	pushTo(url: string, body: string, opts?: { nowS?: number; secret?: string }): Promise<{ status: number; json: Json }>;
	faults(route: string, sequence: FakeFault[]): void;
	close(): Promise<void>;
}

export function pushBody(orderNo: string, orderStatus: number, refundStatus = 0): string {
	const push = parse(fixtureBytes('goofish', 'order-push.json').toString('utf8')) as Json;
	return stringify({ ...push, order_no: orderNo, order_status: orderStatus, refund_status: refundStatus, modify_time: Math.floor(Date.now() / 1000) }) as string;
}

export async function startGoofishFake(keys: { appKey: string; appSecret: string }): Promise<GoofishFake> {
	const orders = new Map<string, GoofishOrder>();
	const ships: GoofishFake['ships'] = [];
	const detailFixture = (JSON.parse(fixtureBytes('goofish', 'order-detail.json').toString('utf8')) as { data: Json }).data;
	const ok = (data: unknown = {}) => ({ status: 200, body: { code: 0, msg: 'OK', data } });
	const refuse = (code: number, msg: string) => ({ status: 200, body: { code, msg, data: {} } });

	const signedQuery = (body: string, nowS = Math.floor(Date.now() / 1000), secret = keys.appSecret) =>
		`appid=${keys.appKey}&timestamp=${nowS}&sign=${md5(`${keys.appKey},${md5(body)},${nowS},${secret}`)}`;

	const fake: FakeServer = await startFake((req) => {
		const ts = Number(req.query.timestamp);
		if (req.method !== 'POST') return { status: 405, body: { code: 405, msg: 'method' } };
		if (req.query.appid !== keys.appKey) return refuse(1003, '应用不存在');
		if (!Number.isFinite(ts) || Math.abs(Date.now() / 1000 - ts) > 300) return refuse(1001, '时间戳已过期');
		if (req.query.sign !== md5(`${keys.appKey},${md5(req.rawBody)},${ts},${keys.appSecret}`)) return refuse(1002, '签名错误');
		const body = (req.rawBody === '' ? {} : (JSON.parse(req.rawBody) as Json)) ?? {};
		const order = orders.get(String(body.order_no ?? ''));
		switch (req.path) {
			case '/api/open/user/authorize/list':
				return ok({ list: [{ authorize_id: 1, user_name: 'tb924343042' }] });
			case '/api/open/order/detail':
				return order ? ok({ ...detailFixture, ...order }) : refuse(1001, '订单不存在');
			case '/api/open/order/ship':
			case '/api/open/trade/logistics/dummy/send': {
				if (!order) return refuse(1001, '订单不存在');
				if (req.path === '/api/open/order/ship' && !/^\w{10,}$/.test(String(body.waybill_no ?? ''))) return refuse(1001, 'waybill_no 格式错误');
				if (order.order_status !== 12) return refuse(1003, '订单状态不允许发货');
				order.order_status = 21;
				ships.push({ orderNo: order.order_no, path: req.path, body, at: Date.now() });
				return ok({});
			}
			default:
				return { status: 404, body: { code: 404, msg: 'not found' } };
		}
	});

	return {
		url: fake.url,
		requests: fake.requests,
		orders,
		ships,
		addOrder({ orderNo, sku, quantity = 1, payAmountFen = 1990, buyer = '闲鱼买家' }) {
			const goods = { ...(detailFixture.goods as Json), outer_id: sku, quantity, price: Math.round(payAmountFen / quantity) };
			const o: GoofishOrder = { order_no: orderNo, order_status: 12, pay_amount: payAmountFen, buyer_nick: buyer, buyer_eid: md5(buyer).slice(0, 20), goods };
			orders.set(orderNo, o);
			return o;
		},
		signedQuery,
		async pushTo(url, body, opts = {}) {
			const res = await fetch(`${url}?${signedQuery(body, opts.nowS, opts.secret)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
			const text = await res.text();
			let json: Json = {};
			try {
				json = JSON.parse(text) as Json;
			} catch {
				// not JSON
			}
			return { status: res.status, json };
		},
		faults: fake.faults,
		close: fake.close,
	};
}
