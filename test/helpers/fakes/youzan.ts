/**
 * A local fake of 有赞云 (open.youzanyun.com), built from its documentation — not a recording of the
 * live platform. In-process HTTP on 127.0.0.1 (fakes/http.ts).
 *
 * API (有赞云 开发指南 → API 调用: `POST /api/<api>/<version>?access_token=…`, JSON body; answers
 * `{success: true, code: 200, data}`; a bad token is refused by the gateway as
 * `{gw_err_resp: {err_code: 4201, err_msg: "invalid access_token"}}` — the code is not confirmed):
 *  - youzan.logistics.online.confirm 3.0.0 {tid, is_no_express: 1} → `{is_success: true}`; the
 *    trade moves to WAIT_BUYER_CONFIRM_GOODS; a trade not waiting for shipment answers
 *    `{success: false, code: 101300001, message: "订单状态不正确"}` (not confirmed)
 *  - youzan.shop.get 3.0.0 → `{name}` (the credential test)
 *  - youzan.trade.get 4.0.0 {tid} → the answer of test/fixtures/platforms/youzan/trade-get.json
 *    (built from the API page's fields as the open-source 有赞 SDK for C# reads them) with the
 *    trade's own `full_order_info` (`addTrade(tid, lines)`: one `orders[]` entry per line, oid and
 *    SKU code as given); an unknown tid answers `{success: false, code: 101000001, message:
 *    "订单不存在"}` (not confirmed)
 * Push messages (消息推送 → 推送消息格式 / 签名, https://doc.youzanyun.com/list/MSG/1243): `pushMessage`
 * builds the envelope around a decoded msg (test/fixtures/platforms/youzan), `msg` URL-encoded,
 * `sign` = md5(client_id + msg + client_secret) computed here with Node's crypto, also as the
 * Event-Sign header.
 */
import { createHash, randomUUID } from 'node:crypto';

import { fixtureBytes } from '../platformRequests';
import { startFake, type FakeFault, type FakeRequest } from './http';

type Json = Record<string, unknown>;

/** One order line (`orders[]` entry) of a trade: its oid (交易明细id), SKU code (outer_sku_id) and quantity. */
export interface YouzanLine {
	oid: string;
	sku: string;
	num?: number;
}

const TRADE_GET = JSON.parse(fixtureBytes('youzan', 'trade-get.json').toString('utf8')) as { data: { full_order_info: Json } } & Json;
const FIXTURE_LINE = (TRADE_GET.data.full_order_info.orders as Json[])[0];

/** The fixture's full_order_info with `tid` and one `orders[]` entry per line. */
export function fullOrderInfo(template: Json, tid: string, lines: YouzanLine[]): Json {
	const full = structuredClone(template.full_order_info ?? template) as Json;
	(full.order_info as Json).tid = tid;
	const [line] = full.orders as Json[];
	full.orders = lines.map((l, i) => ({ ...line, oid: l.oid, outer_sku_id: l.sku, outer_item_id: `${l.sku}-ITEM`, item_id: Number(line.item_id) + i, sku_id: Number(line.sku_id) + i, num: l.num ?? 1 }));
	return full;
}

export interface YouzanFake {
	url: string;
	requests: FakeRequest[];
	/** tid → status. */
	trades: Map<string, string>;
	/** tid → full_order_info served by youzan.trade.get. */
	details: Map<string, Json>;
	confirms: Array<{ tid: string; body: Json; at: number }>;
	/** A paid trade waiting for shipment; `lines` default: one line, the fixture's (oid …789, YZ-GAME-100). */
	addTrade(tid: string, lines?: YouzanLine[]): void;
	faults(route: string, sequence: FakeFault[]): void;
	close(): Promise<void>;
}

export async function startYouzanFake(accessToken: string): Promise<YouzanFake> {
	const trades = new Map<string, string>();
	const details = new Map<string, Json>();
	const confirms: YouzanFake['confirms'] = [];
	const fake = await startFake((req) => {
		if (req.query.access_token !== accessToken) return { status: 200, body: { gw_err_resp: { err_code: 4201, err_msg: 'invalid access_token' } } };
		const body = (req.body ?? {}) as Json;
		if (req.path === '/api/youzan.shop.get/3.0.0') return { status: 200, body: { success: true, code: 200, data: { name: '有赞测试店' } } };
		if (req.path === '/api/youzan.trade.get/4.0.0') {
			const full = details.get(String(body.tid ?? ''));
			if (!full) return { status: 200, body: { success: false, code: 101000001, message: '订单不存在' } };
			return { status: 200, body: { ...TRADE_GET, data: { ...TRADE_GET.data, full_order_info: full, refund_order: [] }, trace_id: randomUUID() } };
		}
		if (req.path !== '/api/youzan.logistics.online.confirm/3.0.0') return { status: 200, body: { gw_err_resp: { err_code: 4004, err_msg: 'api not found' } } };
		const tid = String(body.tid ?? '');
		if (String(body.is_no_express) !== '1') return { status: 200, body: { success: false, code: 101300002, message: '缺少物流信息' } };
		if (trades.get(tid) !== 'WAIT_SELLER_SEND_GOODS') return { status: 200, body: { success: false, code: 101300001, message: '订单状态不正确' } };
		trades.set(tid, 'WAIT_BUYER_CONFIRM_GOODS');
		confirms.push({ tid, body, at: Date.now() });
		return { status: 200, body: { success: true, code: 200, data: { is_success: true }, message: 'successful', trace_id: randomUUID() } };
	});
	return {
		url: `${fake.url}/api`,
		requests: fake.requests,
		trades,
		details,
		confirms,
		addTrade: (tid, lines = [{ oid: String(FIXTURE_LINE.oid), sku: String(FIXTURE_LINE.outer_sku_id) }]) => {
			trades.set(tid, 'WAIT_SELLER_SEND_GOODS');
			details.set(tid, fullOrderInfo(TRADE_GET.data, tid, lines));
		},
		faults: fake.faults,
		close: fake.close,
	};
}

/** Java URLEncoder.encode(text, "UTF-8") (spaces as `+`), as 有赞 encodes `msg`. */
export function javaUrlEncode(text: string): string {
	return encodeURIComponent(text).replace(/%20/g, '+').replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A push as 有赞 sends it: the body text and its headers (Event-Sign, Event-Type). */
export function pushMessage(o: { clientId: string; clientSecret: string; type: string; msg: Json | string; test?: boolean; kdtId?: number }): { body: string; headers: Record<string, string> } {
	const msg = javaUrlEncode(typeof o.msg === 'string' ? o.msg : JSON.stringify(o.msg));
	const sign = createHash('md5').update(`${o.clientId}${msg}${o.clientSecret}`, 'utf8').digest('hex');
	const envelope = { client_id: o.clientId, id: randomUUID().replace(/-/g, ''), kdt_id: o.kdtId ?? 19960001, kdt_name: '有赞测试店', mode: 1, msg, sendCount: 0, sign, status: 'TRADE_PAID', test: o.test === true, type: o.type, version: Date.now() };
	return { body: JSON.stringify(envelope), headers: { 'content-type': 'application/json', 'event-sign': sign, 'event-type': o.type, 'client-id': o.clientId } };
}

/** The trade paid msg of the fixture with `tid` and one line of `sku` × `num` (the fixture's oid), or the given lines. */
export function tradePaidMsg(fixture: Json, tid: string, sku: string | YouzanLine[], num = 1): Json {
	if (Array.isArray(sku)) return { full_order_info: fullOrderInfo(fixture, tid, sku) };
	const full = structuredClone(fixture.full_order_info) as Json;
	(full.order_info as Json).tid = tid;
	const [line] = full.orders as Json[];
	full.orders = [{ ...line, outer_sku_id: sku, num }];
	return { full_order_info: full };
}
