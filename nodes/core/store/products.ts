/**
 * Products: name, low-stock threshold, the optional fixed content delivered instead of pool keys,
 * and the kind: pool keys, or External API (the endpoint config stored sealed in `api_config`).
 */
import { ValidationError } from '../errors';
import { seal, unseal } from '../secrets';
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
	if (input.kind !== undefined && input.kind !== 'keys' && input.kind !== 'api') throw new ValidationError('kind', 'Content Source must be "keys" or "api".');
	let apiConfig: string | null | undefined;
	if (input.apiConfig !== undefined) {
		if (input.apiConfig !== null && (typeof input.apiConfig !== 'object' || Array.isArray(input.apiConfig))) throw new ValidationError('apiConfig', 'The External API settings must be an object.');
		apiConfig = input.apiConfig === null ? null : seal(ctx.km, JSON.stringify(input.apiConfig));
	}
	const now = Date.now();
	await ctx.tx(async (trx) => {
		const existing = await trx(ctx.t.products).where({ sku }).first();
		const settings = input.settings ? JSON.stringify(mergeSettings(parseSettings(existing?.settings), input.settings)) : undefined;
		const kind = input.kind ?? (existing?.kind === 'api' ? 'api' : 'keys');
		if (kind === 'api' && (apiConfig === null || (apiConfig === undefined && !existing?.api_config))) {
			throw new ValidationError('apiConfig', `${sku} is an External API product but has no endpoint: set its API URL and Content Path. Nothing was changed.`);
		}
		if (existing) {
			const patch: Record<string, unknown> = { updated_at: now };
			if (settings !== undefined) patch.settings = settings;
			if (name !== null) patch.name = name;
			if (threshold !== undefined) patch.low_stock_threshold = threshold;
			if (fixed !== undefined) patch.fixed_content = fixed;
			if (input.kind !== undefined) patch.kind = input.kind;
			if (apiConfig !== undefined) patch.api_config = apiConfig;
			await trx(ctx.t.products).where({ sku }).update(patch);
		} else {
			await trx(ctx.t.products)
				.insert({
					sku,
					name: name ?? sku,
					low_stock_threshold: threshold ?? null,
					fixed_content: fixed ?? null,
					settings: settings ?? null,
					kind,
					api_config: apiConfig ?? null,
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
				kind: input.kind,
				apiConfig: apiConfig === undefined ? undefined : apiConfig !== null,
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
		hasApiConfig: !!row.api_config,
		settings: parseSettings(row.settings),
		createdAt: isoReq(row.created_at),
		updatedAt: isoReq(row.updated_at),
	};
}

/** An External API product's name and endpoint config (unsealed); null when the sku is not an External API product. */
export async function getApiConfig(ctx: StoreContext, sku: string): Promise<{ sku: string; name: string; config: Record<string, unknown> } | null> {
	const row = await ctx.db(ctx.t.products).where({ sku: requireId('sku', sku, 'SKU') }).first('sku', 'name', 'kind', 'api_config');
	if (!row || row.kind !== 'api' || !row.api_config) return null;
	return { sku: String(row.sku), name: String(row.name), config: JSON.parse(unseal(ctx.km, String(row.api_config))) as Record<string, unknown> };
}
