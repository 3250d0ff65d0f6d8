/** Stock: counts per sku and status, listing and exporting keys, voiding keys still available. */
import { ValidationError } from '../errors';
import { fingerprint, maskKey, normaliseKey, unseal } from '../secrets';
import { optionalNonNegativeInt, optionalText, positiveInt, requireId } from '../validate';
import type { StoreContext } from './context';
import { isoReq } from './rows';
import { AVAILABLE } from './schema';
import type { ExportInput, ExportedKey, KeyStatus, ListKeysInput, ListedKey, StockRow, VoidInput, VoidResult } from './types';

export async function countAvailable(ctx: StoreContext, sku: string): Promise<number> {
	const r = await ctx.db(ctx.t.keys).where({ sku }).whereRaw(AVAILABLE).count({ c: '*' }).first();
	return Number(r?.c ?? 0);
}

/** Counts per sku and status, including products without keys. */
export async function stock(ctx: StoreContext, sku?: string | null): Promise<StockRow[]> {
	const only = sku ? requireId('sku', sku, 'SKU') : null;
	const q = ctx.db(ctx.t.keys).select('sku', 'status').count({ c: '*' }).groupBy('sku', 'status');
	if (only) q.where({ sku: only });
	const counts = (await q) as Array<{ sku: string; status: KeyStatus; c: number | string }>;
	const pq = ctx.db(ctx.t.products).select('sku', 'name', 'low_stock_threshold', 'fixed_content', 'kind');
	if (only) pq.where({ sku: only });
	const products = await pq;
	const bySku = new Map<string, StockRow>();
	const rowFor = (s: string): StockRow => {
		let r = bySku.get(s);
		if (!r) {
			r = { sku: s, name: null, lowStockThreshold: null, unlimited: false, available: 0, assigned: 0, revoked: 0, void: 0, total: 0 };
			bySku.set(s, r);
		}
		return r;
	};
	for (const p of products) {
		const r = rowFor(p.sku);
		r.name = p.name;
		r.lowStockThreshold = p.low_stock_threshold === null ? null : Number(p.low_stock_threshold);
		r.unlimited = !!p.fixed_content || p.kind === 'api';
	}
	for (const c of counts) {
		const r = rowFor(c.sku);
		const n = Number(c.c);
		if (c.status in r) (r as unknown as Record<string, number>)[c.status] += n;
		r.total += n;
	}
	return [...bySku.values()].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
}

/** Keys of a sku, masked, newest import order first is not assumed: ordered by id. */
export async function listKeys(ctx: StoreContext, input: ListKeysInput): Promise<ListedKey[]> {
	const sku = requireId('sku', input.sku, 'SKU');
	const limit = input.limit === undefined ? 100 : positiveInt('limit', input.limit, 10000, 'Limit');
	const offset = input.offset ? optionalNonNegativeInt('offset', input.offset) ?? 0 : 0;
	const q = ctx.db(`${ctx.t.keys} as k`)
		.leftJoin(`${ctx.t.deliveries} as d`, 'd.id', 'k.delivery_id')
		.where('k.sku', sku)
		.select('k.id', 'k.sku', 'k.status', 'k.secret', 'k.batch_id', 'k.delivery_id', 'k.created_at', 'd.order_id', 'd.shop')
		.orderBy('k.id')
		.limit(limit)
		.offset(offset);
	if (input.status) q.andWhere('k.status', checkStatus(input.status));
	const rows = await q;
	return rows.map((r: Record<string, unknown>) => ({
		id: Number(r.id),
		sku: String(r.sku),
		status: r.status as KeyStatus,
		masked: maskKey(unseal(ctx.km, String(r.secret))),
		batchId: String(r.batch_id),
		deliveryId: r.delivery_id === null ? null : Number(r.delivery_id),
		orderId: (r.order_id as string | null) ?? null,
		shop: r.shop ? String(r.shop) : null,
		createdAt: isoReq(r.created_at),
	}));
}

/** Decrypted keys for a backup, in pages, by id. */
export async function* exportKeys(ctx: StoreContext, input: ExportInput = {}): AsyncGenerator<ExportedKey> {
	const sku = input.sku ? requireId('sku', input.sku, 'SKU') : null;
	const status = input.status ? checkStatus(input.status) : null;
	const page = input.pageSize ?? 1000;
	let after = 0;
	for (;;) {
		const q = ctx.db(`${ctx.t.keys} as k`)
			.leftJoin(`${ctx.t.deliveries} as d`, 'd.id', 'k.delivery_id')
			.where('k.id', '>', after)
			.select('k.id', 'k.sku', 'k.status', 'k.secret', 'k.batch_id', 'k.created_at', 'd.order_id', 'd.shop')
			.orderBy('k.id')
			.limit(page);
		if (sku) q.andWhere('k.sku', sku);
		if (status) q.andWhere('k.status', status);
		const rows = await q;
		if (!rows.length) return;
		for (const r of rows) {
			yield {
				id: Number(r.id),
				sku: r.sku,
				key: unseal(ctx.km, r.secret),
				status: r.status,
				batchId: r.batch_id,
				orderId: r.order_id ?? null,
				shop: r.shop ? String(r.shop) : null,
				createdAt: isoReq(r.created_at),
			};
		}
		after = Number(rows[rows.length - 1].id);
	}
}

/** Voids keys that are still available (never assigned, revoked or already void ones). */
export async function voidKeys(ctx: StoreContext, input: VoidInput): Promise<VoidResult> {
	const sku = requireId('sku', input.sku, 'SKU');
	const ids = input.ids?.map((v) => positiveInt('ids', v, Number.MAX_SAFE_INTEGER, 'Key ID'));
	const fps = input.keys?.map((k) => normaliseKey(String(k))).filter((k) => k !== '').map((k) => fingerprint(ctx.km, k));
	const batchId = input.batchId ? requireId('batchId', input.batchId, 'Batch ID') : null;
	if (!ids?.length && !fps?.length && !batchId && input.all !== true) {
		throw new ValidationError('selector', 'Say which keys to void: key IDs, key values, a batch ID, or all available keys of the SKU.');
	}
	const reason = optionalText('reason', input.reason, 255);
	const now = Date.now();
	let voided = 0;
	await ctx.tx(async (trx) => {
		const q = trx(ctx.t.keys).where({ sku }).whereRaw(AVAILABLE);
		if (ids?.length) q.whereIn('id', ids);
		if (fps?.length) q.whereIn('fingerprint', fps);
		if (batchId) q.andWhere({ batch_id: batchId });
		voided = Number(await q.update({ status: 'void', voided_at: now }));
		await ctx.event(trx, 'voided', { sku, count: voided, actor: input.actor, details: { reason, batchId, byIds: ids?.length ?? 0, byKeys: fps?.length ?? 0 } });
	});
	const requested = ids?.length ?? fps?.length ?? null;
	return { sku, voided, requested };
}

function checkStatus(s: string): KeyStatus {
	if (s === 'available' || s === 'assigned' || s === 'revoked' || s === 'void') return s;
	throw new ValidationError('status', 'Status must be available, assigned, revoked or void.');
}
