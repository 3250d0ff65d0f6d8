/**
 * Order lines that wait (migration 006, table `waiting`): a line that could not be delivered at
 * once — out of stock, held for review, the seller's API failing — is recorded here, once per
 * order line (shop, order_id, sku), so that the buyer can be told about the delay, the delivery
 * page can say "processing", Stock Alert can list it, and new stock completes the waiting lines
 * of a SKU in order of payment.
 */
import { ValidationError } from '../errors';
import { DEFAULT_SHOP, optionalAmount, optionalText, positiveInt, requireId, shopId } from '../validate';
import type { StoreContext } from './context';
import { isoReq } from './rows';
import { type Actor, type Buyer, MAX_QUANTITY, ORDER_WIDE_SKU } from './types';

export type WaitingReason = 'out_of_stock' | 'review' | 'api_failed' | 'send_failed';
export type WaitingStatus = 'waiting' | 'delivered' | 'cancelled';
export const WAITING_REASONS: readonly WaitingReason[] = ['out_of_stock', 'review', 'api_failed', 'send_failed'];

export interface HoldInput {
	orderId: string;
	shop?: string | null;
	sku: string;
	quantity?: number;
	reason: WaitingReason;
	buyer?: Buyer;
	amount?: number | string | null;
	/** When the buyer paid (ISO text or epoch ms); default now. Waiting lines are completed in this order. */
	paidAt?: string | number | Date | null;
	actor?: Actor;
}

export interface WaitingLine {
	id: number;
	orderId: string;
	/** null: the default shop. */
	shop: string | null;
	sku: string;
	quantity: number;
	reason: WaitingReason;
	status: WaitingStatus;
	buyer: { id: string | null; name: string | null; email: string | null; ip: string | null };
	amount: number | null;
	paidAt: string;
	deliveryId: number | null;
	createdAt: string;
	updatedAt: string;
}

export interface HoldResult {
	line: WaitingLine;
	/** false: the line was already recorded (its reason is updated while it still waits). */
	created: boolean;
}

export interface WaitingQuery {
	sku?: string | null;
	orderId?: string | null;
	shop?: string | null;
	status?: WaitingStatus | null;
	/** Only lines waiting since before this time (epoch ms). */
	olderThan?: number | null;
	limit?: number;
}

function paidAtMs(v: HoldInput['paidAt'], now: number): number {
	if (v === undefined || v === null || v === '') return now;
	const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : Date.parse(v);
	if (!Number.isFinite(ms)) throw new ValidationError('paidAt', 'paidAt must be a date (ISO 8601) or epoch milliseconds.');
	return ms;
}

/** Records that an order line waits (idempotent per order line); a delivered or cancelled line stays as it is. */
export async function holdLine(ctx: StoreContext, input: HoldInput): Promise<HoldResult> {
	const orderId = requireId('orderId', input.orderId, 'Order ID');
	const shop = shopId(input.shop);
	const sku = requireId('sku', input.sku, 'SKU');
	if (sku === ORDER_WIDE_SKU) throw new ValidationError('sku', `"${ORDER_WIDE_SKU}" is not a SKU.`);
	const quantity = input.quantity === undefined ? 1 : positiveInt('quantity', input.quantity, MAX_QUANTITY, 'Quantity');
	if (!WAITING_REASONS.includes(input.reason)) throw new ValidationError('reason', `reason must be one of ${WAITING_REASONS.join(', ')}.`);
	const buyer = input.buyer ?? {};
	const now = Date.now();
	const row = {
		shop,
		order_id: orderId,
		sku,
		quantity,
		reason: input.reason,
		status: 'waiting',
		buyer_id: optionalText('buyer.id', buyer.id, 191),
		buyer_name: optionalText('buyer.name', buyer.name, 255),
		buyer_email: optionalText('buyer.email', buyer.email, 320),
		buyer_ip: optionalText('buyer.ip', buyer.ip, 64),
		amount: optionalAmount('amount', input.amount),
		paid_at: paidAtMs(input.paidAt, now),
		delivery_id: null,
		created_at: now,
		updated_at: now,
	};
	return ctx.tx(async (trx) => {
		const existing = await trx(ctx.t.waiting).where({ shop, order_id: orderId, sku }).first();
		if (existing) {
			if (existing.status === 'waiting' && existing.reason !== input.reason) {
				await trx(ctx.t.waiting).where({ id: existing.id }).update({ reason: input.reason, updated_at: now });
				existing.reason = input.reason;
				existing.updated_at = now;
			}
			return { line: mapWaiting(existing), created: false };
		}
		await trx(ctx.t.waiting).insert(row);
		const inserted = await trx(ctx.t.waiting).where({ shop, order_id: orderId, sku }).first();
		await ctx.event(trx, 'waiting', { sku, orderId, shop, count: quantity, actor: input.actor, details: { reason: input.reason } });
		return { line: mapWaiting(inserted), created: true };
	});
}

/** Waiting lines, oldest payment first. */
export async function listWaiting(ctx: StoreContext, input: WaitingQuery = {}): Promise<WaitingLine[]> {
	const q = ctx.db(ctx.t.waiting).orderBy([{ column: 'paid_at' }, { column: 'id' }]).limit(input.limit ?? 1000);
	q.where({ status: input.status ?? 'waiting' });
	if (input.sku) q.andWhere({ sku: requireId('sku', input.sku, 'SKU') });
	if (input.orderId) q.andWhere({ order_id: requireId('orderId', input.orderId, 'Order ID'), shop: shopId(input.shop) });
	if (input.olderThan !== undefined && input.olderThan !== null) q.andWhere('created_at', '<', input.olderThan);
	return ((await q) as Array<Record<string, unknown>>).map(mapWaiting);
}

/** Ends a waiting line: `delivered` (with its delivery) or `cancelled` (refunded, rejected). Idempotent. */
export async function endWaiting(ctx: StoreContext, line: { orderId: string; shop?: string | null; sku: string }, status: 'delivered' | 'cancelled', deliveryId: number | null = null): Promise<boolean> {
	const n = await ctx.db(ctx.t.waiting)
		.where({ shop: shopId(line.shop), order_id: requireId('orderId', line.orderId, 'Order ID'), sku: requireId('sku', line.sku, 'SKU'), status: 'waiting' })
		.update({ status, delivery_id: deliveryId, updated_at: Date.now() });
	return Number(n) > 0;
}

export function mapWaiting(r: Record<string, unknown>): WaitingLine {
	return {
		id: Number(r.id),
		orderId: String(r.order_id),
		shop: r.shop === null || r.shop === undefined || r.shop === DEFAULT_SHOP ? null : String(r.shop),
		sku: String(r.sku),
		quantity: Number(r.quantity),
		reason: r.reason as WaitingReason,
		status: r.status as WaitingStatus,
		buyer: {
			id: (r.buyer_id as string) ?? null,
			name: (r.buyer_name as string) ?? null,
			email: (r.buyer_email as string) ?? null,
			ip: (r.buyer_ip as string) ?? null,
		},
		amount: r.amount === null || r.amount === undefined ? null : Number(r.amount),
		paidAt: isoReq(r.paid_at),
		deliveryId: r.delivery_id === null || r.delivery_id === undefined ? null : Number(r.delivery_id),
		createdAt: isoReq(r.created_at),
		updatedAt: isoReq(r.updated_at),
	};
}
