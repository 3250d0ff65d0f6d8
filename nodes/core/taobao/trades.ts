/**
 * Taobao/Tmall trades → canonical orders (DESIGN §7), as Shop Webhook emits them.
 *
 * Trade shape from the TOP API pages (fields as in their answer examples):
 * - taobao.trades.sold.increment.get (https://open.taobao.com/api.htm?docId=128&docType=2):
 *   `{trades: {trade: [...]}, total_results, has_next}`; sorted by `modified`, newest first;
 *   at most one day between start_modified and end_modified; "walk the pages from the last one
 *   back" to miss nothing.
 * - taobao.trade.fullinfo.get (https://open.taobao.com/api.htm?docId=54&docType=2): `{trade}`.
 * - Trade: `tid` (Number, 19 digits today — read with exact digits), `status`
 *   (`WAIT_SELLER_SEND_GOODS` = paid, waiting for shipment), `payment` (yuan, text "100.00"),
 *   `pay_time`, `modified` (`yyyy-MM-dd HH:mm:ss` GMT+8), `buyer_nick`, `orders: {order: [...]}`.
 * - Order (a line): `oid`, `num`, `num_iid`, `sku_id`, `outer_iid` (the seller's item code),
 *   `outer_sku_id` (the seller's SKU code), `title`, `price`, `payment`, `refund_status`.
 * Not confirmed against the live platform: whether increment.get fills `orders` for every trade
 * type (the trigger falls back to fullinfo.get for a trade without lines), and that `buyer_nick`
 * is still filled for every app (Taobao has been replacing it by `buyer_open_uid`; the buyer name is
 * then null — nothing depends on it).
 *
 * Lines with the same SKU are MERGED (quantities summed), like every canonical order
 * (intake/order.ts): the key store's identity is `(shop, orderId, sku)`, so two lines of one SKU
 * are one delivery of their total quantity. The oids of each SKU are kept (`lines`) for the
 * identCode feature of logistics.dummy.send and for refunds of single lines.
 */
import { ValidationError } from '../errors';
import { isJsonObject, parseOrder, type PaidOrder, type RefundedOrder } from '../intake';
import { requireId } from '../validate';
import { parseTopTime } from './sign';

/** Where a line's SKU comes from: the seller's SKU code (default), the item code, Taobao's sku id or item id. */
export type TaobaoSkuFrom = 'outer_sku_id' | 'outer_iid' | 'sku_id' | 'num_iid';
export const TAOBAO_SKU_FROM: readonly TaobaoSkuFrom[] = ['outer_sku_id', 'outer_iid', 'sku_id', 'num_iid'];

/** The choices of "SKU From" (Taobao Trigger, Mark Shipped's identCode): value, label, what it means. */
export const TAOBAO_SKU_FROM_CHOICES: ReadonlyArray<{ value: TaobaoSkuFrom; name: string; description: string }> = [
	{ value: 'outer_sku_id', name: 'SKU Code (outer_sku_id)', description: 'The seller SKU code (商家编码) of the SKU, else the item code, else the item ID' },
	{ value: 'outer_iid', name: 'Item Code (outer_iid)', description: 'The seller item code, else the item ID' },
	{ value: 'sku_id', name: 'Taobao SKU ID (sku_id)', description: "Taobao's SKU ID, else the item ID" },
	{ value: 'num_iid', name: 'Taobao Item ID (num_iid)', description: "Taobao's item ID" },
];

/** Tried in this order after the chosen field when a line does not carry it. */
const FALLBACK: Record<TaobaoSkuFrom, TaobaoSkuFrom[]> = {
	outer_sku_id: ['outer_sku_id', 'outer_iid', 'num_iid'],
	outer_iid: ['outer_iid', 'num_iid'],
	sku_id: ['sku_id', 'num_iid'],
	num_iid: ['num_iid'],
};

export const PAID_STATUS = 'WAIT_SELLER_SEND_GOODS';

/** The fields the trigger asks increment.get / fullinfo.get for. */
export const TRADE_FIELDS =
	'tid,status,payment,pay_time,modified,created,buyer_nick,orders.oid,orders.num,orders.num_iid,orders.sku_id,orders.outer_iid,orders.outer_sku_id,orders.title,orders.price,orders.payment,orders.refund_status,orders.status';

export type TopTrade = Record<string, unknown>;

/** One SKU of a trade and the oids (with their quantities) it was merged from. */
export interface TaobaoLine {
	sku: string;
	oids: { oid: string; num: number }[];
}

export interface TaobaoPaid {
	order: PaidOrder;
	tid: string;
	modified: number;
	lines: TaobaoLine[];
}

/** An id as exact text: numbers a double holds, or the digits json.ts kept as text. */
export function topId(value: unknown, field: string): string {
	return requireId(field, value);
}

/** The lines of a trade (`orders.order`), [] when the answer has none. */
export function tradeOrders(trade: TopTrade): Record<string, unknown>[] {
	const orders = trade.orders;
	const list = isJsonObject(orders) ? orders.order : orders;
	return Array.isArray(list) ? list.filter(isJsonObject) : [];
}

/** `modified` of a trade in epoch ms (NaN when missing). */
export function tradeModified(trade: TopTrade): number {
	return parseTopTime(String(trade.modified ?? ''));
}

const present = (v: unknown) => v !== undefined && v !== null && String(v).trim() !== '';

/** The SKU of one line: the chosen field, else the fallbacks; ValidationError naming the line. */
export function lineSku(line: Record<string, unknown>, skuFrom: TaobaoSkuFrom, label: string): string {
	for (const f of FALLBACK[skuFrom]) if (present(line[f])) return requireId(`${label}.${f}`, line[f], `${label} ${f}`);
	throw new ValidationError(`${label}.${skuFrom}`, `${label} has no ${FALLBACK[skuFrom].join(' / ')}: give the item a SKU code (商家编码) in the Taobao seller center, or choose another SKU From.`);
}

/** The lines of a trade grouped by SKU (order of first appearance). */
export function tradeLines(trade: TopTrade, skuFrom: TaobaoSkuFrom): TaobaoLine[] {
	const tid = String(trade.tid ?? '?');
	const bySku = new Map<string, TaobaoLine>();
	tradeOrders(trade).forEach((o, i) => {
		const label = `Trade ${tid} line ${i + 1}`;
		const sku = lineSku(o, skuFrom, label);
		const oid = requireId(`${label}.oid`, o.oid, `${label} oid`);
		const num = Number(o.num ?? 1);
		const line = bySku.get(sku) ?? { sku, oids: [] };
		line.oids.push({ oid, num: Number.isInteger(num) && num > 0 ? num : 1 });
		bySku.set(sku, line);
	});
	return [...bySku.values()];
}

const amount = (v: unknown): number | null => {
	if (!present(v)) return null;
	const n = Number(String(v));
	return Number.isFinite(n) ? n : null;
};

/** A paid trade → the canonical order of the shop `taobao:<shopName>`. Throws ValidationError naming the field. */
export function tradeToOrder(trade: TopTrade, shop: string, skuFrom: TaobaoSkuFrom): TaobaoPaid {
	const tid = topId(trade.tid, 'tid');
	const orders = tradeOrders(trade);
	if (orders.length === 0) throw new ValidationError('orders', `Trade ${tid} has no lines (orders).`);
	const items = orders.map((o, i) => ({
		sku: lineSku(o, skuFrom, `Trade ${tid} line ${i + 1}`),
		name: present(o.title) ? String(o.title).slice(0, 255) : null,
		quantity: o.num ?? 1,
		price: amount(o.price),
	}));
	const paid = parseTopTime(String(trade.pay_time ?? ''));
	const canonical = {
		event: 'order.paid',
		orderId: tid,
		shop,
		buyer: { id: null, name: present(trade.buyer_nick) ? String(trade.buyer_nick) : null, email: null, ip: null },
		items,
		amount: amount(trade.payment),
		currency: 'CNY',
		paidAt: Number.isFinite(paid) ? new Date(paid).toISOString() : null,
	};
	const order = parseOrder(canonical) as PaidOrder;
	return { order, tid, modified: tradeModified(trade), lines: tradeLines(trade, skuFrom) };
}

/**
 * A refund of lines `oids` of `trade` → the canonical refund: the refunded SKUs, or the whole order
 * (items []) when every line is refunded.
 */
export function refundToOrder(trade: TopTrade, oids: string[], shop: string, skuFrom: TaobaoSkuFrom): RefundedOrder {
	const tid = topId(trade.tid, 'tid');
	const lines = tradeLines(trade, skuFrom);
	const refunded = new Set(oids);
	const all = lines.every((l) => l.oids.every((o) => refunded.has(o.oid)));
	const items = all ? [] : lines.filter((l) => l.oids.some((o) => refunded.has(o.oid))).map((l) => ({ sku: l.sku, quantity: null }));
	return parseOrder({ event: 'order.refunded', orderId: tid, shop, items }) as RefundedOrder;
}

/** `taobao:<shop name>`: the shop of every order the trigger emits. */
export function taobaoShop(shopName: string): string {
	const name = String(shopName ?? '').trim();
	if (name === '') throw new ValidationError('shopName', 'Shop Name is required: the orders belong to the shop "taobao:<Shop Name>" in the key store.');
	return requireId('shopName', `taobao:${name}`, 'Shop');
}
