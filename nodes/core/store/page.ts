/**
 * The delivery page's reads and writes (DESIGN §7 "Delivery links"): signing and checking links
 * with the store's link key, and one view of an order — rate-limited per link, recorded as a
 * `viewed` audit event (with the viewer's IP), and, when the seller counts a view as a delivery,
 * recording the send of lines that were claimed but not yet sent (channel `page`: the buyer now
 * sees the content, so Mark Shipped may follow — DESIGN §1.4).
 */
import { type LinkCheck, type LinkSettings, checkDeliveryLink, makeDeliveryLink } from '../delivery/link';
import { ValidationError } from '../errors';
import { optionalText, requireId, shopId } from '../validate';
import type { StoreContext } from './context';
import { withKeys } from './deliveries';
import { type ProductSettings, parseSettings } from './productSettings';
import type { DeliveryRow } from './rows';
import { type Actor, type DeliveryWithKeys, ORDER_WIDE_SKU } from './types';
import { type WaitingLine, listWaiting } from './waiting';

export const DEFAULT_VIEWS_PER_MINUTE = 30;
const WINDOW_MS = 60_000;

export interface PageViewInput {
	shop?: string | null;
	orderId: string;
	ip?: string | null;
	/** Views of this link allowed per minute (default 30); more get `limited`. */
	limitPerMinute?: number;
	/** Record the send of claimed, unsent lines (channel `page`). Default true. */
	countAsDelivery?: boolean;
	actor?: Actor;
	now?: number;
}

export interface PageLine {
	/** Keys in plain text for delivered lines (the page shows them); masked only for revoked ones. */
	delivery: DeliveryWithKeys;
	productName: string;
	settings: ProductSettings;
}

export interface HeldLine {
	/** The order line's sku, or '' for the whole order. */
	sku: string;
	decision: 'review' | 'reject';
}

export interface PageView {
	/** Over the per-link limit: nothing was read or recorded. */
	limited: boolean;
	retryAfterSeconds: number;
	lines: PageLine[];
	/** Lines waiting for stock, approval or the seller's API (not delivered yet). */
	waiting: Array<WaitingLine & { productName: string; settings: ProductSettings }>;
	/** Lines held by Risk Check and not approved. */
	held: HeldLine[];
	/** The whole order was refunded before anything was delivered. */
	refundedOrder: boolean;
	/** Deliveries whose send this view recorded (channel `page`). */
	recordedSend: number[];
	/** First view of this order's page (no line had been viewed before). */
	firstView: boolean;
	/**
	 * Lines sent but not shipped (incl. those this view delivered): Mark Shipped may follow — for a
	 * line whose Mark Shipped waits for the buyer to open the page, or whose ship call failed before.
	 */
	shipNow: Array<{ deliveryId: number; orderId: string; shop: string | null; sku: string; quantity: number }>;
}

export function signLink(ctx: StoreContext, settings: LinkSettings, target: { shop?: string | null; orderId: string }, now = Date.now()): string {
	return makeDeliveryLink(ctx.km.linkKey, settings, { shop: shopId(target.shop), orderId: requireId('orderId', target.orderId, 'Order ID') }, now);
}

export function checkLink(ctx: StoreContext, query: Record<string, unknown> | null | undefined, now = Date.now()): LinkCheck {
	return checkDeliveryLink(ctx.km.linkKey, query, now);
}

/** One view of an order's delivery page. */
export async function viewOrder(ctx: StoreContext, input: PageViewInput): Promise<PageView> {
	const orderId = requireId('orderId', input.orderId, 'Order ID');
	const shop = shopId(input.shop);
	const ip = optionalText('ip', input.ip, 64);
	const limit = input.limitPerMinute ?? DEFAULT_VIEWS_PER_MINUTE;
	if (!Number.isInteger(limit) || limit < 1) throw new ValidationError('limitPerMinute', 'Views per minute must be a whole number of at least 1.');
	const countAsDelivery = input.countAsDelivery !== false;
	const now = input.now ?? Date.now();

	const outcome = await ctx.tx(async (trx) => {
		const q = trx(ctx.t.deliveries).where({ shop, order_id: orderId }).orderBy('id');
		if (ctx.kind !== 'sqlite') q.forUpdate();
		const rows = (await q) as DeliveryRow[];
		const lines = rows.filter((r) => r.sku !== ORDER_WIDE_SKU);
		const inWindow = lines.filter((r) => r.view_window_at !== null && r.view_window_at !== undefined && Number(r.view_window_at) > now - WINDOW_MS);
		const windowCount = inWindow.reduce((m, r) => Math.max(m, Number(r.view_window_count ?? 0)), 0);
		if (windowCount >= limit) {
			const since = inWindow.reduce((m, r) => Math.min(m, Number(r.view_window_at)), now);
			return { limited: true as const, retryAfter: Math.max(1, Math.ceil((since + WINDOW_MS - now) / 1000)) };
		}
		const tombstone = rows.some((r) => r.sku === ORDER_WIDE_SKU && r.status === 'revoked');
		const firstView = lines.every((r) => r.viewed_at === null || r.viewed_at === undefined);
		const recorded: number[] = [];
		for (const r of lines) {
			const fresh = inWindow.includes(r);
			await trx(ctx.t.deliveries)
				.where({ id: r.id })
				.update({
					viewed_at: r.viewed_at ?? now,
					view_count: Number(r.view_count ?? 0) + 1,
					view_window_at: fresh ? r.view_window_at : now,
					view_window_count: fresh ? windowCount + 1 : 1,
				});
			if (!countAsDelivery || tombstone || r.status !== 'claimed' || (r.sent_at !== null && r.sent_at !== undefined)) continue;
			// Not while a sender holds the lease (its own send is under way and will be recorded).
			const changed = await trx(ctx.t.deliveries)
				.where({ id: r.id, status: 'claimed' })
				.whereNull('sent_at')
				.andWhere((b) => b.whereNull('send_lock_until').orWhere('send_lock_until', '<', now))
				.update({ status: 'sent', sent_at: now, sent_channel: 'page', send_count: Number(r.send_count ?? 0) + 1, updated_at: now });
			if (Number(changed) === 1) {
				recorded.push(Number(r.id));
				await ctx.event(trx, 'sent', { sku: r.sku, orderId, shop, deliveryId: Number(r.id), count: Number(r.quantity), actor: input.actor, details: { channel: 'page' } });
			}
		}
		await ctx.event(trx, 'viewed', { orderId, shop, deliveryId: lines.length === 1 ? Number(lines[0].id) : null, count: lines.length, actor: input.actor, details: { ip } });
		return { limited: false as const, firstView, recorded, tombstone };
	});

	if (outcome.limited) {
		return { limited: true, retryAfterSeconds: outcome.retryAfter, lines: [], waiting: [], held: [], refundedOrder: false, recordedSend: [], firstView: false, shipNow: [] };
	}
	const rows = (await ctx.db(ctx.t.deliveries).where({ shop, order_id: orderId }).whereNot({ sku: ORDER_WIDE_SKU }).orderBy('id')) as DeliveryRow[];
	const products = await productInfo(ctx, [...rows.map((r) => r.sku)]);
	const lines: PageLine[] = [];
	for (const r of rows) {
		// Keys in plain text only for lines the buyer may see; a refunded line (or order) shows none.
		const refunded = r.status === 'revoked' || outcome.tombstone;
		const delivery = refunded ? { ...(await withKeys(ctx, r, false)), status: 'revoked' as const, keys: [] } : await withKeys(ctx, r, true);
		lines.push({ delivery, ...products(r.sku) });
	}
	const delivered = new Set(rows.map((r) => r.sku));
	const waitingRows = (await listWaiting(ctx, { orderId, shop })).filter((w) => !delivered.has(w.sku));
	const wp = await productInfo(ctx, waitingRows.map((w) => w.sku));
	const heldRows = (await ctx.db(ctx.t.riskLog).where({ shop, order_id: orderId }).whereIn('decision', ['review', 'reject']).whereNull('approved_at').select('line', 'decision')) as Array<{ line: string; decision: 'review' | 'reject' }>;
	return {
		limited: false,
		retryAfterSeconds: 0,
		lines,
		waiting: waitingRows.map((w) => ({ ...w, ...wp(w.sku) })),
		held: heldRows.filter((h) => !delivered.has(h.line)).map((h) => ({ sku: h.line, decision: h.decision })),
		refundedOrder: outcome.tombstone,
		recordedSend: outcome.recorded,
		firstView: outcome.firstView,
		shipNow: lines
			.filter((l) => l.delivery.status === 'sent')
			.map((l) => ({ deliveryId: l.delivery.id, orderId: l.delivery.orderId, shop: l.delivery.shop, sku: l.delivery.sku, quantity: l.delivery.quantity })),
	};
}

async function productInfo(ctx: StoreContext, skus: string[]): Promise<(sku: string) => { productName: string; settings: ProductSettings }> {
	const unique = [...new Set(skus)];
	const rows = unique.length ? ((await ctx.db(ctx.t.products).whereIn('sku', unique).select('sku', 'name', 'settings')) as Array<{ sku: string; name: string; settings: string | null }>) : [];
	const by = new Map(rows.map((r) => [r.sku, r]));
	return (sku) => {
		const p = by.get(sku);
		return { productName: p?.name ?? sku, settings: parseSettings(p?.settings ?? null) };
	};
}
