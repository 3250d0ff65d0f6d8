/**
 * What the Taobao Trigger asks TOP on each poll, through the generic machinery of poll.ts:
 *
 * - paid orders: `taobao.trades.sold.increment.get` (https://open.taobao.com/api.htm?docId=128&docType=2)
 *   by modified time, status `WAIT_SELLER_SEND_GOODS`, one window ≤ 1 day, pages last first; a trade
 *   without lines in that answer is read with `taobao.trade.fullinfo.get`
 *   (https://open.taobao.com/api.htm?docId=54&docType=2);
 * - refunds: `taobao.refunds.receive.get` (https://open.taobao.com/api.htm?docId=52&docType=2)
 *   by modified time, status `SUCCESS` (退款成功), then the trade (fullinfo.get) to know which SKUs
 *   the refunded oids are. Chosen over TMC's `taobao.tmc.messages.consume` / `confirm` (topic
 *   taobao_refund_RefundSuccess) because it needs no TMC user group set up and uses the same
 *   cursor machinery; TMC is not built. Not confirmed against the live platform: the sort order of
 *   refunds.receive.get (the walk does not depend on it) and that its modified-time window accepts
 *   a day like increment.get (windows are one day at most anyway).
 *
 * Each kind has its own cursor in the static data (`trades`, `refunds`). A trade or refund that
 * cannot be read as an order (no SKU code …) is reported in `problems` and skipped; it never holds
 * back the others.
 */
import { ValidationError } from '../errors';
import { isJsonObject, type PaidOrder, type RefundedOrder } from '../intake';
import { topCall, type TopCallOptions, type TopTarget } from './client';
import { poll, pollState, type PageSource, type PollOptions, type PollState } from './poll';
import { parseTopTime, topTimestamp } from './sign';
import { PAID_STATUS, TRADE_FIELDS, refundToOrder, topId, tradeModified, tradeOrders, tradeToOrder, type TaobaoLine, type TaobaoSkuFrom, type TopTrade } from './trades';

export const ONE_DAY_MS = 24 * 3600_000;
/** TOP's largest page for increment.get. */
export const TOP_MAX_PAGE_SIZE = 100;
export const REFUND_FIELDS = 'refund_id,tid,oid,status,modified,num,refund_fee';

export type TaobaoEvent = 'paid' | 'refunded';

export interface TaobaoPollConfig {
	target: TopTarget;
	/** `taobao:<Shop Name>`. */
	shop: string;
	skuFrom: TaobaoSkuFrom;
	events: TaobaoEvent[];
	pageSize?: number;
	overlapMs?: number;
	settleMs?: number;
	lookBackMs?: number;
	call?: TopCallOptions;
	now?: number;
}

export interface TaobaoStaticData {
	trades?: unknown;
	refunds?: unknown;
}

export type TaobaoEmit = { kind: 'paid'; order: PaidOrder; tid: string; lines: TaobaoLine[] } | { kind: 'refunded'; order: RefundedOrder; tid: string; refundIds: string[] };

export interface TaobaoPollResult {
	emit: TaobaoEmit[];
	problems: string[];
	/** The first error that stopped a kind's poll (after what it handed off). */
	error: unknown;
	skipped: boolean;
}

const list = (o: Record<string, unknown>, outer: string, inner: string): Record<string, unknown>[] => {
	const v = o[outer];
	const l = isJsonObject(v) ? v[inner] : v;
	return Array.isArray(l) ? l.filter(isJsonObject) : [];
};

const total = (o: Record<string, unknown>): number => {
	const n = Number(o.total_results ?? 0);
	return Number.isFinite(n) && n > 0 ? n : 0;
};

function window(w: { start: number; end: number }) {
	return { start_modified: topTimestamp(new Date(w.start)), end_modified: topTimestamp(new Date(w.end)) };
}

export function tradeSource(target: TopTarget, call: TopCallOptions = {}): PageSource<TopTrade> {
	return {
		async page(w, pageNo, pageSize) {
			const r = await topCall(target, 'taobao.trades.sold.increment.get', { fields: TRADE_FIELDS, status: PAID_STATUS, ...window(w), page_no: pageNo, page_size: pageSize, use_has_next: 'false' }, call);
			return { items: list(r, 'trades', 'trade'), total: total(r) };
		},
		key: (t) => String(t.tid ?? ''),
		modified: tradeModified,
	};
}

export function refundSource(target: TopTarget, call: TopCallOptions = {}): PageSource<Record<string, unknown>> {
	return {
		async page(w, pageNo, pageSize) {
			const r = await topCall(target, 'taobao.refunds.receive.get', { fields: REFUND_FIELDS, status: 'SUCCESS', ...window(w), page_no: pageNo, page_size: pageSize }, call);
			return { items: list(r, 'refunds', 'refund'), total: total(r) };
		},
		key: (r) => String(r.refund_id ?? ''),
		modified: (r) => parseTopTime(String(r.modified ?? '')),
	};
}

/** `taobao.trade.fullinfo.get` for one tid (its lines). */
export async function fullTrade(target: TopTarget, tid: string, call: TopCallOptions = {}): Promise<TopTrade> {
	const r = await topCall(target, 'taobao.trade.fullinfo.get', { fields: TRADE_FIELDS, tid }, call);
	if (!isJsonObject(r.trade)) throw new ValidationError('trade', `taobao.trade.fullinfo.get answered without the trade ${tid}.`);
	return r.trade;
}

/** One poll of the paid orders and/or refunds; `data` (the static data) is updated in place. */
export async function pollTaobao(data: TaobaoStaticData, cfg: TaobaoPollConfig): Promise<TaobaoPollResult> {
	const now = cfg.now ?? Date.now();
	const pageSize = cfg.pageSize ?? TOP_MAX_PAGE_SIZE;
	if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > TOP_MAX_PAGE_SIZE) throw new ValidationError('pageSize', `Page Size must be a whole number from 1 to ${TOP_MAX_PAGE_SIZE}.`);
	if (cfg.events.length === 0) throw new ValidationError('events', 'Choose at least one event: Paid Orders or Refunds.');
	const lookBack = cfg.lookBackMs ?? 3600_000;
	const opts: PollOptions = { now, maxWindowMs: ONE_DAY_MS, overlapMs: cfg.overlapMs, settleMs: cfg.settleMs, lookBackMs: lookBack, pageSize };
	const out: TaobaoPollResult = { emit: [], problems: [], error: null, skipped: false };

	if (cfg.events.includes('paid')) {
		const state: PollState = pollState(data.trades, now, lookBack);
		data.trades = state;
		const r = await poll(state, tradeSource(cfg.target, cfg.call), opts, async (trades) => {
			const ready: TaobaoEmit[] = [];
			for (const t of trades) {
				try {
					const full = tradeOrders(t).length > 0 ? t : await fullTrade(cfg.target, topId(t.tid, 'tid'), cfg.call);
					const paid = tradeToOrder(full, cfg.shop, cfg.skuFrom);
					ready.push({ kind: 'paid', order: paid.order, tid: paid.tid, lines: paid.lines });
				} catch (err) {
					if (!(err instanceof ValidationError)) throw err; // TOP failed: the window is read again
					out.problems.push(`Taobao trade ${String(t.tid ?? '?')} was skipped: ${err.message}`);
				}
			}
			out.emit.push(...ready);
		});
		out.skipped ||= r.skipped;
		out.error ??= r.error;
	}

	if (cfg.events.includes('refunded')) {
		const state: PollState = pollState(data.refunds, now, lookBack);
		data.refunds = state;
		const r = await poll(state, refundSource(cfg.target, cfg.call), opts, async (refunds) => {
			const byTid = new Map<string, Record<string, unknown>[]>();
			for (const f of refunds) {
				try {
					const tid = topId(f.tid, 'tid');
					byTid.set(tid, [...(byTid.get(tid) ?? []), f]);
				} catch (err) {
					out.problems.push(`Taobao refund ${String(f.refund_id ?? '?')} was skipped: ${(err as Error).message}`);
				}
			}
			const ready: TaobaoEmit[] = [];
			for (const [tid, fs] of byTid) {
				const trade = await fullTrade(cfg.target, tid, cfg.call);
				try {
					const oids = fs.map((f) => topId(f.oid, 'oid'));
					ready.push({ kind: 'refunded', order: refundToOrder(trade, oids, cfg.shop, cfg.skuFrom), tid, refundIds: fs.map((f) => String(f.refund_id)) });
				} catch (err) {
					if (!(err instanceof ValidationError)) throw err;
					out.problems.push(`Taobao refund of trade ${tid} was skipped: ${err.message}`);
				}
			}
			out.emit.push(...ready);
		});
		out.skipped ||= r.skipped;
		out.error ??= r.error;
	}
	return out;
}
