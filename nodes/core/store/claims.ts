/** Claiming keys for an order line (DESIGN §4): a key at most once, an order line at most once. */
import type { Knex } from 'knex';

import { StoreError, ValidationError } from '../errors';
import { seal, unseal } from '../secrets';
import { DEFAULT_SHOP, optionalAmount, optionalText, positiveInt, requireId, shopId } from '../validate';
import type { StoreContext } from './context';
import { keyOut, withKeys } from './deliveries';
import type { DeliveryInsert, Strategy } from './dialects';
import { actorText } from './events';
import { type DeliveryRow, mapDelivery } from './rows';
import { countAvailable } from './stock';
import { type ClaimInput, type ClaimResult, EXTERNAL_STRATEGY, MAX_KEY_LENGTH, MAX_QUANTITY, ORDER_WIDE_SKU, orderLabel } from './types';

class Refusal {
	constructor(readonly reason: 'out_of_stock', readonly got: number) {}
}

/**
 * Claims `quantity` keys for one order line (DESIGN §4): all or nothing, idempotent per
 * (shop, orderId, sku), refusing refunded (tombstoned) orders. Out of stock is a result, not an error.
 *
 * External API products (kind 'api') are never claimed from the pool: a new line of one answers
 * `external_api` (the caller fetches the content and records it with `external`), a replay or a
 * tombstone answers as for any product. With `external` (the items the seller's API returned) the
 * line is recorded like a claim — the delivery row with the items sealed as one JSON list in
 * `content` and strategy 'api', the `claimed` event (no content), and the line's waiting row ended
 * — in one transaction; a concurrent claim that won returns its delivery instead.
 */
export async function claim(ctx: StoreContext, input: ClaimInput, external?: readonly string[]): Promise<ClaimResult> {
	const orderId = requireId('orderId', input.orderId, 'Order ID');
	const shop = shopId(input.shop);
	const shopOut = shop === DEFAULT_SHOP ? null : shop;
	const sku = requireId('sku', input.sku, 'SKU');
	if (sku === ORDER_WIDE_SKU) throw new ValidationError('sku', `"${ORDER_WIDE_SKU}" is not a SKU.`);
	const quantity = input.quantity === undefined ? 1 : positiveInt('quantity', input.quantity, MAX_QUANTITY, 'Quantity');
	const strategy: Strategy = input.strategy ?? 'sequential';
	if (strategy !== 'sequential' && strategy !== 'random') {
		throw new ValidationError('strategy', 'Strategy must be "sequential" or "random".');
	}
	const buyer = input.buyer ?? {};
	const now = Date.now();
	const row: DeliveryInsert = {
		order_id: orderId,
		sku,
		quantity,
		status: 'claimed',
		strategy,
		content: null,
		buyer_id: optionalText('buyer.id', buyer.id, 191),
		buyer_name: optionalText('buyer.name', buyer.name, 255),
		buyer_email: optionalText('buyer.email', buyer.email, 320),
		buyer_ip: optionalText('buyer.ip', buyer.ip, 64),
		amount: optionalAmount('amount', input.amount),
		shop,
		created_at: now,
		updated_at: now,
	};
	const reveal = input.reveal === true;
	const sealedExternal = external ? sealExternal(ctx, external) : null;

	if (ctx.dialect.fastClaim && !sealedExternal) {
		const fast = await ctx.dialect.fastClaim(ctx.db, ctx.t, { row, strategy, actor: actorText(input.actor) });
		if (fast) {
			const d: DeliveryRow = {
				...(row as unknown as DeliveryRow),
				id: fast.deliveryId,
				content: fast.content,
				strategy: fast.content ? null : strategy,
				sent_at: null, sent_channel: null, sent_message_id: null, shipped_at: null, shop_reference: null,
				revoked_at: null, revoke_reason: null, last_error: null,
			};
			const keys = fast.content
				? [keyOut('assigned', null, unseal(ctx.km, fast.content), reveal)]
				: [...fast.keys].sort((a, b) => a.id - b.id).map((k) => keyOut('assigned', k.id, unseal(ctx.km, k.secret), reveal));
			return { delivered: true, alreadyDelivered: false, delivery: { ...mapDelivery(d), keys } };
		}
	}

	type Outcome =
		| { kind: 'existing'; row: DeliveryRow }
		| { kind: 'race' }
		| { kind: 'unknown_sku' }
		| { kind: 'external_api' }
		| { kind: 'delivered'; deliveryId: number };

	for (let round = 0; round < 5; round++) {
		let outcome: Outcome;
		try {
			outcome = await ctx.tx<Outcome>(async (trx) => {
				const existing = await findBlockingDelivery(ctx, trx, shop, orderId, sku);
				if (existing) return { kind: 'existing', row: existing };
				const product = await trx(ctx.t.products).where({ sku }).first('fixed_content', 'kind');
				if (!product) return { kind: 'unknown_sku' };
				if ((product.kind === 'api') !== (sealedExternal !== null)) {
					if (product.kind === 'api') return { kind: 'external_api' };
					throw new ValidationError('sku', `${sku} is not an External API product (any more): nothing was recorded.`);
				}
				const fixed: string | null = sealedExternal ?? product.fixed_content ?? null;
				const deliveryId = await ctx.dialect.insertDeliveryIgnore(trx, ctx.t, {
					...row,
					content: fixed,
					strategy: sealedExternal ? EXTERNAL_STRATEGY : fixed ? null : strategy,
				});
				if (deliveryId === null) return { kind: 'race' };
				if (sealedExternal && external) {
					await ctx.event(trx, 'claimed', { sku, orderId, shop, deliveryId, count: quantity, actor: input.actor, details: { externalApi: true, items: external.length } });
					await trx(ctx.t.waiting).where({ shop, order_id: orderId, sku, status: 'waiting' }).update({ status: 'delivered', delivery_id: deliveryId, updated_at: now });
					return { kind: 'delivered', deliveryId };
				}
				if (fixed) {
					await ctx.event(trx, 'claimed', { sku, orderId, shop, deliveryId, count: quantity, actor: input.actor, details: { fixedContent: true } });
					return { kind: 'delivered', deliveryId };
				}
				const claimed = await ctx.dialect.claimKeys(trx, ctx.t, { sku, quantity, strategy, deliveryId, now });
				if (claimed.length !== quantity) throw new Refusal('out_of_stock', claimed.length);
				await ctx.event(trx, 'claimed', {
					sku,
					orderId,
					shop,
					deliveryId,
					count: quantity,
					actor: input.actor,
					details: { keyIds: claimed.map((k) => k.id), strategy },
				});
				return { kind: 'delivered', deliveryId };
			});
		} catch (err) {
			if (err instanceof Refusal) {
				const available = await countAvailable(ctx, sku);
				await ctx.event(ctx.db, 'out_of_stock', { sku, orderId, shop, count: quantity, actor: input.actor, details: { available } });
				return { delivered: false, reason: 'out_of_stock', orderId, shop: shopOut, sku, quantity, available };
			}
			throw err;
		}
		switch (outcome.kind) {
			case 'unknown_sku':
				return { delivered: false, reason: 'unknown_sku', orderId, shop: shopOut, sku, quantity };
			case 'external_api':
				return { delivered: false, reason: 'external_api', orderId, shop: shopOut, sku, quantity };
			case 'race':
				continue; // another claim for this order line committed first: read it
			case 'existing': {
				const d = await withKeys(ctx, outcome.row, reveal);
				if (d.status === 'revoked') {
					return { delivered: false, reason: 'revoked', orderId, shop: shopOut, sku, quantity, delivery: d };
				}
				return { delivered: true, alreadyDelivered: true, delivery: d };
			}
			case 'delivered': {
				const fresh = (await ctx.db(ctx.t.deliveries).where({ id: outcome.deliveryId }).first()) as DeliveryRow;
				return { delivered: true, alreadyDelivered: false, delivery: await withKeys(ctx, fresh, reveal) };
			}
		}
	}
	throw new StoreError(`${orderLabel(shop, orderId)} / ${sku} kept changing while it was being claimed; try again.`);
}

/** The items of an External API delivery, checked and sealed as one JSON list (never an empty delivery). */
function sealExternal(ctx: StoreContext, items: readonly string[]): string {
	if (!Array.isArray(items) || items.length === 0 || items.length > MAX_QUANTITY || items.some((x) => typeof x !== 'string' || x.trim() === '' || x.length > MAX_KEY_LENGTH)) {
		throw new ValidationError('content', `The content of an External API delivery must be 1 to ${MAX_QUANTITY} non-empty texts of at most ${MAX_KEY_LENGTH} characters; nothing was recorded.`);
	}
	return seal(ctx.km, JSON.stringify(items));
}

/** The delivery of this order line, or an order-wide refund tombstone. */
async function findBlockingDelivery(ctx: StoreContext, db: Knex | Knex.Transaction, shop: string, orderId: string, sku: string): Promise<DeliveryRow | undefined> {
	const rows = (await db(ctx.t.deliveries).where({ shop, order_id: orderId }).whereIn('sku', [sku, ORDER_WIDE_SKU])) as DeliveryRow[];
	return rows.find((r) => r.sku === sku) ?? rows.find((r) => r.sku === ORDER_WIDE_SKU && r.status === 'revoked');
}
