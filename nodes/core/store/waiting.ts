/**
 * Order lines that wait (migration 006, table `waiting`): a line that could not be delivered at
 * once — out of stock, held for review, the seller's API failing — is recorded here, once per
 * order line (shop, order_id, sku), so that the buyer can be told about the delay, the delivery
 * page can say "processing", Stock Alert can list it, and new stock completes the waiting lines
 * of a SKU in order of payment.
 */
import type { Knex } from 'knex';

import { ValidationError } from '../errors';
import { DEFAULT_SHOP, optionalAmount, optionalText, positiveInt, requireId, shopId } from '../validate';
import { claim } from './claims';
import type { StoreContext } from './context';
import type { Strategy } from './dialects';
import { isUniqueViolation } from './notices';
import { isoReq } from './rows';
import { countAvailable } from './stock';
import { type Actor, type Buyer, type ClaimInput, type ClaimResult, type DeliveryWithKeys, MAX_QUANTITY, ORDER_WIDE_SKU } from './types';

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
	/** Only lines waiting for one of these reasons. */
	reasons?: WaitingReason[] | null;
	limit?: number;
}

function paidAtMs(v: HoldInput['paidAt'], now: number): number {
	if (v === undefined || v === null || v === '') return now;
	const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : Date.parse(v);
	if (!Number.isFinite(ms)) throw new ValidationError('paidAt', 'paidAt must be a date (ISO 8601) or epoch milliseconds.');
	return ms;
}

/**
 * Records that an order line waits (idempotent per order line); a delivered or cancelled line stays
 * as it is. A line of an order refunded before (a tombstone) is recorded as cancelled at once.
 */
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
	// Two holds of one line at once (a webhook retry, two workers): the unique (shop, order_id, sku)
	// key lets one insert; the other runs again and finds the line.
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
		// An order refunded before it was held (a tombstone of the line or the whole order) never waits.
		const refunded = await trx(ctx.t.deliveries).where({ shop, order_id: orderId, status: 'revoked' }).whereIn('sku', [sku, ORDER_WIDE_SKU]).first('id');
		if (refunded) row.status = 'cancelled';
		try {
			await trx(ctx.t.waiting).insert(row);
		} catch (err) {
			if (isUniqueViolation(err)) throw new HoldRace();
			throw err;
		}
		const inserted = await trx(ctx.t.waiting).where({ shop, order_id: orderId, sku }).first();
		if (!refunded) await ctx.event(trx, 'waiting', { sku, orderId, shop, count: quantity, actor: input.actor, details: { reason: input.reason } });
		return { line: mapWaiting(inserted), created: true };
	}, HoldRace);
}

/** Another hold of the same line committed first: the transaction runs again and reads it. */
class HoldRace extends Error {}

/** Waiting lines, oldest payment first. */
export async function listWaiting(ctx: StoreContext, input: WaitingQuery = {}): Promise<WaitingLine[]> {
	const q = ctx.db(ctx.t.waiting).orderBy([{ column: 'paid_at' }, { column: 'id' }]).limit(input.limit ?? 1000);
	q.where({ status: input.status ?? 'waiting' });
	if (input.reasons && input.reasons.length) q.whereIn('reason', input.reasons);
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

/**
 * Cancels the waiting lines of an order (one sku, or all of them) inside the caller's transaction:
 * a refund (refunds.ts) and a rejection end them, so nothing completes them later.
 */
export async function cancelWaitingIn(ctx: StoreContext, trx: Knex.Transaction, shop: string, orderId: string, sku: string | null): Promise<number> {
	const q = trx(ctx.t.waiting).where({ shop, order_id: orderId, status: 'waiting' });
	if (sku !== null) q.andWhere({ sku });
	return Number(await q.update({ status: 'cancelled', updated_at: Date.now() }));
}

// ---------------------------------------------------------------- claim, or wait for stock

export interface ClaimOrHoldInput extends ClaimInput {
	/** When the buyer paid (orders the queue of waiting lines); default now. */
	paidAt?: string | number | Date | null;
}

export interface ClaimOrHoldResult {
	result: ClaimResult;
	/** The waiting line: recorded now or before (out of stock), or ended now (delivered). */
	waiting: WaitingLine | null;
}

/**
 * Claim Key with waiting lines on: claims the order line; when it is out of stock, records it as
 * waiting (reason out_of_stock, idempotent) and, when keys arrived meanwhile, claims once more —
 * keys imported between the two (and a completion that listed the waiting lines before this one
 * was recorded) must not leave it waiting with stock on the shelf. A line that is delivered ends
 * its waiting line (a shop's retry after an import, an approved review), read first so that most
 * claims write nothing more.
 */
export async function claimOrHold(ctx: StoreContext, input: ClaimOrHoldInput): Promise<ClaimOrHoldResult> {
	const paidAt = paidAtMs(input.paidAt, Date.now()); // checked before anything is written
	let result = await claim(ctx, input);
	if (!result.delivered && result.reason === 'out_of_stock') {
		const held = await holdLine(ctx, {
			orderId: input.orderId,
			shop: input.shop,
			sku: input.sku,
			quantity: input.quantity,
			reason: 'out_of_stock',
			buyer: input.buyer,
			amount: input.amount,
			paidAt,
			actor: input.actor,
		});
		if (held.line.status !== 'waiting') return { result, waiting: held.line };
		// Claim again only when keys arrived meanwhile (usually none did: no second out_of_stock event).
		if ((await countAvailable(ctx, result.sku)) < result.quantity) return { result, waiting: held.line };
		result = await claim(ctx, input);
		if (!result.delivered) return { result, waiting: held.line };
	}
	if (!result.delivered) return { result, waiting: null };
	return { result, waiting: await settleDelivered(ctx, result.delivery) };
}

/** Ends the waiting line of a delivered order line, if one waits (read first: usually none does). */
async function settleDelivered(ctx: StoreContext, d: DeliveryWithKeys): Promise<WaitingLine | null> {
	const shop = shopId(d.shop);
	const row = await ctx.db(ctx.t.waiting).where({ shop, order_id: d.orderId, sku: d.sku, status: 'waiting' }).first();
	if (!row) return null;
	if (!(await endWaiting(ctx, { orderId: d.orderId, shop, sku: d.sku }, 'delivered', d.id))) return null;
	return mapWaiting({ ...row, status: 'delivered', delivery_id: d.id, updated_at: Date.now() });
}

// ---------------------------------------------------------------- completing waiting lines

/** The reasons new stock can complete; a line held for review waits for the seller's approval. */
export const STOCK_REASONS: readonly WaitingReason[] = ['out_of_stock'];

export interface CompleteInput {
	sku: string;
	strategy?: Strategy;
	/** Include plaintext keys in the result (the seller asked for them). */
	reveal?: boolean;
	/** At most this many lines delivered per call (default 500). */
	limit?: number;
	actor?: Actor;
}

export interface CompletedLine {
	line: WaitingLine;
	delivery: DeliveryWithKeys;
	/** Delivered before this completion (by a shop's retry, or a completion that stopped after its claim). */
	alreadyDelivered: boolean;
}

export interface CompleteResult {
	sku: string;
	/** Lines this completion delivered and ended, in order of payment. */
	delivered: CompletedLine[];
	/** Lines whose order was refunded (a tombstone refuses them): cancelled. */
	cancelled: WaitingLine[];
	/** The line the queue stopped at (not enough keys for it), with the keys available then. */
	stoppedAt: { line: WaitingLine; available: number } | null;
	/** Lines of this sku still waiting for stock after this completion. */
	stillWaiting: number;
}

/**
 * Completes the waiting lines of a SKU in order of payment (paid_at, id) with the normal claim
 * (idempotent per order line) and stops at the first line the stock cannot fill: a later, smaller
 * order never jumps the queue. Lines whose order was refunded are cancelled. A line is reported
 * by the completion that ended it, so two completions at once deliver and report each line once.
 */
export async function completeWaiting(ctx: StoreContext, input: CompleteInput): Promise<CompleteResult> {
	const sku = requireId('sku', input.sku, 'SKU');
	if (sku === ORDER_WIDE_SKU) throw new ValidationError('sku', `"${ORDER_WIDE_SKU}" is not a SKU.`);
	const strategy: Strategy = input.strategy ?? 'sequential';
	if (strategy !== 'sequential' && strategy !== 'random') throw new ValidationError('strategy', 'Strategy must be "sequential" or "random".');
	const limit = input.limit === undefined ? 500 : positiveInt('limit', input.limit, 10000, 'Limit');
	const out: CompleteResult = { sku, delivered: [], cancelled: [], stoppedAt: null, stillWaiting: 0 };
	let done = false;
	while (!done && out.delivered.length < limit) {
		const page = await listWaiting(ctx, { sku, reasons: [...STOCK_REASONS], limit: 100 });
		if (page.length === 0) break;
		let progressed = false;
		for (const line of page) {
			if (out.delivered.length >= limit) {
				done = true;
				break;
			}
			const r = await claim(ctx, {
				orderId: line.orderId,
				shop: line.shop,
				sku,
				quantity: line.quantity,
				strategy,
				buyer: line.buyer,
				amount: line.amount,
				reveal: input.reveal,
				actor: input.actor,
			});
			if (r.delivered) {
				if (await endWaiting(ctx, line, 'delivered', r.delivery.id)) {
					out.delivered.push({ line: { ...line, status: 'delivered', deliveryId: r.delivery.id }, delivery: r.delivery, alreadyDelivered: r.alreadyDelivered });
				}
				progressed = true;
			} else if (r.reason === 'revoked') {
				if (await endWaiting(ctx, line, 'cancelled')) out.cancelled.push({ ...line, status: 'cancelled' });
				progressed = true;
			} else {
				// out of stock (or the product is gone): later lines wait behind this one
				out.stoppedAt = { line, available: r.available ?? 0 };
				done = true;
				break;
			}
		}
		if (!progressed) break;
	}
	out.stillWaiting = Number(
		((await ctx.db(ctx.t.waiting).where({ sku, status: 'waiting' }).whereIn('reason', [...STOCK_REASONS]).count({ n: '*' }).first()) as { n: number | string } | undefined)?.n ?? 0,
	);
	return out;
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
