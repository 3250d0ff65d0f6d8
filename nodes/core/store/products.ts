/** Products: name, low-stock threshold, and the optional fixed content delivered instead of pool keys. */
import { ValidationError } from '../errors';
import { seal } from '../secrets';
import { optionalNonNegativeInt, optionalText, requireId } from '../validate';
import type { StoreContext } from './context';
import { mergeSettings, parseSettings } from './productSettings';
import { isoReq } from './rows';
import { type Product, type ProductInput, MAX_KEY_LENGTH, ORDER_WIDE_SKU } from './types';

export async function upsertProduct(ctx: StoreContext, input: ProductInput): Promise<Product> {
	const sku = requireId('sku', input.sku, 'SKU');
	if (sku === ORDER_WIDE_SKU) throw new ValidationError('sku', `"${ORDER_WIDE_SKU}" is reserved and cannot be a SKU.`);
	const name = optionalText('name', input.name, 255);
	const threshold = input.lowStockThreshold === undefined ? undefined : optionalNonNegativeInt('lowStockThreshold', input.lowStockThreshold);
	let fixed: string | null | undefined;
	if (input.fixedContent !== undefined) {
		const c = input.fixedContent === null ? '' : String(input.fixedContent).trim();
		if (c.length > MAX_KEY_LENGTH * 4) throw new ValidationError('fixedContent', 'Fixed content is too long.');
		fixed = c === '' ? null : seal(ctx.km, c);
	}
	// Validate before writing (bad input changes nothing); merged again inside the transaction.
	if (input.settings) mergeSettings(parseSettings(null), input.settings);
	const now = Date.now();
	await ctx.tx(async (trx) => {
		const existing = await trx(ctx.t.products).where({ sku }).first();
		const settings = input.settings ? JSON.stringify(mergeSettings(parseSettings(existing?.settings), input.settings)) : undefined;
		if (existing) {
			const patch: Record<string, unknown> = { updated_at: now };
			if (settings !== undefined) patch.settings = settings;
			if (name !== null) patch.name = name;
			if (threshold !== undefined) patch.low_stock_threshold = threshold;
			if (fixed !== undefined) patch.fixed_content = fixed;
			await trx(ctx.t.products).where({ sku }).update(patch);
		} else {
			await trx(ctx.t.products)
				.insert({
					sku,
					name: name ?? sku,
					low_stock_threshold: threshold ?? null,
					fixed_content: fixed ?? null,
					settings: settings ?? null,
					created_at: now,
					updated_at: now,
				})
				.onConflict('sku')
				.ignore();
		}
		await ctx.event(trx, 'product_upserted', {
			sku,
			actor: input.actor,
			details: {
				name: name ?? undefined,
				lowStockThreshold: threshold,
				fixedContent: fixed === undefined ? undefined : fixed !== null,
				settings: input.settings ? Object.keys(input.settings).filter((k) => (input.settings as Record<string, unknown>)[k] !== undefined) : undefined,
			},
		});
	});
	return (await getProduct(ctx, sku)) as Product;
}

export async function getProduct(ctx: StoreContext, sku: string): Promise<Product | null> {
	const row = await ctx.db(ctx.t.products).where({ sku: requireId('sku', sku, 'SKU') }).first();
	return row ? mapProduct(row) : null;
}

function mapProduct(row: Record<string, unknown>): Product {
	return {
		sku: String(row.sku),
		name: String(row.name),
		lowStockThreshold: row.low_stock_threshold === null || row.low_stock_threshold === undefined ? null : Number(row.low_stock_threshold),
		hasFixedContent: !!row.fixed_content,
		kind: row.kind === 'api' ? 'api' : 'keys',
		settings: parseSettings(row.settings),
		createdAt: isoReq(row.created_at),
		updatedAt: isoReq(row.updated_at),
	};
}
