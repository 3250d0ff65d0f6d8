/** Sending and shipping (DESIGN §1.4): the send / ship leases and their records; shipped only after a recorded send. */
import { randomInt, randomUUID } from 'crypto';
import type { Knex } from 'knex';

import { StoreError } from '../errors';
import { redactAndClip } from '../secrets';
import { optionalText } from '../validate';
import { retryBusy } from './connection';
import { type StoreContext, sleep } from './context';
import { deliveryRow, withKeys } from './deliveries';
import { revoke } from './refunds';
import { type DeliveryRow, mapDelivery } from './rows';
import {
	type Actor,
	type Delivery,
	type SendFailedInfo,
	type SendLease,
	type SendOptions,
	type SentInfo,
	type ShipFailedInfo,
	type ShipLease,
	type ShipOptions,
	type ShippedInfo,
	DEFAULT_SEND_LEASE_MS,
	DEFAULT_SHIP_LEASE_MS,
	ORDER_WIDE_SKU,
} from './types';

/**
 * Takes the right to send a delivery's content to the buyer (a lease, so two workers processing
 * the same order never both send). `resend` sends again even if it was sent before.
 *
 * - `go`: send now with `delivery` (keys revealed), then call markSent or markSendFailed with `token`.
 * - `already_sent`: a send was recorded before (only without `resend`): send nothing.
 * - `revoked`: the order was refunded: never send.
 * - `busy`: another sender still holds the lease after `waitMs`.
 * Waits while another sender holds the lease, then looks again (its send may succeed or fail).
 */
export async function beginSend(ctx: StoreContext, deliveryId: number, opts: SendOptions = {}): Promise<SendLease> {
	const leaseMs = opts.leaseMs ?? DEFAULT_SEND_LEASE_MS;
	const deadline = Date.now() + (opts.waitMs ?? leaseMs + 5000);
	for (let attempt = 0; ; attempt++) {
		const row = await revokeStraggler(ctx, await deliveryRow(ctx, deliveryId));
		if (row.status === 'revoked') return { kind: 'revoked', delivery: await withKeys(ctx, row, false) };
		// "Sent" is the recorded send, not the status: a delivery marked shipped without a recorded
		// send (the seller's override) has still never been sent to the buyer.
		if (!opts.resend && row.sent_at !== null && row.sent_at !== undefined) {
			return { kind: 'already_sent', delivery: await withKeys(ctx, row, false) };
		}
		const token = randomUUID();
		const now = Date.now();
		const taken = await retryBusy(async () => {
			const q = ctx.db(ctx.t.deliveries)
				.where({ id: deliveryId })
				.whereIn('status', ['claimed', 'sent', 'shipped'])
				.andWhere((b) => b.whereNull('send_lock_until').orWhere('send_lock_until', '<', now));
			if (!opts.resend) q.whereNull('sent_at');
			return Number(await q.update({ send_lock_until: now + leaseMs, send_token: token }));
		});
		if (taken === 1) return { kind: 'go', token, delivery: await withKeys(ctx, await deliveryRow(ctx, deliveryId), true) };
		if (Date.now() > deadline) return { kind: 'busy', delivery: await withKeys(ctx, await deliveryRow(ctx, deliveryId), false) };
		await sleep(Math.min(250, 25 + attempt * 25) + randomInt(0, 25));
	}
}

/**
 * Records that the buyer was sent the content (DESIGN §1.4: "sent" is a recorded state).
 * claimed → sent; a resend keeps the status and counts. A send that finished after a refund is
 * still recorded (the buyer saw the keys) but leaves the status revoked.
 */
export async function markSent(ctx: StoreContext, deliveryId: number, token: string | null, info: SentInfo): Promise<Delivery> {
	const channel = optionalText('channel', info.channel, 32) ?? 'unknown';
	const messageId = optionalText('messageId', info.messageId, 255);
	await ctx.tx(async (trx) => {
		const row = (await lockRow(ctx, trx, deliveryId)) as DeliveryRow;
		const now = Date.now();
		const patch: Record<string, unknown> = {
			sent_at: row.sent_at ?? now,
			sent_channel: channel,
			sent_message_id: messageId,
			send_count: Number(row.send_count ?? 0) + 1,
			last_error: null,
			updated_at: now,
		};
		if (row.status === 'claimed') patch.status = 'sent';
		if (token && row.send_token === token) Object.assign(patch, { send_lock_until: null, send_token: null });
		await trx(ctx.t.deliveries).where({ id: deliveryId }).update(patch);
		await ctx.event(trx, 'sent', {
			...lineOf(row, deliveryId),
			count: row.quantity,
			actor: info.actor,
			details: { channel, messageId, resend: Number(row.send_count ?? 0) > 0, afterRevoke: row.status === 'revoked' || undefined },
		});
	});
	return mapDelivery(await deliveryRow(ctx, deliveryId));
}

/** Records a failed send (the error text is scrubbed of the delivery's keys) and frees the lease. */
export async function markSendFailed(ctx: StoreContext, deliveryId: number, token: string | null, info: SendFailedInfo): Promise<Delivery> {
	const channel = optionalText('channel', info.channel, 32) ?? 'unknown';
	const error = await scrub(ctx, deliveryId, info.error);
	await ctx.tx(async (trx) => {
		const row = (await lockRow(ctx, trx, deliveryId)) as DeliveryRow;
		const patch: Record<string, unknown> = { last_error: error, updated_at: Date.now() };
		if (token && row.send_token === token) Object.assign(patch, { send_lock_until: null, send_token: null });
		await trx(ctx.t.deliveries).where({ id: deliveryId }).update(patch);
		await ctx.event(trx, 'send_failed', { ...lineOf(row, deliveryId), actor: info.actor, details: { channel, error } });
	});
	return mapDelivery(await deliveryRow(ctx, deliveryId));
}

/**
 * Takes the right to mark a delivery shipped on the shop (a lease: one shop call per delivery).
 *
 * - `go`: call the shop, then markShipped or markShipFailed with `token`.
 * - `already_shipped`: nothing to do (idempotent).
 * - `not_sent`: `requireSent` is on and no send was recorded — shipping now would be fake shipping.
 * - `not_viewed`: `requireViewed` is on and the buyer has not opened the order's delivery page yet
 *   (the seller ships on open; nothing is recorded — the delivery page's Mark Shipped follows the view).
 * - `revoked`: the order was refunded.
 * - `busy`: another worker still holds the lease after `waitMs`.
 */
export async function beginShip(ctx: StoreContext, deliveryId: number, opts: ShipOptions = {}): Promise<ShipLease> {
	const requireSent = opts.requireSent !== false;
	const leaseMs = opts.leaseMs ?? DEFAULT_SHIP_LEASE_MS;
	const deadline = Date.now() + (opts.waitMs ?? leaseMs + 5000);
	for (let attempt = 0; ; attempt++) {
		const row = await revokeStraggler(ctx, await deliveryRow(ctx, deliveryId), opts.actor);
		if (row.status === 'revoked') return { kind: 'revoked', delivery: await withKeys(ctx, row, false) };
		if (row.status === 'shipped') return { kind: 'already_shipped', delivery: await withKeys(ctx, row, false) };
		if (row.status === 'claimed' && requireSent) {
			await ctx.event(ctx.db, 'ship_refused', {
				...lineOf(row, deliveryId), actor: opts.actor, details: { reason: 'not_sent' },
			});
			return { kind: 'not_sent', delivery: await withKeys(ctx, row, false) };
		}
		if (opts.requireViewed && (row.viewed_at === null || row.viewed_at === undefined)) {
			return { kind: 'not_viewed', delivery: await withKeys(ctx, row, false) };
		}
		const token = randomUUID();
		const now = Date.now();
		const taken = await retryBusy(async () => {
			const q = ctx.db(ctx.t.deliveries)
				.where({ id: deliveryId })
				.whereIn('status', requireSent ? ['sent'] : ['sent', 'claimed'])
				.andWhere((b) => b.whereNull('ship_lock_until').orWhere('ship_lock_until', '<', now));
			return Number(await q.update({ ship_lock_until: now + leaseMs, ship_token: token, ship_attempts: ctx.db.raw('ship_attempts + 1') }));
		});
		if (taken === 1) return { kind: 'go', token, delivery: await withKeys(ctx, await deliveryRow(ctx, deliveryId), opts.reveal === true) };
		if (Date.now() > deadline) return { kind: 'busy', delivery: await withKeys(ctx, await deliveryRow(ctx, deliveryId), false) };
		await sleep(Math.min(250, 25 + attempt * 25) + randomInt(0, 25));
	}
}

/** Records that the shop accepted the shipment (or, with recordOnly, that the seller shipped it). */
export async function markShipped(ctx: StoreContext, deliveryId: number, token: string | null, info: ShippedInfo = {}): Promise<Delivery> {
	const shopReference = optionalText('shopReference', info.shopReference, 255);
	await ctx.tx(async (trx) => {
		const row = (await lockRow(ctx, trx, deliveryId)) as DeliveryRow;
		if (row.status === 'shipped') return;
		const now = Date.now();
		const patch: Record<string, unknown> = { shipped_at: now, shop_reference: shopReference, last_error: null, updated_at: now };
		// A refund that arrived while the shop call was in flight keeps the delivery revoked.
		if (row.status !== 'revoked') patch.status = 'shipped';
		if (token && row.ship_token === token) Object.assign(patch, { ship_lock_until: null, ship_token: null });
		await trx(ctx.t.deliveries).where({ id: deliveryId }).update(patch);
		await ctx.event(trx, 'shipped', {
			...lineOf(row, deliveryId),
			count: row.quantity,
			actor: info.actor,
			details: {
				shopReference,
				recordOnly: info.recordOnly === true,
				withoutRecordedSend: row.sent_at === null || row.sent_at === undefined ? true : undefined,
				afterRevoke: row.status === 'revoked' || undefined,
			},
		});
	});
	return mapDelivery(await deliveryRow(ctx, deliveryId));
}

/** Records a failed shop call (scrubbed of keys) and frees the lease; the delivery stays sent. */
export async function markShipFailed(ctx: StoreContext, deliveryId: number, token: string | null, info: ShipFailedInfo): Promise<Delivery> {
	const error = await scrub(ctx, deliveryId, info.error);
	await ctx.tx(async (trx) => {
		const row = (await lockRow(ctx, trx, deliveryId)) as DeliveryRow;
		const patch: Record<string, unknown> = { last_error: error, updated_at: Date.now() };
		if (token && row.ship_token === token) Object.assign(patch, { ship_lock_until: null, ship_token: null });
		await trx(ctx.t.deliveries).where({ id: deliveryId }).update(patch);
		await ctx.event(trx, 'ship_failed', { ...lineOf(row, deliveryId), actor: info.actor, details: { error, status: info.status ?? undefined } });
	});
	return mapDelivery(await deliveryRow(ctx, deliveryId));
}

// ---------------------------------------------------------------- internals for the lifecycle

/** The audit-event fields naming a delivery and its order line. */
function lineOf(row: DeliveryRow, deliveryId: number): { sku: string; orderId: string; shop: string; deliveryId: number } {
	return { sku: row.sku, orderId: row.order_id, shop: row.shop, deliveryId };
}

/**
 * A live line of an order refunded as a whole (order-wide tombstone): a claim that read the order
 * just before the refund committed it just after. Revoke it now, before anything hands it over.
 */
async function revokeStraggler(ctx: StoreContext, row: DeliveryRow, actor?: Actor): Promise<DeliveryRow> {
	if (row.status === 'revoked' || row.sku === ORDER_WIDE_SKU) return row;
	const tomb = (await ctx.db(ctx.t.deliveries).where({ shop: row.shop, order_id: row.order_id, sku: ORDER_WIDE_SKU, status: 'revoked' }).first('revoke_reason')) as { revoke_reason: string | null } | undefined;
	if (!tomb) return row;
	await revoke(ctx, { orderId: row.order_id, shop: row.shop, sku: row.sku, reason: tomb.revoke_reason ?? 'refund', actor });
	return deliveryRow(ctx, row.id);
}

/** The delivery row, locked for the rest of the transaction (SQLite: the transaction already holds the write lock). */
async function lockRow(ctx: StoreContext, trx: Knex.Transaction, id: number): Promise<DeliveryRow> {
	const q = trx(ctx.t.deliveries).where({ id });
	if (ctx.kind !== 'sqlite') q.forUpdate();
	const row = (await q.first()) as DeliveryRow | undefined;
	if (!row) throw new StoreError(`No delivery with ID ${id} in this key store.`, 'not_found');
	return row;
}

/** An error text with every key of the delivery masked, then shortened for storage (never shortened first: a cut key would not match). */
async function scrub(ctx: StoreContext, deliveryId: number, text: string): Promise<string> {
	try {
		const d = await withKeys(ctx, await deliveryRow(ctx, deliveryId), true);
		return redactAndClip(String(text ?? ''), d.keys.map((k) => k.key ?? ''), 1000);
	} catch (err) {
		if (err instanceof StoreError && err.code === 'not_found') throw err;
		return '(error text withheld: the delivery keys could not be read to scrub it)';
	}
}
