/**
 * A local fake of the Taobao Open Platform (TOP) router, built from TOP's documentation — not a
 * recording of the live platform. Runs in-process (node:http on 127.0.0.1, a free port).
 *
 * Protocol (https://open.taobao.com/doc.htm?docId=101617&docType=1, "API调用方法详解"): a POST form
 * (or query) with `method`, `app_key`, `session`, `timestamp` (`yyyy-MM-dd HH:mm:ss`, GMT+8, at most
 * 10 minutes off), `v=2.0`, `format=json`, `sign_method` (md5 | hmac | hmac-sha256), `sign`; the sign
 * is checked exactly as TOP documents it — every parameter but `sign` with a non-empty value, sorted
 * by name, name+value concatenated; md5 = MD5(secret + text + secret), hmac = HMAC-MD5(secret,
 * text), hmac-sha256 = HMAC-SHA256(secret, text); upper-case hex — computed here independently of
 * nodes/core/taobao/sign.ts. Answers `{"<method without taobao., _ for .>_response": …}` or
 * `{"error_response": {code, msg, sub_code, sub_msg, request_id}}` with the platform codes of
 * "平台错误码" (https://open.taobao.com/doc.htm?docId=114&docType=1): 21/22 method, 25 signature,
 * 26/27 session, 28/29 app key, 31 timestamp, 40/41 arguments, 7 call limit ("This ban will last for
 * N more seconds"), 15 with an isp.* sub code. Ids (`tid`, `oid`, `refund_id`) are written as JSON
 * numbers with all their digits, as TOP does.
 *
 * APIs (fields from each API page's answer example):
 * - taobao.trades.sold.increment.get (https://open.taobao.com/api.htm?docId=128&docType=2):
 *   fields, start_modified/end_modified (required, end after start, ≤ 1 day apart, else isv.invalid-parameter),
 *   status, page_no (default 1), page_size (default 40, ≤ 100), use_has_next; trades whose modified is
 *   in [start, end], newest first ("以订单的修改时间倒序排列"), `total_results` (unless use_has_next),
 *   `has_next`. Not confirmed: whether start/end are inclusive (the fake includes both) — the trigger's
 *   overlapping windows do not depend on it.
 * - taobao.trade.fullinfo.get (https://open.taobao.com/api.htm?docId=54&docType=2): fields, tid → `{trade}`;
 *   an unknown tid answers isv.trade-not-exist (sub code not confirmed).
 * - taobao.logistics.dummy.send (https://open.taobao.com/api.htm?docId=10687&docType=2): tid, feature →
 *   `{shipping: {is_success: true}}`; the trade moves to WAIT_BUYER_CONFIRM_GOODS (modified now). A
 *   trade not waiting for shipment answers isv.logistics-… (the exact sub code is not confirmed: the
 *   fake uses `isv.logistics-dummy-service-error`).
 * - taobao.refunds.receive.get (https://open.taobao.com/api.htm?docId=52&docType=2): fields, status,
 *   start_modified/end_modified, page_no, page_size → `{refunds: {refund: [...]}, total_results}`,
 *   newest first (sort order not confirmed).
 *
 * Test controls: `reset`, `addTrade`, `modifyTrade` (modified = now), `refund`, `fail(method, faults)`
 * (`{code: '27'}`, `{code: '7', ban: 3}`, `{code: '15', sub: 'isp.remote-service-error'}`, 500,
 * 'timeout'), `beforeAnswer(hook)` (runs before each answer: change trades between two page
 * requests), `calls` (every request, parsed), `dummySends`, `clock` (the fake's now, ms).
 */
import { createHash, createHmac } from 'node:crypto';
import * as http from 'node:http';
import type { Socket } from 'node:net';

import { LosslessNumber, stringify } from 'lossless-json';

export interface FakeOrder {
	oid: string;
	num: number;
	num_iid: string;
	title: string;
	price: string;
	payment?: string;
	outer_sku_id?: string;
	outer_iid?: string;
	sku_id?: string;
	refund_status?: string;
	status?: string;
}

export interface FakeTrade {
	tid: string;
	status: string;
	payment: string;
	buyer_nick: string;
	created: number;
	pay_time: number;
	modified: number;
	orders: FakeOrder[];
}

export interface FakeRefund {
	refund_id: string;
	tid: string;
	oid: string;
	status: string;
	modified: number;
	refund_fee: string;
	num: number;
}

export type TopFault = { code: string; sub?: string; ban?: number } | 500 | 502 | 'timeout';

export interface TopCall {
	method: string;
	params: Record<string, string>;
	answer: 'ok' | string;
	at: number;
}

export interface TopRouterFake {
	url: string;
	trades: Map<string, FakeTrade>;
	refunds: FakeRefund[];
	calls: TopCall[];
	dummySends: { tid: string; feature: string; at: number }[];
	/** The fake's clock (ms); defaults to Date.now. */
	clock: () => number;
	addTrade(t: Partial<FakeTrade> & { tid: string; orders: FakeOrder[] }): FakeTrade;
	modifyTrade(tid: string, patch?: Partial<FakeTrade>): FakeTrade;
	refund(tid: string, oids?: string[]): FakeRefund[];
	fail(method: string, faults: TopFault[]): void;
	beforeAnswer(hook: ((call: TopCall) => void) | null): void;
	/** Session Key the router accepts (change it to expire the old one). */
	session: string;
	/** Leave `orders` out of increment.get answers (the trigger must ask fullinfo.get). */
	omitOrdersInIncrement: boolean;
	/** Forgets trades, refunds, calls, sends, faults and the hook; `session` becomes `opts.session` again. */
	reset(): void;
	close(): Promise<void>;
}

/** TOP time text (GMT+8). Written independently of sign.ts's topTimestamp. */
export function gmt8(ms: number): string {
	return new Date(ms + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
}

function parseGmt8(text: string): number {
	if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(text)) return NaN;
	return Date.parse(`${text.replace(' ', 'T')}+08:00`);
}

/** The sign TOP expects for `params` (see the header). */
export function expectedSign(params: Record<string, string>, secret: string, method: string): string | null {
	const text = Object.entries(params)
		.filter(([k, v]) => k !== 'sign' && k !== '' && v !== '')
		.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
		.reduce((acc, [k, v]) => acc + k + v, '');
	const body = Buffer.from(text, 'utf8');
	if (method === 'md5') return createHash('md5').update(Buffer.concat([Buffer.from(secret), body, Buffer.from(secret)])).digest('hex').toUpperCase();
	if (method === 'hmac') return createHmac('md5', secret).update(body).digest('hex').toUpperCase();
	if (method === 'hmac-sha256') return createHmac('sha256', secret).update(body).digest('hex').toUpperCase();
	return null;
}

const num = (digits: string) => new LosslessNumber(digits);
/** TOP keeps times to the second. */
const sec = (ms: number) => Math.floor(ms / 1000) * 1000;

function tradeJson(t: FakeTrade, fields: string[], withOrders: boolean): Record<string, unknown> {
	const want = (f: string) => fields.includes(f);
	const out: Record<string, unknown> = {};
	const all: Record<string, unknown> = {
		tid: num(t.tid),
		status: t.status,
		payment: t.payment,
		buyer_nick: t.buyer_nick,
		created: gmt8(t.created),
		pay_time: gmt8(t.pay_time),
		modified: gmt8(t.modified),
	};
	for (const [k, v] of Object.entries(all)) if (want(k)) out[k] = v;
	const orderFields = fields.filter((f) => f.startsWith('orders.')).map((f) => f.slice(7));
	if (withOrders && (want('orders') || orderFields.length > 0)) {
		out.orders = {
			order: t.orders.map((o) => {
				const line: Record<string, unknown> = {};
				for (const [k, v] of Object.entries(o)) {
					if (v === undefined || (!want('orders') && !orderFields.includes(k))) continue;
					line[k] = k === 'oid' || k === 'num_iid' || k === 'sku_id' ? num(String(v)) : v;
				}
				return line;
			}),
		};
	}
	return out;
}

function refundJson(r: FakeRefund, fields: string[]): Record<string, unknown> {
	const all: Record<string, unknown> = { refund_id: num(r.refund_id), tid: num(r.tid), oid: num(r.oid), status: r.status, modified: gmt8(r.modified), refund_fee: r.refund_fee, num: r.num };
	return Object.fromEntries(Object.entries(all).filter(([k]) => fields.includes(k)));
}

const err = (code: string, msg: string, sub?: string, subMsg?: string) => ({
	error_response: { code: num(code), msg, ...(sub ? { sub_code: sub } : {}), ...(subMsg ? { sub_msg: subMsg } : {}), request_id: `fake${Math.random().toString(36).slice(2, 10)}` },
});

const CODES: Record<string, string> = {
	'7': 'App Call Limited',
	'15': 'Remote service error',
	'25': 'Invalid signature',
	'26': 'Missing session',
	'27': 'Invalid session',
};

export interface TopRouterOptions {
	appKey: string;
	appSecret: string;
	session: string;
}

export async function startTopRouter(opts: TopRouterOptions): Promise<TopRouterFake> {
	const trades = new Map<string, FakeTrade>();
	const refunds: FakeRefund[] = [];
	const calls: TopCall[] = [];
	const dummySends: TopRouterFake['dummySends'] = [];
	const faults = new Map<string, TopFault[]>();
	const sockets = new Set<Socket>();
	let hook: ((call: TopCall) => void) | null = null;
	let refundSeq = 0;

	const fake: TopRouterFake = {
		url: '',
		trades,
		refunds,
		calls,
		dummySends,
		clock: () => Date.now(),
		session: opts.session,
		omitOrdersInIncrement: false,
		addTrade(t) {
			const now = fake.clock();
			const trade: FakeTrade = { status: 'WAIT_SELLER_SEND_GOODS', payment: '0.00', buyer_nick: 'tb_buyer', created: now, pay_time: now, modified: now, ...t };
			trades.set(trade.tid, trade);
			return trade;
		},
		modifyTrade(tid, patch = {}) {
			const t = trades.get(tid);
			if (!t) throw new Error(`fake: no trade ${tid}`);
			Object.assign(t, patch, { modified: patch.modified ?? fake.clock() });
			return t;
		},
		refund(tid, oids) {
			const t = trades.get(tid);
			if (!t) throw new Error(`fake: no trade ${tid}`);
			const now = fake.clock();
			const made = t.orders
				.filter((o) => !oids || oids.includes(o.oid))
				.map((o) => {
					o.refund_status = 'SUCCESS';
					return { refund_id: `${t.tid.slice(0, 10)}${String(++refundSeq).padStart(9, '0')}`, tid, oid: o.oid, status: 'SUCCESS', modified: now, refund_fee: o.payment ?? o.price, num: o.num };
				});
			if (t.orders.every((o) => o.refund_status === 'SUCCESS')) t.status = 'TRADE_CLOSED';
			t.modified = now;
			refunds.push(...made);
			return made;
		},
		fail(method, list) {
			faults.set(method, [...list]);
		},
		beforeAnswer(h) {
			hook = h;
		},
		reset() {
			trades.clear();
			refunds.length = 0;
			calls.length = 0;
			dummySends.length = 0;
			faults.clear();
			hook = null;
			fake.session = opts.session;
			fake.omitOrdersInIncrement = false;
		},
		async close() {
			for (const s of sockets) s.destroy();
			await new Promise<void>((r) => server.close(() => r()));
		},
	};

	function window(p: Record<string, string>): { start: number; end: number } | { error: object } {
		const start = parseGmt8(p.start_modified ?? '');
		const end = parseGmt8(p.end_modified ?? '');
		if (!Number.isFinite(start) || !Number.isFinite(end)) return { error: err('40', 'Missing required arguments:start_modified,end_modified', 'isv.missing-parameter', 'start_modified and end_modified are required') };
		if (end < start) return { error: err('41', 'Invalid arguments', 'isv.invalid-parameter', 'end_modified must be after start_modified') };
		if (end - start > 24 * 3600_000) return { error: err('41', 'Invalid arguments', 'isv.invalid-parameter', '修改时间跨度不能大于一天') };
		return { start, end };
	}

	function page<T>(list: T[], p: Record<string, string>): { items: T[]; hasNext: boolean } | { error: object } {
		const pageNo = Number(p.page_no ?? 1);
		const pageSize = Number(p.page_size ?? 40);
		if (!Number.isInteger(pageNo) || pageNo < 1 || !Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) return { error: err('41', 'Invalid arguments', 'isv.invalid-parameter', 'page_no / page_size') };
		return { items: list.slice((pageNo - 1) * pageSize, pageNo * pageSize), hasNext: pageNo * pageSize < list.length };
	}

	function api(method: string, p: Record<string, string>): object {
		const fields = (p.fields ?? '').split(',').map((f) => f.trim());
		switch (method) {
			case 'taobao.trades.sold.increment.get': {
				const w = window(p);
				if ('error' in w) return w.error;
				if (!p.fields) return err('40', 'Missing required arguments:fields', 'isv.missing-parameter');
				const list = [...trades.values()].filter((t) => sec(t.modified) >= w.start && sec(t.modified) <= w.end && (!p.status || t.status === p.status)).sort((a, b) => b.modified - a.modified || (a.tid < b.tid ? -1 : 1));
				const pg = page(list, p);
				if ('error' in pg) return pg.error;
				const body: Record<string, unknown> = { trades: { trade: pg.items.map((t) => tradeJson(t, fields, !fake.omitOrdersInIncrement)) }, has_next: pg.hasNext };
				if (p.use_has_next !== 'true') body.total_results = list.length;
				return { trades_sold_increment_get_response: body };
			}
			case 'taobao.trade.fullinfo.get': {
				const t = trades.get(p.tid ?? '');
				if (!t) return err('15', 'Remote service error', 'isv.trade-not-exist', `trade ${p.tid ?? ''} not exist`);
				return { trade_fullinfo_get_response: { trade: tradeJson(t, fields, true) } };
			}
			case 'taobao.logistics.dummy.send': {
				const t = trades.get(p.tid ?? '');
				if (!t) return err('15', 'Remote service error', 'isv.trade-not-exist', 'trade not exist');
				if (t.status !== 'WAIT_SELLER_SEND_GOODS') return err('15', 'Remote service error', 'isv.logistics-dummy-service-error', '订单状态不允许发货');
				dummySends.push({ tid: t.tid, feature: p.feature ?? '', at: fake.clock() });
				t.status = 'WAIT_BUYER_CONFIRM_GOODS';
				t.modified = fake.clock();
				return { logistics_dummy_send_response: { shipping: { is_success: true } } };
			}
			case 'taobao.refunds.receive.get': {
				const w = window(p);
				if ('error' in w) return w.error;
				const list = refunds.filter((r) => sec(r.modified) >= w.start && sec(r.modified) <= w.end && (!p.status || r.status === p.status)).sort((a, b) => b.modified - a.modified);
				const pg = page(list, p);
				if ('error' in pg) return pg.error;
				return { refunds_receive_get_response: { refunds: { refund: pg.items.map((r) => refundJson(r, fields)) }, total_results: list.length, has_next: pg.hasNext } };
			}
			default:
				return err('22', 'Invalid method', 'isv.method-not-exist', method);
		}
	}

	/** The common parameters and the sign, as TOP checks them, then the API. */
	function answer(p: Record<string, string>): object {
		if (!p.method) return err('21', 'Missing method');
		if (!p.app_key) return err('28', 'Missing app key');
		if (p.app_key !== opts.appKey) return err('29', 'Invalid app key');
		if (!p.timestamp) return err('30', 'Missing timestamp');
		const ts = parseGmt8(p.timestamp);
		if (!Number.isFinite(ts) || Math.abs(ts - fake.clock()) > 10 * 60_000) return err('31', 'Invalid timestamp', 'isv.invalid-timestamp', 'timestamp is out of the 10-minute window');
		if (p.v !== '2.0') return err('33', 'Invalid version');
		if (!p.sign) return err('24', 'Missing signature');
		const want = expectedSign(p, opts.appSecret, p.sign_method ?? 'md5');
		if (want === null) return err('25', 'Invalid signature', 'isv.invalid-sign-method', 'unsupported sign_method');
		if (want !== p.sign) return err('25', 'Invalid signature');
		if (!p.session) return err('26', 'Missing session');
		if (p.session !== fake.session) return err('27', 'Invalid session', 'invalid-sessionkey', 'SessionKey非法');
		return api(p.method, p);
	}

	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			const raw = Buffer.concat(chunks).toString('utf8');
			const q = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams;
			const params: Record<string, string> = Object.fromEntries(q);
			if (req.method === 'POST') for (const [k, v] of new URLSearchParams(raw)) params[k] = v;
			const call: TopCall = { method: params.method ?? '', params, answer: 'ok', at: fake.clock() };
			calls.push(call);
			const queue = faults.get(call.method);
			const fault = queue?.length ? queue.shift() : undefined;
			if (fault === 'timeout') {
				call.answer = 'timeout';
				return; // held open until the client gives up or close()
			}
			let status = 200;
			let body: object;
			if (fault === 500 || fault === 502) {
				status = fault;
				call.answer = String(fault);
				body = { error: 'Bad Gateway' };
			} else if (fault) {
				const subMsg = fault.code === '7' ? `This ban will last for ${fault.ban ?? 1} more seconds` : undefined;
				body = err(fault.code, CODES[fault.code] ?? 'Error', fault.sub ?? (fault.code === '7' ? 'accesscontrol.limited-by-app-access-count' : undefined), subMsg);
				call.answer = `error ${fault.code}`;
			} else {
				hook?.(call);
				body = answer(params);
				if ('error_response' in body) call.answer = `error ${String((body as { error_response: { code: unknown } }).error_response.code)}`;
			}
			const text = stringify(body) ?? '';
			res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(text) }).end(text);
		});
	});
	server.on('connection', (s: Socket) => {
		sockets.add(s);
		s.once('close', () => sockets.delete(s));
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
	const address = server.address();
	if (!address || typeof address === 'string') throw new Error('fake: no TCP address');
	fake.url = `http://127.0.0.1:${address.port}/router/rest`;
	return fake;
}

/** `count` distinct 19-digit tids (past 2^53, so JSON.parse would round them) with one or two lines each. */
export function tids19(count: number, base = '2840188394502391'): string[] {
	return Array.from({ length: count }, (_, i) => `${base}${String(201 + i).padStart(3, '0')}`);
}
