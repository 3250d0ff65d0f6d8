/** Importing keys: normalise, count blanks / invalid / duplicates, seal, and insert in chunks that commit as they go. */
import { randomInt, randomUUID } from 'crypto';

import { ValidationError } from '../errors';
import { fingerprint, normaliseKey, seal } from '../secrets';
import { optionalText, requireId } from '../validate';
import { retryBusy } from './connection';
import type { StoreContext } from './context';
import { type NewKeyRow, RAND_MAX } from './dialects';
import { type ImportInput, type ImportResult, MAX_KEY_LENGTH, ORDER_WIDE_SKU } from './types';

const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Imports keys: trims, drops blanks, counts invalid ones (control characters, longer than
 * MAX_KEY_LENGTH), skips duplicates within the input and against the store (same fingerprint
 * for the sku), seals the rest. Commits in chunks so claims keep running during a big import.
 * Input without a single key (empty, only blank or invalid lines) throws ValidationError('keys')
 * and writes nothing: no product, no event.
 */
export async function importKeys(ctx: StoreContext, input: ImportInput): Promise<ImportResult> {
	const sku = requireId('sku', input.sku, 'SKU');
	if (sku === ORDER_WIDE_SKU) throw new ValidationError('sku', `"${ORDER_WIDE_SKU}" is reserved and cannot be a SKU.`);
	const batchId = input.batchId === undefined || input.batchId === '' ? `b-${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}` : requireId('batchId', input.batchId, 'Batch ID');
	if (batchId.length > 64) throw new ValidationError('batchId', 'Batch ID is too long (at most 64 characters).');
	const productName = optionalText('productName', input.productName, 255);
	const now = Date.now();
	const maxRow = await ctx.db(ctx.t.keys).where({ sku }).max({ m: 'seq' }).first();
	let seq = Number(maxRow?.m ?? 0) + 1;

	const result: ImportResult = { sku, batchId, received: 0, imported: 0, duplicate: 0, invalid: 0, blank: 0 };
	const chunkSize = ctx.dialect.insertChunk;
	let valid = 0;
	const km = ctx.km;
	// Lazily sealed chunks: the dialect inserts one while the next is being prepared. Duplicates
	// (within the input or against the store) are skipped by the unique (sku, fingerprint) index.
	let rows: NewKeyRow[] = [];
	/** Adds one input line; true when a chunk is full. */
	const take = (raw: unknown): boolean => {
		result.received++;
		const key = typeof raw === 'string' ? normaliseKey(raw) : '';
		if (key === '') {
			if (typeof raw === 'string') result.blank++;
			else result.invalid++;
			return false;
		}
		if (key.length > MAX_KEY_LENGTH || CONTROL.test(key)) {
			result.invalid++;
			return false;
		}
		valid++;
		rows.push({
			sku,
			seq: seq++,
			rand: randomInt(0, RAND_MAX),
			secret: seal(km, key),
			fingerprint: fingerprint(km, key),
			status: 'available',
			batch_id: batchId,
			created_at: now,
		});
		return rows.length >= chunkSize;
	};
	const source = input.keys;
	async function* chunks(): AsyncGenerator<NewKeyRow[]> {
		if (typeof (source as Iterable<string>)[Symbol.iterator] === 'function') {
			for (const raw of source as Iterable<string>) {
				if (take(raw)) {
					yield rows;
					rows = [];
				}
			}
		} else {
			for await (const raw of source as AsyncIterable<string>) {
				if (take(raw)) {
					yield rows;
					rows = [];
				}
			}
		}
		if (rows.length) yield rows;
	}
	// The first chunk is prepared before anything is written: input without a single key (an empty
	// or unreadable file) is refused and writes nothing — no product, no event.
	const pending = chunks();
	const first = await pending.next();
	if (first.done) {
		throw new ValidationError(
			'keys',
			`No key to import: ${result.received === 0 ? 'the input is empty' : `all ${result.received} line(s) are blank or invalid (control characters, or longer than ${MAX_KEY_LENGTH} characters)`}.`,
		);
	}
	async function* all(): AsyncGenerator<NewKeyRow[]> {
		yield first.value;
		yield* pending;
	}
	await retryBusy(async () =>
		ctx.db(ctx.t.products)
			.insert({ sku, name: productName ?? sku, low_stock_threshold: null, fixed_content: null, created_at: now, updated_at: now })
			.onConflict('sku')
			.ignore(),
	);
	result.imported = await ctx.dialect.bulkInsertKeys(ctx.db, ctx.t, all());
	result.duplicate = valid - result.imported;
	await ctx.event(ctx.db, 'imported', {
		sku,
		count: result.imported,
		actor: input.actor,
		details: { batchId, received: result.received, duplicate: result.duplicate, invalid: result.invalid, blank: result.blank },
	});
	return result;
}
