/** Reading deliveries: by order line, by id, or by reference, with their keys (masked unless revealed). */
import { StoreError, ValidationError } from '../errors';
import { maskKey, unseal } from '../secrets';
import { positiveInt, requireId, shopId } from '../validate';
import type { StoreContext } from './context';
import { type DeliveryRow, mapDelivery } from './rows';
import { type DeliveredKey, type DeliveryQuery, type DeliveryRef, type DeliveryWithKeys, type KeyStatus, EXTERNAL_STRATEGY, ORDER_WIDE_SKU, orderLabel } from './types';

export function keyOut(status: KeyStatus, id: number | null, plaintext: string, reveal: boolean): DeliveredKey {
	const k: DeliveredKey = { id, status, masked: maskKey(plaintext) };
	if (reveal) k.key = plaintext;
	return k;
}

/** The texts sealed in a delivery's `content`: one fixed content, or the list of an External API delivery. */
export function contentItems(ctx: StoreContext, row: Pick<DeliveryRow, 'content' | 'strategy'>): string[] {
	if (!row.content) return [];
	const text = unseal(ctx.km, row.content);
	if (row.strategy !== EXTERNAL_STRATEGY) return [text];
	const items = JSON.parse(text) as unknown;
	if (!Array.isArray(items) || items.some((x) => typeof x !== 'string')) throw new StoreError('The content of an External API delivery is not in the expected format; the store may be corrupted.');
	return items as string[];
}

/**
 * A delivery row with its keys: fixed content shows as one key with id null, External API content
 * as one key (id null) per item.
 */
export async function withKeys(ctx: StoreContext, row: DeliveryRow, reveal: boolean): Promise<DeliveryWithKeys> {
	const d = mapDelivery(row);
	let keys: DeliveredKey[];
	if (row.content) {
		const status: KeyStatus = row.status === 'revoked' ? 'revoked' : 'assigned';
		keys = contentItems(ctx, row).map((text) => keyOut(status, null, text, reveal));
	} else {
		const rows = (await ctx.db(ctx.t.keys).where({ delivery_id: row.id }).orderBy('id').select('id', 'secret', 'status')) as Array<{ id: number; secret: string; status: KeyStatus }>;
		keys = rows.map((k) => keyOut(k.status, Number(k.id), unseal(ctx.km, k.secret), reveal));
	}
	return { ...d, keys };
}

/** Deliveries of an order of a shop (all lines, or one sku); keys masked unless `reveal`. */
export async function getDeliveries(ctx: StoreContext, input: DeliveryQuery): Promise<DeliveryWithKeys[]> {
	const orderId = requireId('orderId', input.orderId, 'Order ID');
	const q = ctx.db(ctx.t.deliveries).where({ shop: shopId(input.shop), order_id: orderId });
	if (input.sku) q.andWhere({ sku: requireId('sku', input.sku, 'SKU') });
	const rows = (await q.orderBy('id')) as DeliveryRow[];
	const out: DeliveryWithKeys[] = [];
	for (const r of rows) out.push(await withKeys(ctx, r, input.reveal === true));
	return out;
}

export async function getDeliveryById(ctx: StoreContext, id: number, reveal = false): Promise<DeliveryWithKeys | null> {
	const row = (await ctx.db(ctx.t.deliveries).where({ id }).first()) as DeliveryRow | undefined;
	return row ? withKeys(ctx, row, reveal) : null;
}

/** A delivery by id, or by order id + sku. Throws a not_found StoreError naming what was looked for. */
export async function findDelivery(ctx: StoreContext, ref: DeliveryRef): Promise<DeliveryWithKeys> {
	let row: DeliveryRow | undefined;
	if (ref.deliveryId !== undefined && ref.deliveryId !== null && ref.deliveryId !== '') {
		const id = positiveInt('deliveryId', ref.deliveryId, Number.MAX_SAFE_INTEGER, 'Delivery ID');
		row = (await ctx.db(ctx.t.deliveries).where({ id }).first()) as DeliveryRow | undefined;
		if (!row) throw new StoreError(`No delivery with ID ${id} in this key store.`, 'not_found');
	} else {
		const orderId = requireId('orderId', ref.orderId, 'Order ID');
		const shop = shopId(ref.shop);
		const q = ctx.db(ctx.t.deliveries).where({ shop, order_id: orderId }).whereNot({ sku: ORDER_WIDE_SKU });
		if (ref.sku) q.andWhere({ sku: requireId('sku', ref.sku, 'SKU') });
		const rows = (await q.orderBy('id')) as DeliveryRow[];
		if (rows.length === 0) {
			throw await notFoundInShop(ctx, shop, orderId, ref.sku ?? null);
		}
		if (rows.length > 1) {
			throw new ValidationError('sku', `${orderLabel(shop, orderId)} has ${rows.length} lines (${rows.map((r) => r.sku).join(', ')}): give the SKU or the delivery ID.`);
		}
		row = rows[0];
	}
	return withKeys(ctx, row, false);
}

/** "No delivery for …", naming the shops that do have this order id (the seller may have picked the wrong one). */
async function notFoundInShop(ctx: StoreContext, shop: string, orderId: string, sku: string | null): Promise<StoreError> {
	const q = ctx.db(ctx.t.deliveries).where({ order_id: orderId }).whereNot({ shop }).whereNot({ sku: ORDER_WIDE_SKU }).distinct('shop').limit(5);
	if (sku) q.andWhere({ sku });
	const others = ((await q) as Array<{ shop: string | null }>).map((r) => (r.shop ? `"${r.shop}"` : 'the default shop (no shop)'));
	const what = `${orderLabel(shop, orderId).replace(/^Order/, 'order')}${sku ? ` / ${sku}` : ''}`;
	const hint = others.length ? ` This order ID exists in ${others.join(', ')}: set the Shop to look there.` : '';
	return new StoreError(`No delivery for ${what} in this key store.${hint}`, 'not_found');
}

/** The delivery row with this id; a not_found StoreError when there is none. */
export async function deliveryRow(ctx: StoreContext, id: number): Promise<DeliveryRow> {
	const row = (await ctx.db(ctx.t.deliveries).where({ id }).first()) as DeliveryRow | undefined;
	if (!row) throw new StoreError(`No delivery with ID ${id} in this key store.`, 'not_found');
	return row;
}
