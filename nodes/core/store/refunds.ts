/** Refunds (DESIGN §1.5): revoking an order's keys, tombstones against late claims; refunded keys are never resold. */
import { ValidationError } from '../errors';
import { DEFAULT_SHOP, optionalText, requireId, shopId } from '../validate';
import type { StoreContext } from './context';
import { deliveryRow, withKeys } from './deliveries';
import type { DeliveryRow } from './rows';
import { type KeyStatus, type RevokeInput, type RevokeResult, EXTERNAL_STRATEGY, ORDER_WIDE_SKU } from './types';
import { cancelWaitingIn } from './waiting';

/** A claim committed the line while a refund tombstone was being written: the transaction runs again. */
class RevokeRace extends Error {}

/**
 * Revokes an order's keys on refund: one result per order line (or one tombstone when nothing was
 * delivered yet, so a late "paid" retry answers `revoked`). Revoked keys stay linked to the order
 * forever. With `returnUnsent`, keys nothing ever tried to hand over (no send recorded, in flight,
 * failed or crashed, no shop call) go back to stock instead. Idempotent: a revoked line answers
 * `alreadyRevoked`. Without a sku every line is revoked and an order-wide tombstone blocks lines
 * not claimed yet.
 */
export async function revoke(ctx: StoreContext, input: RevokeInput): Promise<RevokeResult[]> {
	const orderId = requireId('orderId', input.orderId, 'Order ID');
	const shop = shopId(input.shop);
	const shopOut = shop === DEFAULT_SHOP ? null : shop;
	const sku = input.sku === undefined || input.sku === null || String(input.sku).trim() === '' ? null : requireId('sku', input.sku, 'SKU');
	if (sku === ORDER_WIDE_SKU) throw new ValidationError('sku', `"${ORDER_WIDE_SKU}" is not a SKU: leave the SKU empty to revoke the whole order.`);
	const reason = optionalText('reason', input.reason, 255) ?? 'refund';
	const returnUnsent = input.returnUnsent === true;
	type Line = Omit<RevokeResult, 'keys' | 'buyer' | 'quantity' | 'shop'> & { deliveryRowId: number };
	const pass = () => ctx.tx(async (trx) => {
		const out: Line[] = [];
		const now = Date.now();
		const q = trx(ctx.t.deliveries).where({ shop, order_id: orderId }).orderBy('id');
		if (sku) q.whereIn('sku', [sku, ORDER_WIDE_SKU]);
		if (ctx.kind !== 'sqlite') q.forUpdate();
		const rows = (await q) as DeliveryRow[];
		const targets = rows.filter((r) => r.sku !== ORDER_WIDE_SKU && (sku === null || r.sku === sku));
		const orderWide = rows.find((r) => r.sku === ORDER_WIDE_SKU);
		const present = (v: unknown) => v !== null && v !== undefined;
		// What the record still shows of attempts to hand the keys over (revoking clears the leases).
		const handedOver = (row: DeliveryRow) =>
			present(row.sent_at) || Number(row.send_count ?? 0) > 0 || present(row.last_error) || present(row.shipped_at) || Number(row.ship_attempts ?? 0) > 0;
		for (const row of targets) {
			if (row.status === 'revoked') {
				out.push({ orderId, sku: row.sku, deliveryId: row.id, deliveryRowId: row.id, tombstone: Number(row.quantity) === 0, alreadyRevoked: true, previousStatus: 'revoked', buyerSaw: handedOver(row), revokedKeyIds: [], returnedKeyIds: [], reason: row.revoke_reason });
				continue;
			}
			// The buyer saw (or may have seen) the keys once anything tried to hand them over: a recorded
			// send, a send lease (in flight, or left behind by a sender that crashed after sending), a
			// failed send (the failure may come after the message went out), or a shop call (Mark
			// Shipped may carry the content). Only keys nothing ever tried to hand over may go back.
			const buyerSaw =
				row.status !== 'claimed' ||
				handedOver(row) ||
				present(row.send_lock_until) ||
				present(row.send_token) ||
				present(row.ship_lock_until);
			const keyRows = (await trx(ctx.t.keys).where({ delivery_id: row.id }).whereIn('status', ['assigned', 'revoked']).orderBy('id').select('id', 'status')) as Array<{ id: number; status: KeyStatus }>;
			const ids = keyRows.filter((k) => k.status === 'assigned').map((k) => Number(k.id));
			const giveBack = returnUnsent && !buyerSaw;
			if (ids.length) {
				const upd = giveBack
					? { status: 'available', delivery_id: null, assigned_at: null }
					: { status: 'revoked', revoked_at: now };
				await trx(ctx.t.keys).whereIn('id', ids).andWhere({ status: 'assigned' }).update(upd);
			}
			await trx(ctx.t.deliveries).where({ id: row.id }).update({ status: 'revoked', revoked_at: now, revoke_reason: reason, updated_at: now, send_lock_until: null, send_token: null, ship_lock_until: null, ship_token: null });
			await ctx.event(trx, 'revoked', {
				sku: row.sku, orderId, shop, deliveryId: row.id, count: ids.length, actor: input.actor,
				details: { reason, previousStatus: row.status, buyerSaw, revokedKeyIds: giveBack ? [] : ids, returnedKeyIds: giveBack ? ids : [], fixedContent: (!!row.content && row.strategy !== EXTERNAL_STRATEGY) || undefined, externalApi: row.strategy === EXTERNAL_STRATEGY || undefined },
			});
			out.push({ orderId, sku: row.sku, deliveryId: row.id, deliveryRowId: row.id, tombstone: false, alreadyRevoked: false, previousStatus: row.status, buyerSaw, revokedKeyIds: giveBack ? [] : ids, returnedKeyIds: giveBack ? ids : [], reason });
		}
		// Tombstone: the line (sku given, nothing delivered for it) or the whole order (no sku).
		const needTombstone = !orderWide && (sku === null || targets.length === 0);
		if (needTombstone) {
			const tombSku = sku ?? ORDER_WIDE_SKU;
			const id = await ctx.dialect.insertDeliveryIgnore(trx, ctx.t, {
				order_id: orderId, sku: tombSku, quantity: 0, status: 'revoked', strategy: null, content: null,
				buyer_id: null, buyer_name: null, buyer_email: null, buyer_ip: null, amount: null, shop,
				created_at: now, updated_at: now, revoked_at: now, revoke_reason: reason,
			});
			// A claim committed this line a moment ago: run again and revoke it.
			if (id === null) throw new RevokeRace();
			await ctx.event(trx, 'revoked', { sku: tombSku, orderId, shop, deliveryId: id, count: 0, actor: input.actor, details: { reason, tombstone: true } });
			if (sku || targets.length === 0) {
				out.push({ orderId, sku: tombSku, deliveryId: id, deliveryRowId: id, tombstone: true, alreadyRevoked: false, previousStatus: null, buyerSaw: false, revokedKeyIds: [], returnedKeyIds: [], reason });
			}
		} else if (targets.length === 0 && orderWide) {
			out.push({ orderId, sku: sku ?? ORDER_WIDE_SKU, deliveryId: orderWide.id, deliveryRowId: orderWide.id, tombstone: true, alreadyRevoked: true, previousStatus: 'revoked', buyerSaw: false, revokedKeyIds: [], returnedKeyIds: [], reason: orderWide.revoke_reason });
		}
		// Lines waiting for stock or review are never completed once refunded.
		await cancelWaitingIn(ctx, trx, shop, orderId, sku);
		return out;
	}, RevokeRace);
	let lines = await pass();
	if (sku === null) {
		// A claim of a new line that read the order before the order-wide tombstone committed may
		// commit its line just after (PostgreSQL / MySQL; SQLite serialises both). Look once more
		// and revoke what arrived; beginSend / beginShip revoke any later straggler before it can
		// reach the buyer.
		const late = (await pass()).filter((l) => !l.alreadyRevoked && !l.tombstone);
		lines = [...lines.filter((l) => !late.some((x) => x.sku === l.sku)), ...late];
	}
	const results: RevokeResult[] = [];
	for (const l of lines) {
		const { deliveryRowId, ...rest } = l;
		const d = await withKeys(ctx, await deliveryRow(ctx, deliveryRowId), input.reveal === true && !l.tombstone);
		// Keys given back to stock are no longer this order's: report their ids only.
		const keys = l.tombstone ? [] : d.keys.filter((k) => k.id === null || !l.returnedKeyIds.includes(k.id));
		results.push({ ...rest, shop: shopOut, keys, buyer: d.buyer, quantity: d.quantity });
	}
	return results;
}
